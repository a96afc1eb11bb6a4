"""ActionLibrary on InMemoryStore and SqliteStore: every operation and its error cases."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langgraph.store.base import BaseStore, Op, Result
from langgraph.store.memory import InMemoryStore
from langgraph.store.sqlite import SqliteStore

from learnact_langgraph import library_search
from learnact_langgraph.actions import LearnedAction, Provenance
from learnact_langgraph.envs.base import BaseAction, Param
from learnact_langgraph.errors import ActionValidationError, ConflictError, LibraryError
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.library_locks import FileLocker, ThreadLocker, default_locker

from .conftest import BASE, CARRY, GO


def test_add_then_get(lib: ActionLibrary) -> None:
    added = lib.add(CARRY, description="Carry a ball.", provenance=Provenance(run_id="r1"))
    assert (added.version, added.parent_version) == (1, None)
    assert added.created_at and added.provenance.run_id == "r1"
    assert lib.get("carry") == added
    assert lib.get("carry", 1) == added
    assert lib.names() == ["carry"] and len(lib) == 1 and "carry" in lib


def test_add_takes_a_learned_action_and_resets_version_fields(lib: ActionLibrary) -> None:
    foreign = LearnedAction(name="go", source=GO, version=7, parent_version=6)
    stored = lib.add(foreign)
    assert (stored.version, stored.parent_version) == (1, None)


def test_add_errors(lib: ActionLibrary) -> None:
    lib.add(GO)
    with pytest.raises(LibraryError, match="already exists"):
        lib.add(GO)
    with pytest.raises(ActionValidationError, match="base action"):
        lib.add("def move(a, b):\n    return None\n")
    with pytest.raises(ActionValidationError, match="does not parse"):
        lib.add("def broken(:\n")
    assert lib.names() == ["go"]


def test_revise_writes_a_new_version_and_keeps_the_old(lib: ActionLibrary) -> None:
    lib.add(CARRY, description="Carry a ball.", scores={"success": 0.2})
    v2 = lib.revise("carry", note="Use a free gripper.", scores={"success": 0.6})
    v3 = lib.revise("carry", source=CARRY.replace('"left"', '"right"'), note="Right works too.")
    assert (v2.version, v2.parent_version, v3.version, v3.parent_version) == (2, 1, 3, 2)
    assert v3.notes == ("Use a free gripper.", "Right works too.")
    assert v3.description == "Carry a ball." and v3.scores == {}
    assert [a.version for a in lib.history("carry")] == [1, 2, 3]
    assert lib.get("carry", 1).notes == () and lib.get("carry", 1).scores == {"success": 0.2}
    assert lib.get("carry").version == 3
    replaced = lib.revise("carry", notes=["only this"])
    assert replaced.notes == ("only this",)


def test_revise_errors(lib: ActionLibrary) -> None:
    with pytest.raises(LibraryError, match="no action named 'nope'"):
        lib.revise("nope", note="x")
    lib.add(GO)
    with pytest.raises(ActionValidationError, match="does not parse"):
        lib.revise("go", source="def go(:\n")
    with pytest.raises(ActionValidationError, match="defines 'other'"):
        lib.revise("go", source="def other():\n    pass\n")
    assert lib.get("go").version == 1


def test_compare_and_set(lib: ActionLibrary) -> None:
    lib.add(GO)
    seen = lib.get("go")
    lib.revise("go", note="first writer", expected_version=seen.version)
    with pytest.raises(ConflictError, match="another writer"):
        lib.revise("go", note="second writer", expected_version=seen.version)
    assert lib.get("go").notes == ("first writer",)
    with pytest.raises(ConflictError):
        lib.retire("go", expected_version=1)


def test_retire_and_revive(lib: ActionLibrary) -> None:
    lib.add(GO)
    lib.add(CARRY)
    lib.retire("go")
    assert lib.names() == ["carry"] and "go" not in lib
    assert lib.status("go").retired
    with pytest.raises(LibraryError, match="retired"):
        lib.get("go")
    assert lib.get("go", 1).name == "go"
    with pytest.raises(LibraryError, match="already retired"):
        lib.retire("go")
    revived = lib.revise("go", note="back")
    assert revived.version == 2 and revived.parent_version == 1 and "go" in lib
    lib.retire("go")
    again = lib.add(GO, description="added again")
    assert (again.version, again.parent_version, again.description) == (3, 2, "added again")
    with pytest.raises(LibraryError, match="already exists"):
        lib.add(GO)


def test_get_errors(lib: ActionLibrary) -> None:
    with pytest.raises(LibraryError, match="no action named"):
        lib.get("ghost")
    assert "ghost" not in lib and 3 not in lib
    lib.add(GO)
    with pytest.raises(LibraryError, match="has no version 5"):
        lib.get("go", 5)
    with pytest.raises(LibraryError, match="no action named"):
        lib.history("ghost")


def test_diff_between_versions(lib: ActionLibrary) -> None:
    lib.add(GO, description="Go.")
    lib.revise("go", source="def go(src, dst):\n    move(src, dst)\n    return 'ok'\n")
    text = lib.diff("go", 1, 2)
    assert "--- go@v1" in text and "+++ go@v2" in text
    assert "-    return move(src, dst)" in text and "+    return 'ok'" in text
    assert lib.diff("go", 2) == ""


def test_rollback_publishes_old_content_as_a_new_version(lib: ActionLibrary) -> None:
    lib.add(GO, description="first")
    lib.revise("go", description="second")
    back = lib.rollback("go", 1)
    assert (back.version, back.parent_version, back.description) == (3, 2, "first")
    assert back.provenance.extra == {"rollback_of": 1}
    assert [a.description for a in lib.history("go")] == ["first", "second", "first"]
    with pytest.raises(LibraryError, match="has no version 9"):
        lib.rollback("go", 9)


def test_release_publishes_many_changes_at_once(lib: ActionLibrary) -> None:
    lib.add(GO)
    before = lib.generation
    with lib.release(run_id="run-7", message="round 2") as rel:
        rel.add(CARRY, description="Carry.")
        rel.revise("go", note="checked")
        rel.revise("carry", note="added and revised in one release")
        assert lib.names() == ["go"]  # nothing visible before the block ends
    assert lib.generation == before + 1
    assert lib.release_contents() == {"carry": 1, "go": 2}
    assert lib.release_contents(before) == {"go": 1}
    last = lib.releases()[-1]
    assert (last.run_id, last.message, last.changes) == ("run-7", "round 2", {"carry": 1, "go": 2})
    assert lib.get("carry").notes == ("added and revised in one release",)
    assert lib.get("carry").provenance.run_id == "run-7"


def test_failed_release_writes_nothing(lib: ActionLibrary) -> None:
    lib.add(GO)
    gen = lib.generation
    with pytest.raises(LibraryError, match="no action named 'ghost'"):
        with lib.release() as rel:
            rel.add(CARRY)
            rel.revise("ghost", note="x")
    assert lib.generation == gen and lib.names() == ["go"] and lib.head("carry") is None
    with pytest.raises(RuntimeError):
        with lib.release() as rel:
            rel.add(CARRY)
            raise RuntimeError("learner crashed")
    assert lib.names() == ["go"]


def test_rollback_release(lib: ActionLibrary) -> None:
    lib.add(GO)
    first = lib.generation
    with lib.release() as rel:
        rel.add(CARRY)
        rel.revise("go", note="v2")
    release = lib.rollback_release(first)
    assert release.kind == "rollback" and release.changes == {"carry": None, "go": 1}
    assert lib.release_contents() == {"go": 1}
    assert lib.get("go").notes == ()
    assert lib.revise("go", note="again").parent_version == 1
    with pytest.raises(LibraryError, match="does not exist"):
        lib.rollback_release(99)


def test_crashed_writer_generation_is_skipped(lib: ActionLibrary) -> None:
    lib.add(GO)
    gen = lib.generation
    # A writer that allocated generation gen+1 and wrote a head entry, then died.
    lib.store.put(lib.ns("meta"), "allocated", {"generation": gen + 1})
    head = lib.head("go")
    assert head is not None
    head["released"][str(gen + 1)] = None
    lib.store.put(lib.ns("heads"), "go", head)
    assert lib.names() == ["go"]
    lib.add(CARRY)
    assert lib.generation == gen + 2 and lib.pointer()[1] == frozenset({gen + 1})
    assert lib.names() == ["carry", "go"]


def test_prefixes_keep_libraries_apart(store: InMemoryStore) -> None:
    a = ActionLibrary(store, ("learnact", "gripper"), base_actions=BASE)
    b = ActionLibrary(store, ("learnact", "barman"))
    a.add(GO)
    assert b.names() == [] and b.base_actions == ()
    assert ActionLibrary(store, ("learnact", "gripper")).base_actions == tuple(BASE)
    with pytest.raises(LibraryError, match="prefix"):
        ActionLibrary(store, ("bad.label",))


def test_concurrent_writers_lose_nothing(lib: ActionLibrary) -> None:
    lib.add(GO)
    per_thread = 15

    def writer(tag: str) -> None:
        for i in range(per_thread):
            while True:
                seen = lib.get("go")
                try:
                    lib.revise(
                        "go", notes=[*seen.notes, f"{tag}{i}"], expected_version=seen.version
                    )
                    break
                except ConflictError:
                    continue

    threads = [threading.Thread(target=writer, args=(t,)) for t in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = lib.get("go")
    assert final.version == 1 + 3 * per_thread
    assert sorted(final.notes) == sorted(f"{t}{i}" for t in "abc" for i in range(per_thread))


class SlowStore(InMemoryStore):
    """Applies a batch one operation at a time with a pause between: no atomicity at all."""

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        results: list[Result] = []
        for op in ops:
            results += super().batch([op])
            time.sleep(0.0002)
        return results


@pytest.mark.parametrize("kind", ["memory", "sqlite", "slow"])
def test_reader_never_sees_half_a_release(kind: str, tmp_path: Path) -> None:
    """A reader thread checks every set it reads: all descriptions from one release."""
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            store: BaseStore = stack.enter_context(
                SqliteStore.from_conn_string(str(tmp_path / "r.db"))
            )
        else:
            store = SlowStore() if kind == "slow" else InMemoryStore()
        lib = ActionLibrary(store, ("atomic",))
        names = [f"act{i}" for i in range(6)]
        with lib.release() as rel:
            for n in names:
                rel.add(f"def {n}():\n    return None\n", description="gen 0")
        stop = threading.Event()
        mixed: list[set[str]] = []
        reads = [0]

        def reader() -> None:
            while not stop.is_set():
                seen = {a.description for a in lib.actions()}
                reads[0] += 1
                if len(seen) != 1:
                    mixed.append(seen)

        t = threading.Thread(target=reader)
        t.start()
        for g in range(1, 15):
            with lib.release() as rel:
                for n in names:
                    rel.revise(n, description=f"gen {g}")
        stop.set()
        t.join()
        assert mixed == [] and reads[0] > 0
        assert {a.description for a in lib.actions()} == {"gen 14"}


def test_search_uses_the_semantic_index() -> None:
    store = InMemoryStore(
        index={"embed": DeterministicFakeEmbedding(size=32), "dims": 32, "fields": ["text"]}
    )
    lib = ActionLibrary(store, ("idx",), base_actions=BASE)
    for i in range(12):
        lib.add(f"def act{i}(x):\n    return x\n", description=f"Action number {i}.")
    target = lib.get("act7")
    assert lib.search(lib.catalog_text(target), k=3)[0].name == "act7"
    assert len(lib.search("anything", k=4)) == 4
    lib.retire("act7")
    assert "act7" not in [a.name for a in lib.search(lib.catalog_text(target), k=12)]


def test_search_falls_back_to_keywords(lib: ActionLibrary, monkeypatch: pytest.MonkeyPatch) -> None:
    lib.add(CARRY, description="Carry a ball from one room to another with a gripper.")
    lib.add(GO, description="Walk Robby to a room.")
    lib.add("def stack(a, b):\n    return None\n", description="Put block a on block b.")
    assert not lib.has_index
    assert [a.name for a in lib.search("carry the ball", k=2)] == ["carry"]
    assert [a.name for a in lib.search("room", k=5)] == ["go", "carry"]
    assert lib.search("helicopter", k=3) == [] and lib.search("room", k=0) == []


def test_keyword_tokens_split_identifiers() -> None:
    assert library_search.tokens("pickUp the_ball2") == ["pick", "up", "ball", "2"]


def test_default_lockers(tmp_path: Path) -> None:
    mem = InMemoryStore()
    assert isinstance(default_locker(mem), ThreadLocker)
    assert default_locker(mem) is default_locker(mem)
    with SqliteStore.from_conn_string(str(tmp_path / "x.db")) as s:
        locker = default_locker(s)
        assert isinstance(locker, FileLocker)
        assert str(locker.path).endswith("x.db.lock")


def test_two_libraries_on_one_sqlite_file(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    with SqliteStore.from_conn_string(path) as s1, SqliteStore.from_conn_string(path) as s2:
        s1.setup()
        s2.setup()
        first = ActionLibrary(s1, ("team",), base_actions=BASE)
        second = ActionLibrary(s2, ("team",))
        first.add(GO)

        def bump(lib: ActionLibrary) -> None:
            for _ in range(10):
                lib.revise("go", note="n")

        threads = [threading.Thread(target=bump, args=(x,)) for x in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert second.get("go").version == 21 and len(first.get("go").notes) == 20


# ----- publishing goes through the sandbox's gate --------------------------------------------
@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("def go(*rooms):\n    pass\n", r"\*rooms is not allowed"),
        ("@len\ndef go(a):\n    pass\n", "decorators are not allowed"),
        ("def go(a, b=move('a', 'b')):\n    pass\n", "must be a literal"),
        ("def go():\n    größe = 1\n", "ASCII"),
        ("def go():\n    return open('x')\n", r"open\(\) is not available"),
    ],
)
def test_publishing_refuses_what_the_sandbox_would_refuse(
    lib: ActionLibrary, source: str, why: str
) -> None:
    with pytest.raises(ActionValidationError, match=f"'go' was refused: .*{why}"):
        lib.add(source)
    lib.add(GO)
    with pytest.raises(ActionValidationError, match=why):
        lib.revise("go", source=source)
    assert lib.get("go").version == 1


def test_constants_and_allowed_imports_are_published(lib: ActionLibrary) -> None:
    source = (
        "import re\nROOMS = ['rooma', 'roomb']\n\n"
        "def rooms_in(text):\n    return re.findall('room[ab]', text)\n"
    )
    assert lib.add(source).name == "rooms_in"


def test_base_actions_give_meaning_to_names_the_gate_refuses(store: BaseStore) -> None:
    take_out = "def take_out(c):\n    open(c)\n    return fetch(c)\n"
    boot = [BaseAction("open", (Param("c"),), "Open c."), BaseAction("fetch", (Param("c"),), "")]
    assert ActionLibrary(store, ("boot",), base_actions=boot).add(take_out).name == "take_out"
    assert ActionLibrary(store, ("unknown",)).add(take_out).name == "take_out"  # not judged
    with pytest.raises(ActionValidationError, match=r"open\(\) is not available"):
        ActionLibrary(store, ("gripper",), base_actions=BASE).add(take_out)


def test_a_stored_version_the_gate_refuses_cannot_be_released_again(lib: ActionLibrary) -> None:
    from learnact_langgraph.library_release import vkey

    lib.add(GO)
    lib.revise("go", source="def go(src, dst):\n    return move(dst, src)\n")
    record = lib.get("go", 1).to_record()
    record["source"] = "import os\ndef go(src, dst):\n    return os.sep\n"  # older rules
    lib.store.put(lib.ns("versions", "go"), vkey(1), record, index=False)
    assert [a.version for a in lib.history("go")] == [1, 2]  # still readable
    with pytest.raises(ActionValidationError, match="import of 'os'"):
        lib.rollback("go", 1)
    with pytest.raises(ActionValidationError, match="import of 'os'"):
        lib.rollback_release(1)
    assert lib.get("go").version == 2
