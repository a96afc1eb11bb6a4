"""Reflexion and Code-as-Policy graphs on generated gripper tasks with scripted models."""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import BaseMessage

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.envs.pddl.scripted import gripper_policy
from learnact_langgraph.graphs.baselines import (
    BaselineContext,
    code_as_policy_graph,
    reflexion_graph,
)
from learnact_langgraph.testing import scripted

PLAN = "Carry one ball at a time and drop it in its goal room."


def gripper_env() -> Any:
    return load_env("gripper", tasks="generated", n=3, size=2, seed=0)


def context(model: Any, **kw: Any) -> BaselineContext:
    return BaselineContext(
        env="gripper",
        model=model,
        env_factory=gripper_env,
        train_task_ids=["gripper/gen-0-2-0", "gripper/gen-0-2-1"],
        **kw,
    )


def test_reflexion_writes_plans_while_tasks_stay_unsolved_and_shows_them() -> None:
    prompts_seen: list[str] = []

    def respond(messages: list[BaseMessage]) -> str:
        text = str(messages[-1].content)
        prompts_seen.append(text)
        if "write a plan for your next attempt" in text:
            return PLAN
        return "move('rooma', 'roomb')"  # never solves anything

    state = reflexion_graph().invoke({}, context=context(scripted(respond), rounds=2))
    assert state["reflections"] == [PLAN, PLAN]
    assert [t["round"] for t in state["trials"]] == [0, 1, 2]
    assert all(not any(t["success"]) for t in state["trials"])
    # the plan is injected in later attempts
    assert any(PLAN in p and "Your goal" in p for p in prompts_seen)
    assert state["usage"]["by_node"]["reflect"]["calls"] == 2


def test_reflexion_stops_when_every_training_task_is_solved() -> None:
    model = scripted(lambda msgs: gripper_policy(str(msgs[-1].content)))
    state = reflexion_graph().invoke({}, context=context(model, rounds=2, train_steps=20))
    assert len(state["trials"]) == 1 and all(state["trials"][0]["success"])
    assert state.get("reflections", []) == []


def test_code_as_policy_runs_one_program_and_counts_its_base_actions() -> None:
    env = gripper_env()
    here = re.search(r"Robby is in (\w+)", env.reset("gripper/gen-0-2-0"), re.I).group(1).lower()
    there = "roomb" if here == "rooma" else "rooma"
    program = (
        f"move('{here}', '{there}')\nmove('{there}', '{here}')\npick('nope', '{here}', 'left')"
    )
    calls: list[str] = []

    def respond(messages: list[BaseMessage]) -> str:
        calls.append(str(messages[-1].content))
        return f"```python\n{program}\n```"

    state = code_as_policy_graph().invoke(
        {"task": "gripper/gen-0-2-0"}, context=context(scripted(respond))
    )
    traj = state["trajectory"]
    assert len(calls) == 1 and "Write one Python program" in calls[0]
    assert [s["action"] for s in traj["steps"]][:2] == [
        f"move('{here}', '{there}')",
        f"move('{there}', '{here}')",
    ]
    assert [s["valid"] for s in traj["steps"]] == [True, True, False]
    assert traj["success"] is False
    assert "invalid_action" in state["error"]


def test_code_as_policy_program_that_solves_the_task_succeeds() -> None:
    from learnact_langgraph.testing.roles import respond

    state = code_as_policy_graph().invoke(
        {"task": "gripper/gen-0-2-1"}, context=context(scripted(respond))
    )
    traj = state["trajectory"]
    assert traj["success"] is True and traj["progress"] == 1.0
    assert all(s["valid"] for s in traj["steps"]) and state["error"] == ""
    assert any(s["action"].startswith("drop(") for s in traj["steps"])
