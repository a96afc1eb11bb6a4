"""The async library: every method has a twin, and async stores serialise writers.

Two processes revise one action through ``arevise`` on one ``AsyncSqliteStore`` file
and lose nothing (the PostgreSQL twin is in ``tests/integration_tests``).
"""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing as mp
import time
from pathlib import Path

from langgraph.store.memory import InMemoryStore
from langgraph.store.sqlite.aio import AsyncSqliteStore

from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.library_locks import AsyncSqliteLocker, default_locker

from .conftest import BASE, GO

REVISIONS = 500  # per process: 1,000 in all


def test_every_public_method_has_an_async_twin() -> None:
    names = {n for n, _ in inspect.getmembers(ActionLibrary) if not n.startswith("_")}
    twins = {n for n in names if n.startswith("a") and n[1:] in names} | {"alen", "acontains"}
    pure = {"ns", "catalog_text", "has_index"}  # read no store
    missing = {n for n in names - twins - pure if f"a{n}" not in names}
    assert missing == set()
    assert {"aactions", "aadd", "aas_tools", "arelease", "arevise", "asearch"} <= twins


async def _use(path: Path) -> list[str]:
    async with AsyncSqliteStore.from_conn_string(str(path)) as store:
        await store.setup()
        lib = ActionLibrary(store, ("async",))
        assert isinstance(lib.locker, AsyncSqliteLocker)
        await lib.aset_base_actions(BASE)
        await lib.aadd(GO, description="Go to a room.")
        async with lib.arelease(run_id="r1") as rel:
            await rel.add("def hop(a, b):\n    return move(a, b)\n", description="Hop.")
        await lib.arevise("go", note="Robby must be in src.")
        assert await lib.ageneration() == 3 and await lib.alen() == 2
        assert (await lib.aget("go")).notes == ("Robby must be in src.",)
        assert [a.name for a in await lib.asearch("hop")] == ["hop"]
        assert [b.name for b in await lib.abase_actions()] == ["move", "pick", "drop"]
        return await lib.anames()


def test_async_methods_work_on_an_async_sqlite_store(tmp_path: Path) -> None:
    assert asyncio.run(_use(tmp_path / "lib.db")) == ["go", "hop"]
    assert (tmp_path / "lib.db.lock").exists()  # the writers' lock is a file lock


def test_an_in_memory_store_keeps_its_thread_lock() -> None:
    assert not isinstance(default_locker(InMemoryStore()), AsyncSqliteLocker)


async def _revise_many(path: str, tag: str, start: float) -> None:
    async with AsyncSqliteStore.from_conn_string(path) as store:
        lib = ActionLibrary(store, ("async",))
        while time.time() < start:
            await asyncio.sleep(0.001)
        for i in range(REVISIONS):
            await lib.arevise("go", note=f"{tag}{i}")


def _writer(path: str, tag: str, start: float) -> None:
    asyncio.run(_revise_many(path, tag, start))


def test_two_processes_revising_through_the_async_library_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")

    async def seed() -> None:
        async with AsyncSqliteStore.from_conn_string(path) as store:
            await store.setup()
            await ActionLibrary(store, ("async",)).aadd(GO, description="Go.")

    asyncio.run(seed())
    ctx = mp.get_context("spawn")
    start = time.time() + 2.0
    procs = [ctx.Process(target=_writer, args=(path, t, start)) for t in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0

    async def check() -> None:
        async with AsyncSqliteStore.from_conn_string(path) as store:
            lib = ActionLibrary(store, ("async",))
            final = await lib.aget("go")
            assert final.version == 1 + 2 * REVISIONS
            expected = sorted(f"{t}{i}" for t in "ab" for i in range(REVISIONS))
            assert sorted(final.notes) == expected
            history = await lib.ahistory("go")
            assert [v.version for v in history] == list(range(1, 2 + 2 * REVISIONS))

    asyncio.run(check())
