"""The agent graph leaves no sandbox worker behind, whatever way a run ends: a failed
run's is closed, and a finished run's waits in the process's pool for the next run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.graphs.agent import SESSIONS, AgentContext, _Sessions, agent_graph
from learnact_langgraph.graphs.session_pool import POOL
from learnact_langgraph.sandbox import zygote_client
from learnact_langgraph.testing import scripted
from learnact_langgraph.testing.roles import CARRY_BALL

from .scripts import agent


def gripper_env() -> Any:
    return load_env("gripper", tasks="generated", n=2, size=3, seed=4)


def workers() -> int:
    """Sandbox workers still running: this process's children, and the workers its
    zygote forked (they are the zygote's children, not ours)."""
    me, count = os.getpid(), len(zygote_client.worker_pids())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        count += int(fields[1]) == me and fields[0] != "Z"
    return count


def broken(messages: list[BaseMessage]) -> str:
    raise RuntimeError("the model server went away")


@pytest.fixture(autouse=True)
def _no_idle_sessions() -> None:
    POOL.close_idle()


def test_twenty_failing_runs_leave_no_worker_and_no_session() -> None:
    before = workers()
    ctx = AgentContext(model=scripted(broken), env_factory=gripper_env)
    graph = agent_graph()
    for _ in range(20):
        with pytest.raises(Exception, match="went away"):
            graph.invoke({"task": 0}, context=ctx)
    assert len(SESSIONS) == 0
    assert workers() == before


CARRY = {
    "name": "carry_ball",
    "source": CARRY_BALL,
    "signature": "carry_ball(ball, from_room, to_room, gripper)",
    "description": "Carry ball from from_room to to_room in gripper.",
}


def test_a_bad_task_and_a_finished_run_leave_no_worker_either() -> None:
    before = workers()
    ctx = AgentContext(model=scripted(agent), env_factory=gripper_env, actions=[CARRY])
    with pytest.raises(Exception, match="task"):
        agent_graph().invoke({"task": "gripper/no-such-task"}, context=ctx)
    out = agent_graph().invoke({"task": 0}, context=ctx)
    assert out["success"] is True
    assert any(step["kind"] == "learned" for step in out["steps"])
    assert len(SESSIONS) == 0 and workers() == before + 1  # the finished run's, pooled
    assert POOL.close_idle() == 1
    assert workers() == before


def test_a_run_of_base_actions_only_starts_no_worker() -> None:
    """Its lines are single base calls, which the sandbox makes on the host."""
    before = workers()
    ctx = AgentContext(model=scripted(agent), env_factory=gripper_env)
    out = agent_graph().invoke({"task": 0}, context=ctx)
    assert out["success"] is True and {step["kind"] for step in out["steps"]} == {"base"}
    assert workers() == before
    assert POOL.close_idle() == 1


def test_the_next_run_takes_the_finished_runs_session_with_only_its_own_actions() -> None:
    seen: list[dict[str, str]] = []

    def noting(messages: list[BaseMessage]) -> str:
        run = next(iter(SESSIONS._open.values()))
        seen.append(dict(run.session.sandbox.sources))
        return agent(messages)

    helper = {
        "name": "helper",
        "source": "def helper():\n    return 1\n",
        "signature": "helper()",
        "description": "Returns 1.",
    }
    first = AgentContext(model=scripted(noting), env_factory=gripper_env, actions=[helper])
    second = AgentContext(model=scripted(noting), env_factory=gripper_env)
    reused = POOL.reused
    assert agent_graph().invoke({"task": 0}, context=first)["success"] is True
    assert seen[-1] == {"helper": helper["source"]}
    assert agent_graph().invoke({"task": 1}, context=second)["success"] is True
    assert POOL.reused == reused + 1
    assert seen[-1] == {}  # the first run's action is gone from the shared worker


def test_sessions_of_abandoned_runs_are_closed_once_idle() -> None:
    sessions = _Sessions(idle_seconds=0.0)
    ctx = AgentContext(model=scripted(agent), env_factory=gripper_env)
    sessions.get({"session_id": "a", "task": 0, "steps": []}, ctx)
    assert len(sessions) == 1
    sessions.get({"session_id": "b", "task": 0, "steps": []}, ctx)  # reaps "a"
    assert len(sessions) == 1
    sessions.close("b")
    assert len(sessions) == 0
