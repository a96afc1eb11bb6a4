"""Storage under faults: a bench killed mid-write, and a SQLite library under concurrency.

The JSONL tests tear the results file the way a killed bench does (a partial last
line) or corrupt a line in the middle, then check that no complete record is lost,
that the torn bytes are logged, and that the report warns once per unreadable line.

The SQLite test starts ``WRITERS`` processes that open one library file through
:func:`open_library` (the path every CLI command takes) and each publish
``UPDATES_PER_WRITER`` actions and as many delta revisions of one shared action,
while ``READERS`` processes run the real ``learnact library ls`` in a loop. Afterwards
every writer's update must be in the library and no reader may have printed a
traceback or failed because the file was locked.
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from learnact_langgraph.bench.report import load_report, render_markdown
from learnact_langgraph.bench.store import DROPPED_SUFFIX, EPISODES, ResultStore

SEED = 20240611
WRITERS = 8
READERS = 4
UPDATES_PER_WRITER = 8
TORN_RECORDS = 5
READER_RUNS_MAX = 6
#: Writers pause up to this long between updates, so the readers run among the writes.
WRITER_PAUSE_S = 0.3
PREFIX = "learnact/gripper"
SHARED = "shared"
SUBPROCESS_TIMEOUT_S = 45


# ----- JSONL ----------------------------------------------------------------------------
def _episode(task: int, repeat: int = 0) -> dict[str, Any]:
    return {
        "method": "act",
        "domain": "gripper",
        "task_id": f"gripper/{task}",
        "split": "test",
        "repeat": repeat,
        "settings_hash": "h1",
        "success": task % 2 == 0,
        "progress": 0.5,
        "steps": 3,
        "valid_share": 1.0,
        "seconds": 1.0,
        "usage": {"calls": 2, "input_tokens": 10, "output_tokens": 1, "seconds": 0.1},
    }


def _results(tmp_path: Path) -> ResultStore:
    store = ResultStore(tmp_path)
    store.record_run("h1", {"settings": {"k": 1}, "models": {"agent": "m"}}, {"argv": []})
    return store


def test_a_torn_last_line_is_repaired_logged_and_nothing_complete_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _results(tmp_path)
    for task in range(TORN_RECORDS):
        store.add_episode(_episode(task))
    fragment = json.dumps(_episode(99))[:37]
    with (tmp_path / EPISODES).open("a", encoding="utf-8") as fh:
        fh.write(fragment)  # the bench was killed here
    with caplog.at_level(logging.WARNING, logger="learnact_langgraph.bench.store"):
        for task in range(TORN_RECORDS, 2 * TORN_RECORDS):
            store.add_episode(_episode(task))
    assert sorted(e["task_id"] for e in store.episodes()) == sorted(
        f"gripper/{t}" for t in range(2 * TORN_RECORDS)
    )
    assert store.problems() == []
    assert (tmp_path / EPISODES).read_text(encoding="utf-8").endswith("}\n")
    dropped = (tmp_path / (EPISODES + DROPPED_SUFFIX)).read_text(encoding="utf-8").splitlines()
    assert len(dropped) == 1
    entry = json.loads(dropped[0])
    assert entry["dropped"] == fragment and entry["file"] == EPISODES
    assert entry["offset"] > 0 and entry["at"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "torn" in warnings[0].getMessage()


def test_a_corrupt_line_in_the_middle_makes_the_report_warn_once(tmp_path: Path) -> None:
    store = _results(tmp_path)
    for task in range(TORN_RECORDS):
        store.add_episode(_episode(task))
    path = tmp_path / EPISODES
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2][:20] + "\x00garbage\n"
    path.write_text("".join(lines), encoding="utf-8")
    store.add_episode(_episode(TORN_RECORDS))
    data = load_report(tmp_path)
    assert len(data.problems) == 1 and "line 3" in data.problems[0]
    text = render_markdown(data)
    assert text.count("could not be read") == 1 and f"{EPISODES} line 3" in text
    # a second read of the same store must not repeat the warning
    assert len(load_report(tmp_path).problems) == 1


def test_a_torn_line_glued_by_an_old_writer_is_reported_not_skipped(tmp_path: Path) -> None:
    store = _results(tmp_path)
    store.add_episode(_episode(0))
    glued = json.dumps(_episode(1))[:30] + json.dumps(_episode(2)) + "\n"
    with (tmp_path / EPISODES).open("a", encoding="utf-8") as fh:
        fh.write(glued)
    data = load_report(tmp_path)
    assert [p.split(":")[0] for p in data.problems] == [f"{EPISODES} line 2"]
    assert "could not be read" in render_markdown(data)


# ----- SQLite ---------------------------------------------------------------------------
_WRITER = """
import random, sys, time
from pathlib import Path
from learnact_langgraph.cli.stores import open_library

