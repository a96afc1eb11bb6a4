"""The agent graph's steps: one superstep each, a review pause on request, resumable.

A step normally runs in one ``decide`` superstep; a graph compiled with an interrupt
before ``execute`` still stops between the model's reply and its execution. Runs
checkpointed with a pause before ``execute`` resume on the one-superstep layout, and a
run forked from an earlier checkpoint replays that one's steps rather than going on
from the live environment.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.episode import Step
from learnact_langgraph.errors import GraphInputError
from learnact_langgraph.graphs.agent import SESSIONS, AgentContext, build_agent_graph
from learnact_langgraph.testing import scripted

from .scripts import agent
from .test_agent_graph import CARRY

STATE_KEYS = {
    "actions",
    "done",
    "goal",
    "initial_observation",
    "pending",
    "progress",
    "session_id",
    "steps",
    "success",
    "task",
    "usage",
}


def gripper_env() -> Any:
    return load_env("gripper", tasks="generated", n=2, size=3, seed=4)


def context(**kwargs: Any) -> AgentContext:
    return AgentContext(model=scripted(agent), actions=[CARRY], env_factory=gripper_env, **kwargs)


def forget_live_sessions() -> None:
    """What a new process sees: no live session for any run."""
    for sid in list(SESSIONS._open):
        SESSIONS.close(sid)


def test_a_step_is_one_superstep_and_the_state_keeps_its_keys() -> None:
    graph = build_agent_graph().compile()
    chunks = list(graph.stream({"task": 0}, context=context(), stream_mode="updates"))
    nodes = [next(iter(chunk)) for chunk in chunks]
    assert nodes[0] == "start" and set(nodes[1:]) == {"decide"}
    assert all(len(chunk["decide"]["steps"]) == 1 for chunk in chunks[1:])
    out = graph.invoke({"task": 0}, context=context())
    assert set(out) == STATE_KEYS
    assert len(out["steps"]) == len(nodes) - 1 and out["success"] is True
    assert out["pending"] == "" and out["usage"]["by_node"]["decide"]["calls"] == len(out["steps"])
    assert len(SESSIONS) == 0


class ChainNames(BaseCallbackHandler):
    """The names of the chain runs a traced run starts."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        self.names.append(str(kwargs.get("name")))


@pytest.mark.parametrize("run", ["sync", "async"])
def test_routing_between_steps_starts_no_run_of_its_own(run: str) -> None:
    graph = build_agent_graph().compile()
    seen = ChainNames()
    config: Any = {"callbacks": [seen]}
    if run == "sync":
        out = graph.invoke({"task": 0}, config=config, context=context())
    else:
        out = asyncio.run(graph.ainvoke({"task": 0}, config=config, context=context()))
    assert out["success"] is True
    assert seen.names.count("decide") == len(out["steps"])
    assert "route" not in seen.names and len(SESSIONS) == 0


def test_steps_are_not_rebuilt_from_the_state_on_every_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = {"n": 0}
    original = Step.from_dict

    def counted(data: dict[str, Any]) -> Step:
        calls["n"] += 1
        return original(data)

    monkeypatch.setattr(Step, "from_dict", staticmethod(counted))
    out = build_agent_graph().compile().invoke({"task": 0}, context=context())
    assert out["success"] is True and len(out["steps"]) > 2
    assert calls["n"] == 0


@pytest.mark.parametrize(
    "interrupt", [{"interrupt_before": ["execute"]}, {"interrupt_after": ["decide"]}]
)
def test_an_interrupt_on_execute_stops_before_each_line_runs(interrupt: dict[str, Any]) -> None:
    graph = build_agent_graph().compile(checkpointer=InMemorySaver(), **interrupt)
    config: Any = {"configurable": {"thread_id": "review"}}
    ctx = context()
    state = graph.invoke({"task": "gripper/gen-4-3-1"}, config=config, context=ctx)
    assert graph.get_state(config).next == ("execute",)
    assert state["pending"] and state.get("steps", []) == []
    # A person edits the line before it runs.
    graph.update_state(config, {"pending": "move('rooma', 'roomb')"})
    state = graph.invoke(None, config=config, context=ctx)
    assert [s["action"] for s in state["steps"]] == ["move('rooma', 'roomb')"]
    while not state.get("done"):
        state = graph.invoke(None, config=config, context=ctx)
    assert state["success"] is True and len(SESSIONS) == 0


