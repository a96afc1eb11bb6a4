"""Latency of the action library at 100, 1,000 and 10,000 actions, against its targets.

For each store (InMemoryStore, SqliteStore) a library of each size is filled with one
release, then we time, per operation (median ms of a few runs, the sizes taking turns
run by run, so the growth from 1,000 to 10,000 is measured side by side):

* ``add``: one more action published on its own (lock, compare-and-set, snapshot
  shard, new release);
* ``get``: the released version of a random action;
* ``search p50``: top-5 for a short query (keyword ranking through the release's
  inverted index: neither store has a vector index here);
* ``as_tools warm``: every released action (and the 3 base actions) as tools, in a
  process that built them before (the case of every later episode);
* ``as_tools cold``: the same from a fresh ``ActionLibrary`` with every cache cleared
  (snapshot read, actions restored, tool templates built);
* ``export json|python|openai|mcp``: each export format of ``learnact library export``
  from a fresh ``ActionLibrary`` with every cache cleared, as the CLI runs it.
* ``import json``: ``learnact library import`` of the JSON export into a new, empty
  store of the same kind, every cache cleared (each version is validated, checked by
  the gate and written with the release's snapshot); no target, growth shown.
* ``floor: format + join``: no library code, the memory floor of the Python export.
  A plain loop formats the same five fields of each released record (plain dicts,
  copied once) the way the export does and joins the strings. Its growth from 1,000
  to 10,000 is what the machine's caches alone add to a pass over every record; not
  judged.
* ``sandbox load`` (InMemoryStore only, ``--sandbox``): the part of
  ``as_tools(sandbox)`` that is not the library's: the sandbox checking and loading
  every action's source (``ToolSession.open``), on a generated gripper problem.

The table gives each size, the target at 10,000 actions and the growth from 1,000 to
10,000 (target: at most 12x, i.e. close to linear or better).

Run: ``.venv/bin/python benchmarks/bench_library.py`` (a few minutes);
``--sizes 1000,10000``, ``--stores memory``, ``--sandbox`` to choose.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.store.sqlite import SqliteStore

from learnact_langgraph.envs.base import BaseAction, Param
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.library_cache import clear_action_cache
from learnact_langgraph.library_export import (
    export_manifest,
    export_openai,
    export_python,
    import_manifest,
)
from learnact_langgraph.tools.schema import clear_schema_cache

BASE = [
    BaseAction("move", (Param("room1"), Param("room2")), "Move between rooms."),
    BaseAction("pick", (Param("obj"), Param("room"), Param("gripper")), "Pick up a ball."),
    BaseAction("drop", (Param("obj"), Param("room"), Param("gripper")), "Drop a ball."),
]
VERBS = ["carry", "stack", "fetch", "deliver", "clear", "sort", "swap", "collect", "inspect"]
THINGS = ["ball", "block", "cup", "tyre", "shaker", "room", "gripper", "tower", "glass"]
QUERIES = ["carry a ball to a room", "stack blocks into a tower", "clean the shaker", "swap cups"]
REPEATS = {"add": 20, "get": 200, "search": 20, "tools": 9, "export": 7, "import": 3}
TARGETS_MS = {
    "search p50": 10.0,
    "as_tools warm": 200.0,
    "export json": 2000.0,
    "export python": 2000.0,
    "export openai": 2000.0,
    "export mcp": 2000.0,
}
MAX_GROWTH = 12.0
PREFIX = ("bench",)


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


STORES: dict[str, Callable[[], AbstractContextManager[BaseStore]]] = {
    "memory": memory_store,
    "sqlite": sqlite_store,
}


def _side_by_side(fns: dict[int, Callable[[int], object]], repeats: int) -> dict[int, float]:
    """Median milliseconds of each size's ``fn(i)`` over ``repeats`` runs, the sizes
    taking turns run by run (the order rotating), so load on the machine falls on
    every size alike and the growth from one to the next is measured side by side.

    The result is freed after the clock stops: freeing 10,000 tools is the caller's
    cost whenever it drops them, and inside the timing it measured the allocator's
    cache behaviour more than the library.
    """
    samples: dict[int, list[float]] = {n: [] for n in fns}
    sizes = list(fns)
    for i in range(repeats):
        shift = i % len(sizes)
        for n in sizes[shift:] + sizes[:shift]:
            start = time.perf_counter()
            result = fns[n](i)
            samples[n].append((time.perf_counter() - start) * 1000)
            del result
    return {n: statistics.median(v) for n, v in samples.items()}


def _cold(store: BaseStore) -> ActionLibrary:
    """A library as a new process sees it: no snapshot, parsed action or schema cached."""
    clear_action_cache()
    clear_schema_cache()
    return ActionLibrary(store, PREFIX)


def _export(write: Callable[[ActionLibrary], str], filled: Filled, _: int) -> str:
    return write(_cold(filled.store))


def _import(store_name: str, text: str, _: int) -> None:
    clear_action_cache()
    with STORES[store_name]() as store:
        import_manifest(ActionLibrary(store, PREFIX), text)


def _format_and_join(records: list[dict[str, object]], _: int) -> str:
    """The Python export's pass over the records with no library code in it."""
    return "".join(
        f"\n\n# {r['name']} v{r['version']}: {r['description']}\n{r['source']}"
        f"{r['name']!r}: {{'version': {r['version']!r}, 'signature': {r['signature']!r}}}"
        for r in records
    )


