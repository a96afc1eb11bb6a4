"""Release snapshots: the same answers as heads and version records, old stores migrated."""

from __future__ import annotations

import json
import random

from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.library_cache import clear_action_cache
from learnact_langgraph.library_export import (
    export_manifest,
    export_openai,
    export_python,
    import_manifest,
    openai_tools,
)
from learnact_langgraph.library_search import keyword_rank
from learnact_langgraph.library_snapshot import KEEP
from learnact_langgraph.tools.learned import ActionTool

from .conftest import BASE, CARRY, GO, drop_snapshots

WORDS = "carry stack ball block cup room tower fetch sort swap clean shaker glass left".split()
QUERIES = ["carry a ball", "stack the blocks into a tower", "clean shaker", "swap cups", "zebra"]


def _fill(lib: ActionLibrary, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with lib.release(message="fill") as rel:
        for i in range(n):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
            doc = '    """Docstring only."""\n' if i % 7 == 0 else ""
            head = f"def act_{i}(obj: str, room{i % 3}='rooma'):\n"
            rel.add(
                f"{head}{doc}    return move(obj, room{i % 3})\n",
                description="" if i % 7 == 0 else f"{words.capitalize()} ({i}).",
                notes=[f"note {words}"] if i % 5 == 0 else [],
            )


def _answers(lib: ActionLibrary) -> dict[str, object]:
    """Everything a reader sees, as plain data."""
    tools = lib.as_tools(None)
    return {
        "contents": lib.release_contents(),
        "actions": [a.to_record() for a in lib.actions()],
        "described": [a.full_description() for a in lib.actions()],
        "search": {q: [a.name for a in lib.search(q, k=7)] for q in QUERIES},
        "tools": [(t.name, t.description, t.args, t.metadata) for t in tools],
        "openai": export_openai(lib),
        "python": export_python(lib),
        "manifest": export_manifest(lib),
    }


def test_search_ranks_as_keyword_rank_over_the_catalog() -> None:
    lib = ActionLibrary(InMemoryStore(), ("s",), base_actions=BASE)
    _fill(lib, 300)
    lib.retire("act_3")
    lib.revise("act_4", description="Carry carry carry a ball.")
    texts = {a.name: lib.catalog_text(a) for a in lib.actions()}
    for query in QUERIES + ["act", "obj room", "docstring only", "note ball"]:
        for k in (1, 5, 50):
            want = keyword_rank(query, texts)[:k]
            assert [a.name for a in lib.search(query, k=k)] == want, (query, k)
    assert lib.search("carry", k=0) == [] and lib.search("the a", k=3) == []


def test_a_store_without_snapshots_reads_the_same_and_is_migrated_on_write(
    store: BaseStore,
) -> None:
    lib = ActionLibrary(store, ("m", "gripper"), base_actions=BASE)
    _fill(lib, 60)
    lib.retire("act_2")
    with_snapshots = _answers(lib)
    drop_snapshots(lib)  # the layout a library without snapshots wrote
    clear_action_cache()
    old = ActionLibrary(store, ("m", "gripper"))
    assert old.release_view() is None
    assert _answers(old) == with_snapshots
    old.add(GO, description="Walk to a room.")  # the first write builds the snapshot
    view = old.release_view()
    assert view is not None and "act_0" in view and "go" in view and "act_2" not in view
    fresh = ActionLibrary(store, ("m", "gripper"))
    after = _answers(fresh)
    assert after["contents"] == {**with_snapshots["contents"], "go": 1}  # type: ignore[dict-item]
    assert after["search"] == {q: [a.name for a in old.search(q, k=7)] for q in QUERIES}


def test_every_generation_reads_the_same_from_its_snapshot_and_from_heads() -> None:
    lib = ActionLibrary(InMemoryStore(), ("g",), base_actions=BASE)
    lib.add(CARRY, description="Carry a ball.")
    lib.add(GO, description="Go.")
    lib.revise("carry", note="Start in src.")
    lib.retire("go")
    lib.rollback("carry", 1)
    lib.rollback_release(2)
    gens = range(0, lib.generation + 1)
    snap = {g: (lib.release_contents(g), [a.to_record() for a in lib.actions(g)]) for g in gens}
    drop_snapshots(lib)
    heads = ActionLibrary(lib.store, ("g",))
    assert {
        g: (heads.release_contents(g), [a.to_record() for a in heads.actions(g)]) for g in gens
    } == snap


def test_restored_actions_equal_parsed_ones() -> None:
    lib = ActionLibrary(InMemoryStore(), ("r",), base_actions=BASE)
    _fill(lib, 30)
    clear_action_cache()
    for action in ActionLibrary(lib.store, ("r",)).actions():
        parsed = LearnedAction.from_record(action.to_record(), stored=True)
        assert action == parsed and action.params == parsed.params
        assert action.signature == parsed.signature and action.docstring == parsed.docstring
        assert action.full_description() == parsed.full_description()
        assert action.model_fields_set == parsed.model_fields_set


def test_superseded_shards_are_pruned_and_old_releases_still_read() -> None:
    lib = ActionLibrary(InMemoryStore(), ("p",), base_actions=BASE)
    _fill(lib, 20)
    first = lib.release_contents()
    for i in range(KEEP * 3):
        lib.revise("act_1", note=f"n{i}")
    shards = lib.store.search(lib.ns("shards"), limit=10_000)
    assert len(shards) <= 64 + KEEP + 1
    assert ActionLibrary(lib.store, ("p",)).release_contents(1) == first
    assert lib.get("act_1").notes[-1] == f"n{KEEP * 3 - 1}"


def test_import_writes_a_snapshot_and_replace_leaves_no_stale_cache() -> None:
    src = ActionLibrary(InMemoryStore(), ("src",), base_actions=BASE)
    src.add(CARRY, description="Carry one ball.")
    dst = ActionLibrary(InMemoryStore(), ("dst",), base_actions=BASE)
    dst.add(GO, description="Go somewhere.")
    assert [t.name for t in dst.as_tools(None, include_base=False)] == ["go"]
    import_manifest(dst, export_manifest(src), replace=True)
    assert dst.release_view() is not None
    assert [t.name for t in dst.as_tools(None, include_base=False)] == ["carry"]
    assert [a.name for a in dst.search("carry ball")] == ["carry"]


def test_openai_export_is_what_langchain_converts() -> None:
    lib = ActionLibrary(InMemoryStore(), ("o",), base_actions=BASE)
    _fill(lib, 20)
    lib.add(
        "def odd(title, properties: dict = None, x: str | None = None, t=(1, 'a')):\n    return x\n"
    )
    lib.add("def huge(a=1e999, b: None | int = 2):\n    return a\n", description="Pydantic path.")
    converted = [convert_to_openai_tool(t) for t in lib.as_tools(None)]
    assert openai_tools(lib) == converted
    assert json.loads(export_openai(lib)) == converted
    entry = lib.release_view().entry("odd")  # type: ignore[union-attr]
    assert entry["schema"]["properties"]["title"] == {"title": "Title"}  # not changed


def test_tools_from_templates_are_what_from_function_makes() -> None:
    lib = ActionLibrary(InMemoryStore(), ("t",), base_actions=BASE)
    lib.add(CARRY, description="Carry one ball.")
    tool = next(t for t in lib.as_tools(None) if t.name == "carry")
    again = next(t for t in lib.as_tools(None, raise_failures=True) if t.name == "carry")
    from learnact_langgraph.tools.learned import ToolSession, learned_action_tool

    made = learned_action_tool(lib.get("carry"), ToolSession(None, {}))
    assert isinstance(tool, ActionTool) and isinstance(made, ActionTool)
    strip = {"func"}
    assert {k: v for k, v in tool.__dict__.items() if k not in strip} == {
        k: v for k, v in made.__dict__.items() if k not in strip
    }
    assert tool.model_fields_set == made.model_fields_set
    assert tool.__pydantic_private__ == made.__pydantic_private__
    assert isinstance(again, ActionTool)
    assert again.raise_failures and not tool.raise_failures and tool.func is not again.func
    assert tool.metadata is not again.metadata
