"""Learned actions as tools: sandboxed calls on a real PDDL environment, agents, standard tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ToolsUnitTests
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.store.memory import InMemoryStore

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.envs.pddl.env import PDDLEnvironment
from learnact_langgraph.errors import ActionValidationError
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.testing import scripted
from learnact_langgraph.tools import ToolSession, library_tools, retrieval_tools

from .conftest import BASE, CARRY, drop_snapshots


@pytest.fixture
def env(own_data_dir: Path) -> PDDLEnvironment:
    """Gripper on our own problem: four balls and Robby in rooma (no benchmark data needed)."""
    gripper = load_env("gripper", data_dir=own_data_dir)
    gripper.reset(0)
    return gripper


@pytest.fixture
def lib(env: PDDLEnvironment) -> ActionLibrary:
    library = ActionLibrary(InMemoryStore(), ("tools", "gripper"), base_actions=env)
    library.add(CARRY, description="Carry one ball from a room to another.")
    library.revise("carry", note="Robby must start in src.")
    library.add(
        "def carry_two(a, b, src, dst):\n"
        "    pick(a, src, 'left')\n"
        "    carry(b, src, dst, 'right')\n"
        "    return drop(a, dst, 'left')\n",
        description="Carry two balls at once, one per gripper.",
    )
    return library


@pytest.fixture
def sandbox(env: PDDLEnvironment) -> Iterator[Sandbox]:
    with Sandbox(env) as sb:
        yield sb


def _call(tool: BaseTool, args: dict[str, Any], call_id: str = "c1") -> ToolMessage:
    msg = tool.invoke({"type": "tool_call", "name": tool.name, "args": args, "id": call_id})
    assert isinstance(msg, ToolMessage)
    return msg


def _place(env: PDDLEnvironment, ball: str) -> str:
    return next(
        s for s in env.observation.split(". ") if s.startswith(f"{ball.capitalize()} is in")
    )


def test_as_tools_gives_base_and_learned_tools_with_schemas(lib: ActionLibrary) -> None:
    tools = {t.name: t for t in lib.as_tools(None)}
    assert list(tools) == ["move", "pick", "drop", "carry", "carry_two"]
    carry = tools["carry"].tool_call_schema
    assert isinstance(carry, dict)  # a JSON schema: no pydantic model per tool
    assert carry["required"] == ["obj", "src", "dst"]
    assert carry["properties"]["gripper"]["default"] == "left"
    assert "Robby must start in src." in tools["carry"].description
    assert tools["carry"].metadata == {"learnact": "learned", "version": 2}
    assert [t.name for t in lib.as_tools(None, include_base=False, names=["carry"])] == ["carry"]


def test_learned_tool_moves_the_environment(
    lib: ActionLibrary, env: PDDLEnvironment, sandbox: Sandbox
) -> None:
    tools = {t.name: t for t in lib.as_tools(sandbox)}
    msg = _call(tools["carry"], {"obj": "ball1", "src": "rooma", "dst": "roomb"})
    assert msg.artifact["ok"] is True and len(msg.artifact["substeps"]) == 3
    assert msg.content == env.observation and _place(env, "ball1") == "Ball1 is in roomb"
    nested = _call(tools["carry_two"], {"a": "ball2", "b": "ball3", "src": "roomb", "dst": "rooma"})
    assert nested.artifact["ok"] is False and nested.artifact["rolled_back"] is True
    assert str(nested.content).startswith("Error: base action pick('ball2', 'roomb', 'left')")
    assert nested.status == "error" and msg.status == "success"
    assert _place(env, "ball2") == "Ball2 is in rooma"
    back = _call(tools["move"], {"room1": "roomb", "room2": "rooma"})
    assert back.artifact["ok"] and "Robby is in rooma" in back.content


def test_failed_call_is_rolled_back(
    lib: ActionLibrary, env: PDDLEnvironment, sandbox: Sandbox
) -> None:
    before = env.snapshot()
    tools = {t.name: t for t in lib.as_tools(sandbox)}
    msg = _call(tools["carry"], {"obj": "ball1", "src": "roomb", "dst": "rooma"})
    assert msg.artifact["ok"] is False and msg.artifact["error_kind"] == "invalid_action"
    assert env.snapshot().state == before.state


def test_session_can_be_an_environment_or_a_factory(
    lib: ActionLibrary, env: PDDLEnvironment
) -> None:
    session = ToolSession(env, {a.name: a.source for a in lib.actions()})
    try:
        tools = {t.name: t for t in library_tools(lib, session)}
        assert _call(tools["carry"], {"obj": "ball4", "src": "rooma", "dst": "roomb"}).artifact[
            "ok"
        ]
    finally:
        session.close()
    opened: list[Sandbox] = []

    def factory() -> Sandbox:
        opened.append(Sandbox(env))
        return opened[-1]

    tools = {t.name: t for t in lib.as_tools(factory)}
    try:
        assert _call(tools["move"], {"room1": "roomb", "room2": "rooma"}).artifact["ok"]
        assert len(opened) == 1
    finally:
        opened[0].close()


def test_unbound_tool_says_how_to_bind(lib: ActionLibrary) -> None:
    tool = next(t for t in lib.as_tools(None) if t.name == "carry")
    msg = _call(tool, {"obj": "ball1", "src": "rooma", "dst": "roomb"})
    assert "not bound to an environment" in msg.content


def _agent_script(messages: list[BaseMessage]) -> AIMessage:
    done = [m for m in messages if isinstance(m, ToolMessage)]
    if not done:
        call = {
            "name": "carry",
            "args": {"obj": "ball2", "src": "rooma", "dst": "roomb"},
            "id": "call_1",
        }
        return AIMessage(content="", tool_calls=[call])
    return AIMessage(content=f"Done: {done[-1].content[:40]}")


def test_create_agent_calls_a_learned_tool_on_a_real_pddl_env(
    lib: ActionLibrary, env: PDDLEnvironment, sandbox: Sandbox
) -> None:
    model = scripted(_agent_script)
    agent = create_agent(model, lib.as_tools(sandbox))
    out = agent.invoke({"messages": [HumanMessage("Put ball2 in roomb.")]})
    tool_msgs = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_msgs) == 1 and tool_msgs[0].name == "carry"
    assert tool_msgs[0].artifact["ok"] is True
    assert _place(env, "ball2") == "Ball2 is in roomb"
    assert out["messages"][-1].content.startswith("Done: ")
    assert {t.name for t in model.bindings[-1]} >= {"carry", "carry_two", "move"}


def test_tool_node_runs_learned_tools(
    lib: ActionLibrary, env: PDDLEnvironment, sandbox: Sandbox
) -> None:
    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode(lib.as_tools(sandbox)))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    call = {"name": "carry", "args": {"obj": "ball3", "src": "rooma", "dst": "roomb"}, "id": "t1"}
    out = graph.compile().invoke({"messages": [AIMessage(content="", tool_calls=[call])]})
    assert out["messages"][-1].artifact["ok"] is True
    assert _place(env, "ball3") == "Ball3 is in roomb"


def test_retrieval_tools(lib: ActionLibrary, env: PDDLEnvironment, sandbox: Sandbox) -> None:
    for i in range(30):
        lib.add(f"def noise{i}(x):\n    return x\n", description=f"Unrelated helper {i}.")
    tools = {t.name: t for t in retrieval_tools(lib, sandbox, k=2)}
    assert list(tools) == ["move", "pick", "drop", "retrieve_actions", "run_action"]
    found = _call(tools["retrieve_actions"], {"query": "carry two balls"})
    assert found.artifact[0] == "carry_two" and "carry_two(a, b, src, dst)" in found.content
    ran = _call(
        tools["run_action"],
        {"name": "carry", "arguments": {"obj": "ball1", "src": "rooma", "dst": "roomb"}},
    )
    assert ran.artifact["ok"] and _place(env, "ball1") == "Ball1 is in roomb"
    unknown = _call(tools["run_action"], {"name": "fly"})
    assert "no learned action 'fly'" in unknown.content and unknown.status == "error"
    missing = _call(tools["run_action"], {"name": "carry", "arguments": {"obj": "ball1"}})
    assert "needs a value for 'src'" in missing.content
    extra = _call(tools["run_action"], {"name": "carry", "arguments": {"bogus": 1}})
    assert "no parameter(s) ['bogus']" in extra.content
    failed = _call(
        tools["run_action"],
        {"name": "carry", "arguments": {"obj": "ball1", "src": "rooma", "dst": "roomb"}},
    )
    assert failed.status == "error" and failed.artifact["ok"] is False
    # A release published after the tools were made is found and runs.
    lib.add("def hop(src, dst):\n    return move(src, dst)\n", description="Hop to a room.")
    assert "hop" in _call(tools["retrieve_actions"], {"query": "hop to a room"}).artifact
    hopped = _call(
        tools["run_action"], {"name": "hop", "arguments": {"src": "roomb", "dst": "rooma"}}
    )
    assert hopped.status == "success" and "Robby is in rooma" in hopped.content


def _standard_library() -> ActionLibrary:
    library = ActionLibrary(InMemoryStore(), ("std",), base_actions=BASE)
    library.add(CARRY, description="Carry one ball.")
    return library


class TestLearnedToolStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return next(t for t in _standard_library().as_tools(None) if t.name == "carry")

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"obj": "ball1", "src": "rooma", "dst": "roomb", "gripper": "right"}


class TestBaseActionToolStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return next(t for t in _standard_library().as_tools(None) if t.name == "pick")

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"obj": "ball1", "room": "rooma", "gripper": "left"}


class TestRetrieveToolStandard(ToolsUnitTests):
    @property
    def tool_constructor(self) -> BaseTool:
        return retrieval_tools(_standard_library(), None)[-2]

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "carry a ball"}


def test_code_the_sandbox_refuses_is_never_published(env: PDDLEnvironment) -> None:
    library = ActionLibrary(InMemoryStore(), ("refused",), base_actions=env)
    with pytest.raises(ActionValidationError, match="'peek' was refused: .*import of 'os'"):
        library.add("import os\ndef peek(path):\n    return os.listdir(path)\n")
    with pytest.raises(ActionValidationError, match="'look' was refused: .*decorators"):
        library.add("@len\ndef look(path):\n    return path\n")
    assert library.names() == []


def test_one_refused_stored_action_does_not_stop_the_others(
    env: PDDLEnvironment, sandbox: Sandbox
) -> None:
    from learnact_langgraph.library_release import vkey

    library = ActionLibrary(InMemoryStore(), ("legacy",), base_actions=env)
    library.add(CARRY, description="Carry one ball.")
    library.add("def peek(path):\n    return path\n")
    # A version written under older rules, straight into the store.
    record = library.get("peek").to_record()
    record["source"] = "import os\ndef peek(path):\n    return os.listdir(path)\n"
    library.store.put(library.ns("versions", "peek"), vkey(1), record, index=False)
    drop_snapshots(library)  # as written by a version of the library without snapshots
    assert library.get("peek").signature == "peek(path)"  # still readable
    for session in (sandbox, lambda: Sandbox(env)):
        tools = {t.name: t for t in library.as_tools(session)}
        refused = _call(tools["peek"], {"path": "/"}).content
        assert "The learned action 'peek' cannot run" in refused and "import of 'os'" in refused
        moved = _call(tools["carry"], {"obj": "ball1", "src": "rooma", "dst": "roomb"})
        assert "Error" not in moved.content, moved.content
        env.reset(0)
    with pytest.raises(ActionValidationError, match="import of 'os'"):
        library.revise("peek", note="still refused")