path, prefix, shared, wid, n, seed, go, PAUSE = sys.argv[1:9]
PAUSE = float(PAUSE)
wid, n = int(wid), int(n)
rng = random.Random(int(seed) * 1000 + wid)
Path(f"{go}.ready{wid}").touch()
while not Path(go).exists():
    time.sleep(0.01)
for j in range(n):
    with open_library(path, prefix, "create") as lib:
        lib.add(f"def w{wid}_{j}(src, dst):\\n    return move(src, dst)\\n",
                description=f"writer {wid} update {j}")
    time.sleep(rng.random() * PAUSE)
    with open_library(path, prefix, "create") as lib:
        lib.revise(shared, note=f"w{wid}-{j}")
"""


def _learnact() -> list[str]:
    script = Path(sys.executable).with_name("learnact")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from learnact_langgraph.cli import main; main()"]


def _seed_library(path: Path) -> None:
    from learnact_langgraph.cli.stores import open_library
    from learnact_langgraph.envs.base import BaseAction, Param

    with open_library(str(path), PREFIX, "create") as lib:
        lib.set_base_actions([BaseAction("move", (Param("src"), Param("dst")), "Move.")])
        lib.add(f"def {SHARED}(src, dst):\n    return move(src, dst)\n", description="Shared.")


def run_contention(
    path: Path,
    writers: int,
    readers: int,
    updates: int,
    reader_runs: int,
    seed: int,
    timeout_s: float = SUBPROCESS_TIMEOUT_S,
) -> dict[str, Any]:
    """Run the writers and readers against ``path``; the counts a test or soak checks.

    A writer still running after ``timeout_s`` is killed and counts as a failure.
    """
    _seed_library(path)
    go = path.with_suffix(".go")
    env = {**os.environ, "LEARNACT_LIBRARY": str(path)}
    env.pop("LEARNACT_LIBRARY_PREFIX", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), PREFIX, SHARED, str(w), str(updates)]
            + [str(seed), str(go), str(WRITER_PAUSE_S)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(writers)
    ]
    deadline = time.monotonic() + timeout_s
    while sum(Path(f"{go}.ready{w}").exists() for w in range(writers)) < writers:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            break
        time.sleep(0.02)
    go.touch()
    reader_results: list[tuple[int, str]] = []

    def read(index: int) -> None:
        rng = random.Random(seed + index)
        for _ in range(reader_runs):
            done = procs_done()
            try:
                proc = subprocess.run(
                    [*_learnact(), "library", "ls", "--store", str(path), "--json"],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=timeout_s,
                )
            except subprocess.TimeoutExpired:
                reader_results.append((-1, f"reader killed after {timeout_s:.0f} s"))
                return
            reader_results.append((proc.returncode, proc.stdout + proc.stderr))
            if done or time.monotonic() > deadline:
                return
            time.sleep(rng.random() * 0.05)

    def procs_done() -> bool:
        return all(p.poll() is not None for p in procs)

    threads = [threading.Thread(target=read, args=(r,)) for r in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer_results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            err += f"\nwriter killed after {timeout_s:.0f} s"
        writer_results.append((p.returncode, out + err))
    from learnact_langgraph.cli.stores import open_library

    with open_library(str(path), PREFIX, "read") as lib:
        names = set(lib.names())
        notes = set(lib.get(SHARED).notes)
    expected_names = {f"w{w}_{j}" for w in range(writers) for j in range(updates)}
    expected_notes = {f"w{w}-{j}" for w in range(writers) for j in range(updates)}
    return {
        "lost": len(expected_names - names) + len(expected_notes - notes),
        "writer_failures": [o for rc, o in writer_results if rc != 0],
        "reader_runs": len(reader_results),
        "tracebacks": sum("Traceback" in o for _, o in reader_results + writer_results),
        "reader_failures": [o for rc, o in reader_results if rc != 0],
    }


def test_writers_and_readers_share_a_sqlite_library_without_losing_anything(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    counts = run_contention(
        tmp_path / "lib.db", WRITERS, READERS, UPDATES_PER_WRITER, READER_RUNS_MAX, SEED
    )
    print(f"contention: {counts} in {time.monotonic() - started:.1f}s")
    assert counts["writer_failures"] == []
    assert counts["lost"] == 0
    assert counts["tracebacks"] == 0
    assert counts["reader_failures"] == []
    assert counts["reader_runs"] >= READERS