def test_an_interrupt_before_decide_pauses_once_per_step_with_a_checkpoint() -> None:
    graph = build_agent_graph().compile(checkpointer=InMemorySaver(), interrupt_before=["decide"])
    config: Any = {"configurable": {"thread_id": "steps"}}
    ctx = context()
    state = graph.invoke({"task": 0}, config=config, context=ctx)
    seen = [len(state.get("steps", []))]
    while not state.get("done"):
        state = graph.invoke(None, config=config, context=ctx)
        seen.append(len(state["steps"]))
        if len(seen) == 3:  # an edit as the last node goes on where its edges lead
            graph.update_state(config, {"progress": state["progress"]})
            assert graph.get_state(config).next == ("decide",)
    assert seen == list(range(len(seen))) and state["success"] is True


def test_a_run_paused_before_execute_resumes_on_the_one_superstep_layout() -> None:
    saver = InMemorySaver()
    config: Any = {"configurable": {"thread_id": "old"}}
    ctx = context()
    paused = build_agent_graph(review=True).compile(
        checkpointer=saver, interrupt_before=["execute"]
    )
    state = paused.invoke({"task": "gripper/gen-4-3-1"}, config=config, context=ctx)
    for _ in range(2):
        state = paused.invoke(None, config=config, context=ctx)
    assert len(state["steps"]) == 2 and state["pending"]
    forget_live_sessions()
    fast = build_agent_graph().compile(checkpointer=saver)
    out = fast.invoke(None, config=config, context=ctx)
    assert out["success"] is True and out["steps"][2]["action"] in state["pending"]
    assert out["usage"]["calls"] == len(out["steps"])
    assert len(SESSIONS) == 0


def test_a_run_forked_from_an_earlier_checkpoint_replays_that_ones_steps() -> None:
    prompts: list[str] = []

    def watched(messages: list[BaseMessage]) -> str:
        prompts.append(str(messages[-1].content))
        return agent(messages)

    graph = build_agent_graph().compile(checkpointer=InMemorySaver(), interrupt_before=["decide"])
    config: Any = {"configurable": {"thread_id": "fork"}}
    ctx = AgentContext(model=scripted(watched), actions=[CARRY], env_factory=gripper_env)
    state = graph.invoke({"task": "gripper/gen-4-3-1"}, config=config, context=ctx)
    for _ in range(3):
        state = graph.invoke(None, config=config, context=ctx)
    original = state["steps"]
    assert len(original) == 3
    one = next(h for h in graph.get_state_history(config) if len(h.values.get("steps", [])) == 1)
    prompts.clear()
    state = graph.invoke(None, config=one.config, context=ctx)  # the live run is 2 steps ahead
    assert len(state["steps"]) == 2
    # The environment is where the fork's first step left it, as in the original run.
    assert state["steps"][1]["state_before"] == original[1]["state_before"]
    assert state["steps"][1]["action"] == original[1]["action"]
    assert original[2]["observation"] not in prompts[0]
    while not state.get("done"):
        state = graph.invoke(None, config=config, context=ctx)
    assert state["success"] is True and all(s["valid"] for s in state["steps"])
    assert len(SESSIONS) == 0


def test_a_changed_builder_is_not_switched_to_review_silently() -> None:
    builder = build_agent_graph()
    builder.add_node("extra", lambda state: {})
    with pytest.raises(GraphInputError, match="review=True"):
        builder.compile(checkpointer=InMemorySaver(), interrupt_before=["execute"])


def test_an_interrupt_given_at_invoke_time_pauses_before_each_line() -> None:
    """Studio sends its interrupts with the run, not when the graph is compiled."""
    graph = build_agent_graph().compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "per-run"}}
    ctx = context()
    state = graph.invoke(
        {"task": "gripper/gen-4-3-1"}, config=config, context=ctx, interrupt_before=["execute"]
    )
    assert graph.get_state(config).next == ("execute",) and state["pending"]
    assert state.get("steps", []) == []  # the line waits for a look before it runs
    state = graph.invoke(None, config=config, context=ctx, interrupt_before=["execute"])
    assert len(state["steps"]) == 1 and graph.get_state(config).next == ("execute",)
    out = graph.invoke(None, config=config, context=ctx)  # no interrupt: runs to the end
    assert out["success"] is True and len(out["steps"]) > 1
    assert len(SESSIONS) == 0
    copy = graph.with_config(max_concurrency=4)  # a copy keeps the behaviour
    fresh: Any = {"configurable": {"thread_id": "per-run-2"}}
    copy.invoke({"task": "gripper/gen-4-3-1"}, fresh, context=ctx, interrupt_after=["decide"])
    assert copy.get_state(fresh).next == ("execute",)