def _plain_records(lib: ActionLibrary) -> list[dict[str, object]]:
    view = lib.release_view()
    assert view is not None, "the benchmark's release has a snapshot"
    return [dict(r) for r in view.records()]


def _sandbox_load_ms(lib: ActionLibrary) -> float:
    """Milliseconds the sandbox takes to check and load the release (library part excluded)."""
    from learnact_langgraph.envs.pddl import load_env
    from learnact_langgraph.sandbox import Sandbox
    from learnact_langgraph.tools.learned import ToolSession

    env = load_env("gripper", tasks="generated", n=1, size=4, seed=0)
    env.reset(0)
    sources = {a.name: a.source for a in lib.actions()}
    with Sandbox(env) as sandbox:
        session = ToolSession(sandbox, sources)
        start = time.perf_counter()
        session.open()
        return (time.perf_counter() - start) * 1000


@dataclass
class Filled:
    """A library filled with ``n`` actions in one release, and what its timings draw on."""

    store: BaseStore
    lib: ActionLibrary
    names: list[str]
    extra: Iterator[int]
    rng: random.Random

    def add(self, _: int) -> object:
        source, description = _source(next(self.extra))
        return self.lib.add(source, description=description)


def _filled(store: BaseStore, n: int) -> tuple[Filled, float]:
    """``store`` filled with ``n`` actions, and the seconds that took."""
    lib = ActionLibrary(store, PREFIX, base_actions=BASE)
    start = time.perf_counter()
    with lib.release(message="fill") as rel:
        for i in range(n):
            source, description = _source(i)
            rel.add(source, description=description)
    took = time.perf_counter() - start
    return Filled(store, lib, lib.names(), iter(range(n, n + 10_000)), random.Random(n)), took


