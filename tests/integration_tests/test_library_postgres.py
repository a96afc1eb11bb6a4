"""The action library on a real PostgreSQL server (``.ci/setup-postgres`` starts one).

Two processes revising one action lose nothing (compare-and-set under
``pg_advisory_lock``), and a reader in another process never sees half a release.
"""

from __future__ import annotations

import multiprocessing as mp
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from learnact_langgraph.errors import ConflictError
from learnact_langgraph.library import ActionLibrary

pytestmark = pytest.mark.integration

ROUNDS = 30


@pytest.fixture
def prefix() -> tuple[str, ...]:
    return ("it", uuid.uuid4().hex[:12])


@pytest.fixture
def lib(pg_url: str, prefix: tuple[str, ...]) -> Iterator[ActionLibrary]:
    from langgraph.store.postgres import PostgresStore

    with PostgresStore.from_conn_string(pg_url) as store:
        store.setup()
        yield ActionLibrary(store, prefix)


def _cas_writer(url: str, prefix: tuple[str, ...], tag: str, start: float) -> int:
    """Append ROUNDS notes by read-modify-write with expected_version; return conflicts."""
    from langgraph.store.postgres import PostgresStore

    conflicts = 0
    with PostgresStore.from_conn_string(url) as store:
        lib = ActionLibrary(store, prefix)
        while time.time() < start:
            time.sleep(0.001)
        for i in range(ROUNDS):
            while True:
                seen = lib.get("go")
                try:
                    lib.revise(
                        "go", notes=[*seen.notes, f"{tag}{i}"], expected_version=seen.version
                    )
                    break
                except ConflictError:
                    conflicts += 1
    return conflicts


def _delta_writer(url: str, prefix: tuple[str, ...], tag: str, start: float) -> int:
    """Append ROUNDS notes as deltas (no expected version): the lock must serialise them."""
    from langgraph.store.postgres import PostgresStore

    with PostgresStore.from_conn_string(url) as store:
        lib = ActionLibrary(store, prefix)
        while time.time() < start:
            time.sleep(0.001)
        for i in range(ROUNDS):
            lib.revise("go", note=f"{tag}{i}")
    return 0


def _release_writer(url: str, prefix: tuple[str, ...], names: list[str], gens: int) -> None:
    from langgraph.store.postgres import PostgresStore

    with PostgresStore.from_conn_string(url) as store:
        lib = ActionLibrary(store, prefix)
        for g in range(1, gens + 1):
            with lib.release(run_id=f"run-{g}") as rel:
                for n in names:
                    rel.revise(n, description=f"gen {g}")


@pytest.mark.parametrize("writer", [_cas_writer, _delta_writer], ids=["cas", "delta"])
def test_two_processes_revising_one_action_lose_nothing(
    lib: ActionLibrary,
    pg_url: str,
    prefix: tuple[str, ...],
    writer: Callable[[str, tuple[str, ...], str, float], int],
) -> None:
    lib.add("def go(src, dst):\n    return move(src, dst)\n")
    ctx = mp.get_context("spawn")
    start = time.time() + 2.0
    with ctx.Pool(2) as pool:
        results = [pool.apply_async(writer, (pg_url, prefix, t, start)) for t in "ab"]
        conflicts = [r.get(timeout=120) for r in results]
    final = lib.get("go")
    assert final.version == 1 + 2 * ROUNDS
    assert sorted(final.notes) == sorted(f"{t}{i}" for t in "ab" for i in range(ROUNDS))
    assert [v.version for v in lib.history("go")] == list(range(1, 2 + 2 * ROUNDS))
    print(f"{writer.__name__}: conflicts retried per process: {conflicts}")


def test_release_is_atomic_for_a_concurrent_reader(
    lib: ActionLibrary, pg_url: str, prefix: tuple[str, ...]
) -> None:
    names = [f"act{i}" for i in range(8)]
    with lib.release() as rel:
        for n in names:
            rel.add(f"def {n}(x):\n    return x\n", description="gen 0")
    gens = 25
    ctx = mp.get_context("spawn")
    writer = ctx.Process(target=_release_writer, args=(pg_url, prefix, names, gens))
    writer.start()
    reads, seen_gens, mixed = 0, set(), []
    while writer.is_alive() or reads == 0:
        descriptions = {a.description for a in lib.actions()}
        reads += 1
        if len(descriptions) == 1:
            seen_gens |= descriptions
        else:
            mixed.append(descriptions)
    writer.join(timeout=60)
    assert writer.exitcode == 0
    assert mixed == []
    assert {a.description for a in lib.actions()} == {f"gen {gens}"}
    assert len(seen_gens) >= 3, f"the reader saw too few releases to prove anything: {seen_gens}"
    print(f"reader: {reads} reads saw {len(seen_gens)} distinct releases, none mixed")


