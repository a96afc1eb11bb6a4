"""Latency of the action library at 100, 1,000 and 10,000 actions: InMemoryStore vs SqliteStore.

For each size the library is filled with one release, then we time, per operation:

* ``add``: one more action published on its own (lock, compare-and-set, new release);
* ``get``: the released version of a random action (pointer, head, version record);
* ``search``: top-5 for a short query (keyword ranking: neither store has a vector index
  here, see ``ActionLibrary.search``);
* ``as_tools``: every released action (and the 3 base actions) as StructuredTools,
  cold (argument models built) and warm (models cached, the case of every later
  episode).

Run: ``.venv/bin/python benchmarks/bench_library.py`` (about two minutes).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.store.sqlite import SqliteStore

from learnact_langgraph.envs.base import BaseAction, Param
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.tools.schema import clear_schema_cache

SIZES = (100, 1_000, 10_000)
BASE = [
    BaseAction("move", (Param("room1"), Param("room2")), "Move between rooms."),
    BaseAction("pick", (Param("obj"), Param("room"), Param("gripper")), "Pick up a ball."),
    BaseAction("drop", (Param("obj"), Param("room"), Param("gripper")), "Drop a ball."),
]
VERBS = ["carry", "stack", "fetch", "deliver", "clear", "sort", "swap", "collect", "inspect"]
THINGS = ["ball", "block", "cup", "tyre", "shaker", "room", "gripper", "tower", "glass"]
QUERIES = ["carry a ball to a room", "stack blocks into a tower", "clean the shaker", "swap cups"]
REPEATS = {"add": 20, "get": 200, "search": 10, "as_tools": 3}


def _source(i: int) -> tuple[str, str]:
    verb, thing = VERBS[i % len(VERBS)], THINGS[(i // len(VERBS)) % len(THINGS)]
    name = f"{verb}_{thing}_{i}"
    source = f"def {name}(obj: str, src: str, dst: str = 'roomb'):\n"
    source += "    pick(obj, src, 'left')\n    move(src, dst)\n    return drop(obj, dst, 'left')\n"
    return source, f"{verb.capitalize()} a {thing} from src to dst (variant {i})."


@contextmanager
def memory_store() -> Iterator[BaseStore]:
    yield InMemoryStore()


@contextmanager
def sqlite_store() -> Iterator[BaseStore]:
    with tempfile.TemporaryDirectory() as tmp:
        with SqliteStore.from_conn_string(str(Path(tmp) / "lib.db")) as store:
            store.setup()
            yield store


def _timed(fn: Callable[[int], object], repeats: int) -> float:
    """Median milliseconds of ``fn(i)`` over ``repeats`` runs."""
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def measure(make: Callable[[], object], n: int) -> dict[str, float]:
    rng = random.Random(n)
    with make() as store:  # type: ignore[attr-defined]
        lib = ActionLibrary(store, ("bench",), base_actions=BASE)
        start = time.perf_counter()
        with lib.release(message="fill") as rel:
            for i in range(n):
                source, description = _source(i)
                rel.add(source, description=description)
        fill_s = time.perf_counter() - start
        names = lib.names()
        extra = iter(range(n, n + 10_000))

        def add(_: int) -> object:
            source, description = _source(next(extra))
            return lib.add(source, description=description)

        def cold_tools(_: int) -> object:
            clear_schema_cache()
            return lib.as_tools(None)

        result = {
            "fill (one release, s)": fill_s,
            "add": _timed(add, REPEATS["add"]),
            "get": _timed(lambda _: lib.get(rng.choice(names)), REPEATS["get"]),
            "search": _timed(lambda i: lib.search(QUERIES[i % len(QUERIES)], 5), REPEATS["search"]),
            "as_tools (cold)": _timed(cold_tools, REPEATS["as_tools"]),
            "as_tools (warm)": _timed(lambda _: lib.as_tools(None), REPEATS["as_tools"]),
        }
        assert len(lib.as_tools(None)) == len(names) + REPEATS["add"] + len(BASE)
        return result


def main() -> None:
    stores = {"InMemoryStore": memory_store, "SqliteStore": sqlite_store}
    rows = []
    for n in SIZES:
        results = {label: measure(make, n) for label, make in stores.items()}
        for op in results["InMemoryStore"]:
            mem, sql = results["InMemoryStore"][op], results["SqliteStore"][op]
            rows.append((n, op, mem, sql, sql / mem if mem else float("nan")))
        print(f"done: {n} actions", file=sys.stderr)
    print(f"\nActionLibrary latency, median ms per call (Python {sys.version.split()[0]})")
    header = (
        f"{'actions':>8} | {'operation':<22} | {'InMemoryStore':>14} | "
        f"{'SqliteStore':>12} | {'Sqlite/InMemory':>15}"
    )
    print(header)
    print("-" * len(header))
    for n, op, mem, sql, ratio in rows:
        print(f"{n:>8} | {op:<22} | {mem:>14.3f} | {sql:>12.3f} | {ratio:>14.2f}x")


if __name__ == "__main__":
    main()
