"""The agent graph leaves no sandbox worker behind, whatever way a run ends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.graphs.agent import SESSIONS, AgentContext, _Sessions, agent_graph
from learnact_langgraph.sandbox import zygote_client
from learnact_langgraph.testing import scripted

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


def test_twenty_failing_runs_leave_no_worker_and_no_session() -> None:
    before = workers()
    ctx = AgentContext(model=scripted(broken), env_factory=gripper_env)
    graph = agent_graph()
    for _ in range(20):
        with pytest.raises(Exception, match="went away"):
            graph.invoke({"task": 0}, context=ctx)
    assert len(SESSIONS) == 0
    assert workers() == before


def test_a_bad_task_and_a_finished_run_leave_no_worker_either() -> None:
    before = workers()
    ctx = AgentContext(model=scripted(agent), env_factory=gripper_env)
    with pytest.raises(Exception, match="task"):
        agent_graph().invoke({"task": "gripper/no-such-task"}, context=ctx)
    out = agent_graph().invoke({"task": 0}, context=ctx)
    assert out["success"] is True
    assert len(SESSIONS) == 0 and workers() == before


def test_sessions_of_abandoned_runs_are_closed_once_idle() -> None:
    sessions = _Sessions(idle_seconds=0.0)
    ctx = AgentContext(model=scripted(agent), env_factory=gripper_env)
    sessions.get({"session_id": "a", "task": 0, "steps": []}, ctx)
    assert len(sessions) == 1
    sessions.get({"session_id": "b", "task": 0, "steps": []}, ctx)  # reaps "a"
    assert len(sessions) == 1
    sessions.close("b")
    assert len(sessions) == 0
