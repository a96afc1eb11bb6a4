"""Tool templates kept per release: new releases are seen, callers never share a tool.

``as_tools`` builds each release's templates once and makes new tools from them at
every call (``library_tools``); ``gc_paused`` moves what a bulk build made to the oldest
generation instead of collecting it (``library_cache``).
"""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest
from langgraph.store.base import GetOp
from langgraph.store.memory import InMemoryStore

from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.library_cache import clear_action_cache, gc_paused
from learnact_langgraph.library_snapshot import shard_value
from learnact_langgraph.tools.learned import ActionTool

from .conftest import BASE, CARRY, GO


def _lib() -> ActionLibrary:
    lib = ActionLibrary(InMemoryStore(), ("t",), base_actions=BASE)
    with lib.release(message="fill") as rel:
        rel.add(CARRY, description="Carry one ball.")
        rel.add(GO, description="Go somewhere.")
        for i in range(30):
            rel.add(f"def act_{i}(x: str, n: int = {i}):\n    return move(x, x)\n")
    return lib


def _learned(tools: list[object]) -> dict[str, ActionTool]:
    return {
        t.name: t
        for t in tools
        if isinstance(t, ActionTool) and (t.metadata or {}).get("learnact") == "learned"
    }


def test_a_new_release_gives_new_tools_and_keeps_unchanged_templates() -> None:
    lib = _lib()
    before = _learned(lib.as_tools(None))
    old_view = lib.release_view()
    assert old_view is not None
    lib.revise("carry", description="Carry a ball, carefully.")
    lib.retire("go")
    lib.add("def fresh(a: str):\n    return move(a, a)\n", description="New one.")
    after = _learned(lib.as_tools(None))
    assert before["carry"].metadata == {"learnact": "learned", "version": 1}
    assert after["carry"].metadata == {"learnact": "learned", "version": 2}
    assert "Carry a ball, carefully." in after["carry"].description
    assert "go" in before and "go" not in after and "fresh" in after
    assert set(after) == set(lib.names())
    # the old release still gives its own tools (its view keeps its templates)
    older = _learned(lib.as_tools(None, generation=old_view.generation))
    assert older["carry"].metadata == {"learnact": "learned", "version": 1} and "go" in older
    # templates of actions whose shard no release touched are shared, not rebuilt
    new_view = lib.release_view()
    assert new_view is not None
    kept = [n for n in new_view.names if n in old_view and old_view._where[n] is new_view._where[n]]
    assert kept
    for name in kept:
        assert old_view.memo(name, "tool", lambda: None) is new_view.memo(
            name, "tool", lambda: None
        )


def test_each_call_gets_its_own_tools() -> None:
    lib = _lib()
    first = _learned(lib.as_tools(None))
    second = _learned(lib.as_tools(None))
    for name, tool in first.items():
        other = second[name]
        assert tool is not other
        assert tool.__dict__ is not other.__dict__
        assert tool.metadata is not other.metadata
        assert tool.model_fields_set is not other.model_fields_set
        assert tool.__pydantic_private__ is not other.__pydantic_private__
        assert tool.func is not other.func
    seen: list[object] = []
    carry = first["carry"]
    carry.on_result = seen.append  # what LearnedToolkit does to its tools
    carry.metadata["mine"] = True  # type: ignore[index]
    carry.tags = ["changed"]
    carry.description = "Rewritten by one caller."
    third = _learned(lib.as_tools(None))
    for tools in (second, third):
        assert tools["carry"].on_result is None
        assert tools["carry"].metadata == {"learnact": "learned", "version": 1}
        assert tools["carry"].tags is None
        assert "Rewritten" not in tools["carry"].description
        assert "on_result" not in tools["carry"].model_fields_set
    assert "on_result" in carry.model_fields_set


def test_a_tool_validating_its_arguments_does_not_change_the_others() -> None:
    lib = _lib()
    first = _learned(lib.as_tools(None))["act_3"]
    second = _learned(lib.as_tools(None))["act_3"]
    answer = first.invoke({"x": "a"})  # unbound: says how to bind, after validation
    assert "not bound" in str(answer)
    assert first.__pydantic_private__["_validating"] is not None
    assert second.__pydantic_private__["_validating"] is None
    with pytest.raises(Exception, match="x"):
        second.invoke({"n": 1})


