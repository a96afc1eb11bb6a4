"""ReAct vs LearnAct with the local 1.5B model on held-out gripper tasks (docs/local-model.md).

Arms, all with the same acting model and the same held-out tasks:

* ``act``: the Act agent with the base actions only;
* ``react``: the ReAct agent (thoughts allowed, each one a step);
* ``learnact``: the learner graph learns on the training tasks (learner and agent are
  the local model), then the Act agent plays with the released actions;
* ``hand-written``: the Act agent with one hand-written ``carry_ball``, which separates
  "good actions help this agent" from "this learner writes good actions".

Every model call can be recorded (``--record``) and replayed (``--replay``), so the
table can be re-made without the model. Not run by ``make bench``: with the local model it
takes tens of minutes. Run it after ``learnact local-model serve``::

    python benchmarks/local_model_comparison.py --tasks generated --record runs/gen.jsonl
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.store.memory import InMemoryStore

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.episode import AgentSettings, SimpleAction, Trajectory, run_episode
from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
from learnact_langgraph.learning import docstring_of, signature_of
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.models import LOCAL, Usage, resolve_roles
from learnact_langgraph.models.recording import open_recording
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.testing.roles import CARRY_BALL

ARMS = ("act", "react", "learnact", "hand-written")


@dataclass
class Arm:
    name: str
    trajectories: list[Trajectory] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    learn_usage: Usage = field(default_factory=Usage)
    learn_seconds: float = 0.0
    note: str = ""


def _env(args: argparse.Namespace) -> Any:
    if args.tasks == "generated":
        return load_env("gripper", tasks="generated", n=args.n, size=args.size, seed=args.seed)
    return load_env("gripper", tasks="benchmark", data_dir=args.data_dir)


def _splits(env: Any, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Training and held-out task ids; generated tasks: the first 3 train, the rest test."""
    ids = [t.id for t in env.tasks()]
    if args.tasks == "generated":
        train, test = ids[:3], ids[3:]
    else:
        train, test = [t.id for t in env.split("train")], [t.id for t in env.split("test")]
    return train, test[: args.test_tasks]


def _play(
    args: argparse.Namespace,
    agent: BaseChatModel,
    arm: Arm,
    tasks: Sequence[str],
    actions: Sequence[SimpleAction] = (),
    usage_examples: Sequence[str] = (),
    react: bool = False,
) -> None:
    start = time.perf_counter()
    for task in tasks:
        env = _env(args)
        with Sandbox(env) as sandbox:
            if actions:
                sandbox.load({a.name: a.source for a in actions})
            arm.trajectories.append(
                run_episode(
                    env,
                    sandbox,
                    agent,
                    task,
                    actions=actions,
                    settings=AgentSettings(max_steps=args.max_steps, react=react),
                    usage_examples=usage_examples,
                    usage=arm.usage,
                )
            )
    arm.seconds = time.perf_counter() - start


def _learn(
    args: argparse.Namespace, agent: BaseChatModel, learner: BaseChatModel, train: list[str]
) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    ctx = LearnerContext(
        env="gripper",
        tasks=args.tasks,
        data_dir=args.data_dir,
        learner_model=learner,
        agent_model=agent,
        k=args.k,
        rounds=args.rounds,
        train_steps=args.train_steps,
        max_attempts=3,
        sample_concurrency=1,
        seed=args.seed,
        env_factory=lambda: _env(args),
        train_task_ids=train,
        library=ActionLibrary(InMemoryStore(), prefix=("comparison", "gripper")),
    )
    final = learner_graph().invoke({}, {"max_concurrency": 1}, context=ctx)
    return final, time.perf_counter() - start


def run(args: argparse.Namespace) -> list[Arm]:
    recording = open_recording(args.record, args.replay)
    agent, learner = resolve_roles(args.model, recording=recording)
    train, test = _splits(_env(args), args)
    arms: list[Arm] = []
    for name in args.arms:
        arm = Arm(name)
        arms.append(arm)
        if name == "act":
            _play(args, agent, arm, test)
        elif name == "react":
            _play(args, agent, arm, test, react=True)
        elif name == "hand-written":
            action = SimpleAction(
                "carry_ball",
                CARRY_BALL,
                signature_of(CARRY_BALL, "carry_ball"),
                docstring_of(CARRY_BALL),
            )
            _play(args, agent, arm, test, actions=[action])
        else:
            final, arm.learn_seconds = _learn(args, agent, learner, train)
            arm.learn_usage.merge(final.get("usage") or {})
            release = final.get("release")
            if not release:
                dropped = [d for e in final.get("log", []) for d in e.get("dropped", ())]
                arm.note = f"nothing published ({final.get('status')}); " + "; ".join(
                    d["reason"][:120] for d in dropped[:2]
                )
                continue
            actions = [
                SimpleAction(
                    a["name"], a["source"], a["signature"], a["description"], tuple(a["notes"])
                )
                for a in release["actions"].values()
            ]
            arm.note = "learned: " + ", ".join(a.signature for a in actions)
            _play(args, agent, arm, test, actions, release["usage_examples"])
    return arms


def table(arms: list[Arm], args: argparse.Namespace) -> str:
    base = next((a.seconds for a in arms if a.name == "act" and a.seconds), 0.0)
    lines = [
        f"gripper, {args.tasks} tasks, {args.test_tasks} held out, {args.max_steps} steps, "
        f"model {args.model}",
        "| arm | solved | progress | valid steps | learned calls (valid) | calls | "
        "tokens in / out | wall s | wall / act | learning: calls, tokens in / out, s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm in arms:
        trajs = arm.trajectories
        n = len(trajs)
        solved = f"{sum(t.success for t in trajs)}/{n}" if n else "-"
        prog = f"{sum(t.progress for t in trajs) / n:.2f}" if n else "-"
        valid = f"{sum(t.valid_share for t in trajs) / n:.2f}" if n else "-"
        u, lu = arm.usage, arm.learn_usage
        ratio = f"{arm.seconds / base:.2f}" if base and n else "-"
        used = [s for t in trajs for s in t.steps if s.kind in ("learned", "mixed")]
        learned = f"{len(used)} ({sum(s.valid for s in used)})" if n else "-"
        learning = (
            f"{lu.calls}, {lu.input_tokens} / {lu.output_tokens}, {arm.learn_seconds:.0f}"
            if arm.name == "learnact"
            else "-"
        )
        lines.append(
            f"| {arm.name} | {solved} | {prog} | {valid} | {learned} | {u.calls} | "
            f"{u.input_tokens} / {u.output_tokens} | {arm.seconds:.1f} | {ratio} | {learning} |"
        )
    lines += [f"- {a.name}: {a.note}" for a in arms if a.note]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=LOCAL)
    parser.add_argument("--tasks", choices=("generated", "benchmark"), default="generated")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n", type=int, default=6, help="generated tasks (3 train)")
    parser.add_argument("--size", type=int, default=3, help="balls per generated task")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--test-tasks", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=12)
    parser.add_argument("--train-steps", type=int, default=6)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--record", default=None)
    parser.add_argument("--replay", default=None)
    args = parser.parse_args(argv)
    print(table(run(args), args), flush=True)


if __name__ == "__main__":
    main()
