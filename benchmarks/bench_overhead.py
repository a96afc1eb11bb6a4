"""Framework overhead per agent step, and the LLM budget of one learning run.

Part 1 times everything but the LLM: a zero-latency scripted model plays generated
gripper tasks, side by side
  - floor: the same episodes with the action line applied by a direct ``env.call``
    (no sandbox, no graph; the bare cost of prompts, parsing and the simulator),
  - episode: ``run_episode`` with the sandbox (the learner's evaluation path),
  - graph: the LangGraph agent graph (``decide`` / ``execute`` nodes, sandbox).
Part 2 counts LLM calls and tokens of a learning run on the benchmark gripper
training split with K=4 and 2 rounds (scripted learner whose first actions are
buggy, scripted agent), next to the reference implementation's budget
(learnact-method.md §1.11: learner ~50-100 calls, agent <= 420 calls).

Run: ``.venv/bin/python benchmarks/bench_overhead.py`` (LEARNACT_DATA_DIR for part 2).
"""

from __future__ import annotations

import ast
import sys
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.envs.pddl.scripted import gripper_policy
from learnact_langgraph.episode import AgentSettings, SimpleAction, run_episode
from learnact_langgraph.graphs.agent import AgentContext, build_agent_graph
from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.testing import scripted
from learnact_langgraph.testing.roles import CARRY_BALL

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.unit_tests.learner.scripts import agent, learner

EPISODES = 20
SIZE = 6
ACTION = SimpleAction(
    "carry_ball",
    CARRY_BALL,
    "carry_ball(ball, from_room, to_room, gripper)",
    "Carry ball from from_room to to_room in gripper.",
)


def player(messages: list[BaseMessage]) -> str:
    return gripper_policy(str(messages[-1].content), learned="no_learned_action")


class DirectRunner:
    """Applies a single base-action call straight to the environment (the floor)."""

    def __init__(self, env: Any) -> None:
        self.env = env

    def run(self, code: str) -> Any:
        call = ast.parse(code, mode="eval").body
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
        args = [ast.literal_eval(a) for a in call.args]
        result = self.env.call(call.func.id, *args)

        class _R:
            ok = result.valid
            observation = result.observation
            error_kind = None if result.valid else "invalid_action"
            message = ""
            substeps = ()
            rolled_back = False

        return _R()


def per_step(label: str, fn: Any) -> tuple[str, float, int]:
    start = time.perf_counter()
    steps = fn()
    return label, (time.perf_counter() - start) / steps * 1000, steps


def floor() -> int:
    env = load_env("gripper", tasks="generated", n=EPISODES, size=SIZE, seed=1)
    model = scripted(player)
    return sum(
        len(
            run_episode(
                env, DirectRunner(env), model, i, settings=AgentSettings(max_steps=60)
            ).steps
        )
        for i in range(EPISODES)
    )


def sandboxed() -> int:
    env = load_env("gripper", tasks="generated", n=EPISODES, size=SIZE, seed=1)
    model = scripted(player)
    with Sandbox(env) as sb:
        sb.load({ACTION.name: ACTION.source})
        return sum(
            len(run_episode(env, sb, model, i, settings=AgentSettings(max_steps=60)).steps)
            for i in range(EPISODES)
        )


def graph() -> int:
    def factory() -> Any:
        return load_env("gripper", tasks="generated", n=EPISODES, size=SIZE, seed=1)

    g = build_agent_graph().compile()
    ctx = AgentContext(
        model=scripted(player), env_factory=factory, max_steps=60, actions=[ACTION.__dict__]
    )
    total = 0
    for i in range(EPISODES):
        out = g.invoke({"task": f"gripper/gen-1-{SIZE}-{i}"}, context=ctx)
        total += len(out["steps"])
    return total


def learning_budget() -> dict[str, Any]:
    ctx = LearnerContext(
        env="gripper", learner_model=scripted(learner()), agent_model=scripted(agent), k=4, rounds=2
    )
    start = time.perf_counter()
    result = learner_graph().invoke({}, context=ctx)
    result["wall"] = time.perf_counter() - start
    return dict(result)


def main() -> None:
    rows = [per_step("floor: direct env.call", floor)]
    rows.append(per_step("episode: run_episode + sandbox", sandboxed))
    rows.append(per_step("graph: agent graph + sandbox", graph))
    base = rows[0][1]
    print(
        "Framework time per agent step (zero-latency scripted model, generated gripper, "
        f"{EPISODES} episodes of {SIZE} balls)"
    )
    print(f"{'path':34} {'ms/step':>9} {'steps':>7} {'x floor':>8}")
    for label, ms, steps in rows:
        print(f"{label:34} {ms:9.3f} {steps:7d} {ms / base:8.2f}")

    result = learning_budget()
    usage = result["usage"]["by_node"]
    learner_calls = sum(v["calls"] for k, v in usage.items() if k != "act")
    agent_calls = usage.get("act", {}).get("calls", 0)
    tin = result["usage"]["input_tokens"]
    tout = result["usage"]["output_tokens"]
    print()
    print(
        "One learning run: gripper benchmark train split, K=4, 2 rounds, scripted models "
        f"(status {result['status']}, {result['wall']:.1f}s wall)"
    )
    print(f"{'':24} {'this run':>10} {'reference budget':>18}")
    print(f"{'learner LLM calls':24} {learner_calls:10d} {'~50-100':>18}")
    print(f"{'agent LLM calls':24} {agent_calls:10d} {'<= 420':>18}")
    print(f"{'input tokens (est.)':24} {tin:10d} {'not reported':>18}")
    print(f"{'output tokens (est.)':24} {tout:10d} {'not reported':>18}")
    print(
        "rounds:",
        [
            (e["round"], e["best"], round(max(e["scores"].values()), 3))
            for e in result["log"]
            if e["node"] == "select"
        ],
    )
    print("per node:", {k: int(v["calls"]) for k, v in usage.items()})
    seconds = {k: round(v, 3) for k, v in sorted(result["node_seconds"].items())}
    print("seconds per node (summed over branches):", seconds)


if __name__ == "__main__":
    main()
