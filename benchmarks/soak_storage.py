"""Soak of the storage fault scenarios at sizes too slow for the test suite.

* ``jsonl torn``: ``CYCLES`` times, a bench "killed" mid-write leaves a random prefix
  of a record at the end of ``episodes.jsonl``, then the next record is appended; every
  complete record must still be read, no line may be unreadable, and every fragment
  must be in ``episodes.jsonl.dropped.jsonl``.
* ``jsonl threads``: ``THREADS`` threads append at once through one ``ResultStore``.
* ``sqlite``: ``WRITERS`` processes publish to one library file through
  ``open_library`` while ``READERS`` processes run ``learnact library ls`` (the same
  scenario as ``tests/faults/test_storage_faults.py``, bigger).

Prints ``scenario | trials | lost | tracebacks | repairs`` and exits 1 if anything was
lost or any traceback was printed. Run: ``.venv/bin/python benchmarks/soak_storage.py``
(a few minutes; ``--quick`` for a smaller run). Not run by ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from learnact_langgraph.bench.store import DROPPED_SUFFIX, EPISODES, ResultStore
from tests.faults.test_storage_faults import run_contention

SEED = 7
CYCLES = 1_000
THREADS = 16
APPENDS_PER_THREAD = 200
WRITERS = 32
READERS = 10
UPDATES_PER_WRITER = 5
READER_RUNS = 20
#: Seconds the SQLite scenario may take before its writers are killed (and counted).
TIMEOUT_S = 900.0


def _episode(task: int) -> dict[str, Any]:
    return {
        "method": "act",
        "domain": "gripper",
        "task_id": f"gripper/{task}",
        "repeat": 0,
        "settings_hash": "soak",
        "success": True,
    }


def soak_torn(root: Path, cycles: int, rng: random.Random) -> dict[str, int]:
    store = ResultStore(root)
    kept = 0
    for cycle in range(cycles):
        store.add_episode(_episode(2 * cycle))
        kept += 1
        line = json.dumps(_episode(2 * cycle + 1))
        with (root / EPISODES).open("a", encoding="utf-8") as fh:
            fh.write(line[: rng.randint(1, len(line) - 1)])
        store.add_episode(_episode(2 * cycle + 2 * cycles))
        kept += 1
    read = len(store.episodes())
    repairs = len((root / (EPISODES + DROPPED_SUFFIX)).read_text().splitlines())
    return {
        "trials": cycles,
        "lost": kept - read + len(store.problems()),
        "tracebacks": 0,
        "repairs": repairs,
    }


def soak_threads(root: Path, threads: int, appends: int) -> dict[str, int]:
    store = ResultStore(root)

    def append(worker: int) -> None:
        for i in range(appends):
            store.add_episode(_episode(worker * appends + i))

    workers = [threading.Thread(target=append, args=(w,)) for w in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    read = len(store.episodes())
    return {
        "trials": threads * appends,
        "lost": threads * appends - read + len(store.problems()),
        "tracebacks": 0,
        "repairs": 0,
    }


def soak_sqlite(root: Path, writers: int, readers: int, updates: int, runs: int) -> dict[str, int]:
    counts = run_contention(root / "lib.db", writers, readers, updates, runs, SEED, TIMEOUT_S)
    failures = counts["writer_failures"] + counts["reader_failures"]
    for text in failures[:3]:
        print(text[-800:], file=sys.stderr)
    return {
        "trials": writers * updates * 2 + counts["reader_runs"],
        "lost": counts["lost"] + len(failures),
        "tracebacks": counts["tracebacks"],
        "repairs": 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    rng = random.Random(SEED)
    rows: list[tuple[str, dict[str, int], float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for name, run in (
            ("jsonl torn", lambda d: soak_torn(d, CYCLES // scale, rng)),
            ("jsonl threads", lambda d: soak_threads(d, THREADS, APPENDS_PER_THREAD // scale)),
            (
                "sqlite",
                lambda d: (
                    soak_sqlite(
                        d, max(4, WRITERS // scale), max(2, READERS // scale), UPDATES_PER_WRITER, 4
                    )
                    if args.quick
                    else soak_sqlite(d, WRITERS, READERS, UPDATES_PER_WRITER, READER_RUNS)
                ),
            ),
        ):
            folder = base / name.replace(" ", "-")
            folder.mkdir()
            started = time.perf_counter()
            rows.append((name, run(folder), time.perf_counter() - started))
    head = f"{'scenario':<14} | {'trials':>6} | {'lost':>4} | {'tracebacks':>10}"
    print(head + " | repairs | seconds")
    print(f"{'-' * 14}-|-{'-' * 6}-|-{'-' * 4}-|-{'-' * 10}-|---------|--------")
    for name, c, seconds in rows:
        print(
            f"{name:<14} | {c['trials']:>6} | {c['lost']:>4} | {c['tracebacks']:>10} "
            f"| {c['repairs']:>7} | {seconds:7.1f}"
        )
    return 1 if any(c["lost"] or c["tracebacks"] for _, c, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