def measure(store_name: str, sizes: list[int], sandbox: bool) -> dict[int, dict[str, float]]:
    """Every operation at every size: the libraries are filled first, then each
    operation is timed at all sizes side by side (see :func:`_side_by_side`)."""
    from learnact_langgraph.mcp_server import mcp_manifest

    exports: dict[str, Callable[[ActionLibrary], str]] = {
        "json": export_manifest,
        "python": export_python,
        "openai": export_openai,
        "mcp": lambda lib: mcp_manifest(lib, env="gripper"),
    }
    results: dict[int, dict[str, float]] = {n: {} for n in sizes}
    with ExitStack() as stack:
        libs: dict[int, Filled] = {}
        for n in sizes:
            libs[n], results[n]["fill (one release, s)"] = _filled(
                stack.enter_context(STORES[store_name]()), n
            )

        def timed(op: str, fn: Callable[[Filled, int], object], repeats: int) -> None:
            per_size = {n: partial(fn, f) for n, f in libs.items()}
            for n, ms in _side_by_side(per_size, repeats).items():
                results[n][op] = ms

        timed("add", Filled.add, REPEATS["add"])
        timed("get", lambda f, _: f.lib.get(f.rng.choice(f.names)), REPEATS["get"])
        timed(
            "search p50", lambda f, i: f.lib.search(QUERIES[i % len(QUERIES)], 5), REPEATS["search"]
        )
        timed("as_tools cold", lambda f, _: _cold(f.store).as_tools(None), REPEATS["tools"])
        for f in libs.values():
            f.lib.as_tools(None)
        timed("as_tools warm", lambda f, _: f.lib.as_tools(None), REPEATS["tools"])
        for fmt, write in exports.items():
            timed(f"export {fmt}", partial(_export, write), REPEATS["export"])
        plain = {n: partial(_format_and_join, _plain_records(f.lib)) for n, f in libs.items()}
        for n, ms in _side_by_side(plain, REPEATS["export"]).items():
            results[n]["floor: format + join"] = ms
        del plain
        for f in libs.values():
            assert len(f.lib.as_tools(None)) == len(f.names) + REPEATS["add"] + len(BASE)
        texts = {n: export_manifest(f.lib) for n, f in libs.items()}
        per_size = {n: partial(_import, store_name, text) for n, text in texts.items()}
        for n, ms in _side_by_side(per_size, REPEATS["import"]).items():
            results[n]["import json"] = ms
        if sandbox and store_name == "memory":
            for n, f in libs.items():
                try:
                    results[n]["sandbox load (not library)"] = _sandbox_load_ms(f.lib)
                except Exception as exc:  # the sandbox is not this benchmark's subject
                    print(f"sandbox load not measured: {exc}", file=sys.stderr)
    return results


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="comma-separated sizes")
    parser.add_argument("--stores", default="memory,sqlite", help="memory, sqlite or both")
    parser.add_argument("--sandbox", action="store_true", help="also time the sandbox load")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    stores = [s for s in args.stores.split(",") if s]
    results: dict[tuple[str, int], dict[str, float]] = {}
    for store_name in stores:
        for n, result in measure(store_name, sizes, args.sandbox).items():
            results[store_name, n] = result
        print(f"done: {store_name}", file=sys.stderr)
    top = max(sizes)
    print(f"\nActionLibrary, median ms per call (Python {sys.version.split()[0]})")
    header = (
        f"{'operation':<28} | {'store':<6} | "
        + " | ".join(f"{n:>9,}" for n in sizes)
        + f" | {'target@' + format(top, ','):>13} | {'1k->10k':>8} | ok"
    )
    print(header)
    print("-" * len(header))
    ops = list(dict.fromkeys(op for r in results.values() for op in r))
    failures = 0
    for op in ops:
        for store_name in stores:
            row = [results[store_name, n].get(op) for n in sizes]
            if all(v is None for v in row):
                continue
            target = TARGETS_MS.get(op) if store_name == "memory" else None
            small = results.get((store_name, 1_000), {}).get(op)
            large = results.get((store_name, 10_000), {}).get(op)
            growth = large / small if small and large else None
            checks = []
            if target is not None and row[-1] is not None:
                checks.append(row[-1] <= target)
            if growth is not None and op in TARGETS_MS:
                checks.append(growth <= MAX_GROWTH)
            verdict = "" if not checks else ("yes" if all(checks) else "NO")
            failures += verdict == "NO"
            print(
                f"{op:<28} | {store_name:<6} | "
                + " | ".join(f"{_cell(v):>9}" for v in row)
                + f" | {_cell(target):>13} | "
                + (f"{growth:>7.1f}x" if growth is not None else f"{'-':>8}")
                + f" | {verdict}"
            )
    print(
        f"\ntargets (InMemoryStore, {top:,} actions): search <= 10 ms, as_tools warm <= 200 ms, "
        f"every export <= 2 s; growth 1k->10k <= {MAX_GROWTH:g}x. Missed: {failures}."
    )


if __name__ == "__main__":
    main()