def test_raise_failures_and_session_are_per_call() -> None:
    lib = _lib()
    plain = _learned(lib.as_tools(None))["go"]
    raising = _learned(lib.as_tools(None, raise_failures=True))["go"]
    again = _learned(lib.as_tools(None))["go"]
    assert raising.raise_failures and not plain.raise_failures and not again.raise_failures


def test_a_few_names_do_not_build_every_template() -> None:
    lib = _lib()
    view = lib.release_view()
    assert view is not None
    tools = lib.as_tools(None, include_base=False, names=["go", "carry"])
    assert [t.name for t in tools] == ["carry", "go"]
    assert "tool templates" not in view._derived
    everything = _learned(lib.as_tools(None))
    assert "tool templates" in view._derived
    assert set(everything) == set(view.names)


def test_shards_store_their_entries_in_name_order() -> None:
    entries = {n: {"record": {"signature": f"{n}()"}, "described": n} for n in ["b", "c", "a"]}
    assert list(shard_value(entries)["entries"]) == ["a", "b", "c"]
    lib = _lib()
    view = lib.release_view()
    assert view is not None
    assert view.names == sorted(view.names) == [n for n, _ in view.entries()]
    assert [r["name"] for r in view.records()] == view.names


def test_gc_paused_nests_and_promotes_what_it_made() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            made = [[i] for i in range(5 * gc.get_threshold()[0])]
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    assert gc.get_count()[0] < gc.get_threshold()[0]  # promoted, not left to collect
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(o) in oldest for o in made)
    # a cycle made during a pause is still collected by a full collection
    with gc_paused():
        cycle: list[object] = []
        cycle.append(cycle)
        ref = id(cycle)
        del cycle
        padding = [[i] for i in range(5 * gc.get_threshold()[0])]
    gc.collect()
    assert all(id(o) != ref for o in gc.get_objects())
    del padding


def test_gc_paused_leaves_a_disabled_collector_and_frozen_objects_alone() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            made = [[i] for i in range(5 * gc.get_threshold()[0])]
        assert gc.get_freeze_count() == frozen  # nothing of the caller's unfrozen
        del made
    finally:
        gc.unfreeze()


def test_gc_paused_across_threads_resumes_once_all_have_left() -> None:
    inside = threading.Event()
    leave = threading.Event()

    def hold() -> None:
        with gc_paused():
            inside.set()
            leave.wait(5)

    worker = threading.Thread(target=hold)
    worker.start()
    inside.wait(5)
    with gc_paused():
        pass
    assert not gc.isenabled()  # the other thread is still building
    leave.set()
    worker.join(5)
    assert gc.isenabled()


class _WatchedStore(InMemoryStore):
    """Records whether the collector ran while a batch read a release's shards."""

    def __init__(self) -> None:
        super().__init__()
        self.shard_reads: list[bool] = []

    def batch(self, ops: Any) -> list[Any]:
        ops = list(ops)
        if any(isinstance(op, GetOp) and op.namespace[-1:] == ("shards",) for op in ops):
            self.shard_reads.append(gc.isenabled())
        return super().batch(ops)


def test_a_cold_read_decodes_the_shards_with_the_collector_paused() -> None:
    """A store that decodes JSON (SQLite, Postgres) makes every entry's dicts while
    the shards are read: at 10,000 actions collections during that read were half of a
    cold ``as_tools`` on SQLite, growing 15x from 1,000 (``docs/performance.md``)."""
    store = _WatchedStore()
    lib = ActionLibrary(store, ("t",), base_actions=BASE)
    lib.add(CARRY, description="Carry one ball.")
    clear_action_cache()
    store.shard_reads.clear()
    cold = ActionLibrary(store, ("t",), base_actions=BASE)
    assert "carry" in _learned(cold.as_tools(None))
    assert store.shard_reads == [False]
    assert gc.isenabled()


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_indented_json_is_json_dumps_text(ensure_ascii: bool) -> None:
    """The exports and the MCP manifest join the encoder's pieces in blocks: the text
    must be exactly what ``json.dumps`` writes, across block boundaries and non-ASCII."""
    import json

    from learnact_langgraph.library_export import dumps_indented

    value = {"z": ["é", "☃", None, 1.5], "a": [{"k": i, "s": "x" * i} for i in range(3000)]}
    expected = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=ensure_ascii) + "\n"
    assert dumps_indented(value, ensure_ascii=ensure_ascii) == expected
