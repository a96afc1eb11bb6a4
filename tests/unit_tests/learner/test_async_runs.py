"""Async runs of the graphs never block their event loop on a model call.

The nodes are plain functions over the sync core; LangGraph runs them on its executor
when a graph is awaited, so a server's event loop stays free while a model answers.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langchain_core.messages import BaseMessage

from learnact_langgraph.graphs.agent import AgentContext, agent_graph
from learnact_langgraph.graphs.learner import learner_graph
from learnact_langgraph.testing import scripted

from .scripts import agent, learner
from .test_learner_graph import context, gripper_env


def slow(respond: Any) -> Any:
    def reply(messages: list[BaseMessage]) -> Any:
        time.sleep(0.05)  # a model thinking, holding its thread
        return respond(messages)

    return reply


async def ticks_during(work: Any) -> tuple[Any, int, float]:
    ticks = 0
    done = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.005)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    start = time.perf_counter()
    out = await work
    seconds = time.perf_counter() - start
    done.set()
    await beat
    return out, ticks, seconds


def test_an_awaited_learner_run_leaves_the_loop_free() -> None:
    ctx = context(scripted(slow(learner())), scripted(slow(agent)), k=1, rounds=1)
    out, ticks, seconds = asyncio.run(ticks_during(learner_graph().ainvoke({}, context=ctx)))
    assert out["status"] == "published"
    # A blocked loop would tick about once per model call; a free one every 5 ms.
    assert ticks > 0.25 * seconds / 0.005, (ticks, seconds)


def test_an_awaited_agent_run_leaves_the_loop_free() -> None:
    ctx = AgentContext(model=scripted(slow(agent)), env_factory=gripper_env)
    out, ticks, seconds = asyncio.run(ticks_during(agent_graph().ainvoke({"task": 0}, context=ctx)))
    assert out["success"] is True
    assert ticks > 0.25 * seconds / 0.005, (ticks, seconds)