def test_round_trip_through_postgres_is_byte_identical(lib: ActionLibrary) -> None:
    from langgraph.store.memory import InMemoryStore

    from learnact_langgraph.library_export import export_manifest, import_manifest

    source = ActionLibrary(InMemoryStore(), ("src",))
    source.add("def go(a, b):\n    return move(a, b)\n", description="Walk between rooms.")
    source.revise("go", note="Robby must be in a.")
    source.add("def wait():\n    return None\n", description="Do nothing.")
    source.retire("wait")
    text = export_manifest(source)
    import_manifest(lib, text)
    assert export_manifest(lib) == text
    assert [a.name for a in lib.search("walk rooms", k=3)] == ["go"]


def test_snapshots_on_postgres_match_heads_and_migrate(lib: ActionLibrary) -> None:
    """Release snapshots read back from PostgreSQL (JSONB) as written; a library without
    them (written before they existed) reads the same and gets one at its next write."""
    from learnact_langgraph.library_export import export_openai, export_python

    with lib.release() as rel:
        for i in range(40):
            rel.add(f"def act{i}(x: int, y='a'):\n    return x\n", description=f"Act {i} ball.")
    lib.retire("act3")

    def answers(library: ActionLibrary) -> tuple[object, ...]:
        return (
            [a.to_record() for a in library.actions()],
            [a.name for a in library.search("act ball 7", k=5)],
            [(t.name, t.description, t.args) for t in library.as_tools(None)],
            export_openai(library),
            export_python(library),
        )

    assert lib.release_view() is not None
    before = answers(ActionLibrary(lib.store, lib.prefix))
    for part in ("snapshots", "shards"):
        for item in lib.store.search(lib.ns(part), limit=10_000):
            lib.store.delete(item.namespace, item.key)
    old = ActionLibrary(lib.store, lib.prefix)
    assert old.release_view() is None and answers(old) == before
    old.revise("act1", note="migrated")
    assert old.release_view() is not None
    assert ActionLibrary(lib.store, lib.prefix).get("act1").notes == ("migrated",)


ASYNC_REVISIONS = 500  # per process: 1,000 in all


async def _arevise_many(url: str, prefix: tuple[str, ...], tag: str, start: float) -> None:
    import asyncio

    from langgraph.store.postgres.aio import AsyncPostgresStore

    async with AsyncPostgresStore.from_conn_string(url) as store:
        lib = ActionLibrary(store, prefix)
        while time.time() < start:
            await asyncio.sleep(0.001)
        for i in range(ASYNC_REVISIONS):
            await lib.arevise("go", note=f"{tag}{i}")


def _async_writer(url: str, prefix: tuple[str, ...], tag: str, start: float) -> None:
    import asyncio

    asyncio.run(_arevise_many(url, prefix, tag, start))


def test_two_processes_revising_through_the_async_library_lose_nothing(
    lib: ActionLibrary, pg_url: str, prefix: tuple[str, ...]
) -> None:
    from learnact_langgraph.library_locks import AsyncPostgresLocker, default_locker

    lib.add("def go(src, dst):\n    return move(src, dst)\n")
    ctx = mp.get_context("spawn")
    start = time.time() + 2.0
    procs = [ctx.Process(target=_async_writer, args=(pg_url, prefix, t, start)) for t in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    final = lib.get("go")
    assert final.version == 1 + 2 * ASYNC_REVISIONS
    assert sorted(final.notes) == sorted(f"{t}{i}" for t in "ab" for i in range(ASYNC_REVISIONS))

    import asyncio

    from langgraph.store.postgres.aio import AsyncPostgresStore

    async def kind() -> bool:
        async with AsyncPostgresStore.from_conn_string(pg_url) as store:
            return isinstance(default_locker(store), AsyncPostgresLocker)

    assert asyncio.run(kind())
