"""The live toolkit: tools that follow the newest release, cheaply when nothing changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseToolkit
from langgraph.store.memory import InMemoryStore

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.tools import ActionFailed

from .conftest import CARRY, GO


class CountingStore(InMemoryStore):
    """An InMemoryStore that counts the operations sent to it."""

    ops = 0

    def batch(self, ops: Any) -> Any:
        ops = list(ops)
        self.ops += len(ops)
        return super().batch(ops)


@pytest.fixture
def env(own_data_dir: Path) -> Any:
    gripper = load_env("gripper", data_dir=own_data_dir)
    gripper.reset(0)
    return gripper


def _call(tool: Any, args: dict[str, Any], call_id: str = "c1") -> ToolMessage:
    msg = tool.invoke({"type": "tool_call", "name": tool.name, "args": args, "id": call_id})
    assert isinstance(msg, ToolMessage)
    return msg


def test_get_tools_follows_each_release_with_one_store_read_when_unchanged(env: Any) -> None:
    store = CountingStore()
    library = ActionLibrary(store, ("kit",), base_actions=env)
    with Sandbox(env) as sandbox:
        toolkit = library.toolkit(sandbox)
        assert isinstance(toolkit, BaseToolkit)
        assert [t.name for t in toolkit.get_tools()] == ["move", "pick", "drop"]
        library.add(GO, description="Go to a room.")
        first = {t.name: t for t in toolkit.get_tools()}
        assert list(first) == ["move", "pick", "drop", "go"]
        store.ops = 0
        again = {t.name: t for t in toolkit.get_tools()}
        assert store.ops == 1  # the release pointer, nothing else
        assert again["go"] is first["go"]
        library.add(CARRY, description="Carry a ball.")
        newest = {t.name: t for t in toolkit.get_tools()}
        assert newest["go"] is first["go"] and "carry" in newest
        # The sandbox loaded the new release: the new tool runs.
        moved = _call(newest["carry"], {"obj": "ball1", "src": "rooma", "dst": "roomb"})
        assert moved.status == "success" and "Ball1 is in roomb" in moved.content
        library.retire("go")
        assert "go" not in [t.name for t in toolkit.get_tools()]


def test_current_learned_is_the_same_tuple_until_a_release_changes_it(env: Any) -> None:
    library = ActionLibrary(InMemoryStore(), ("kit",), base_actions=env)
    with Sandbox(env) as sandbox:
        toolkit = library.toolkit(sandbox)
        assert toolkit.current_learned() == ()
        library.add(GO, description="Go to a room.")
        first = toolkit.current_learned()
        assert [t.name for t in first] == ["go"] and toolkit.current_learned() is first
        copy = toolkit.learned_tools()
        copy.clear()  # a caller's list is its own
        assert toolkit.current_learned() is first and toolkit.learned_tools() == list(first)
        library.add(CARRY, description="Carry a ball.")
        second = toolkit.current_learned()
        assert second is not first and sorted(t.name for t in second) == ["carry", "go"]
        assert any(t is first[0] for t in second)  # an unchanged action keeps its tool


def test_a_toolkit_on_an_environment_starts_and_closes_its_own_sandbox(env: Any) -> None:
    library = ActionLibrary(InMemoryStore(), ("kit",), base_actions=env)
    library.add(CARRY, description="Carry a ball.")
    toolkit = library.toolkit(env)
    tools = {t.name: t for t in toolkit.get_tools()}
    ok = _call(tools["carry"], {"obj": "ball1", "src": "rooma", "dst": "roomb"})
    assert ok.status == "success"
    toolkit.close()


def test_raise_failures_raises_the_error_message_for_retry_middleware(env: Any) -> None:
    library = ActionLibrary(InMemoryStore(), ("kit",), base_actions=env)
    library.add(CARRY, description="Carry a ball.")
    with Sandbox(env) as sandbox:
        tools = {t.name: t for t in library.toolkit(sandbox, raise_failures=True).get_tools()}
        with pytest.raises(ActionFailed) as caught:
            _call(tools["carry"], {"obj": "ball1", "src": "roomb", "dst": "rooma"})
    message = caught.value.message
    assert message.status == "error" and message.artifact["ok"] is False
    assert message.tool_call_id == "c1"
