"""Run checkpoints on a real PostgreSQL server (``.ci/setup-postgres`` starts one).

``learnact db setup`` creates the tables once (and again changes nothing); ``learnact
learn --checkpoint URL`` refuses a database without them in one sentence; and a run
SIGKILLed in one process is resumed by another, by its settings or by ``--thread``.
Each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.integration

#: Each scripted model call waits this long, so a run lasts long enough to be killed
#: mid-way (a whole run of LEARN is about 60 calls deep, 10-15 s).
SLOW_MODEL = "scripted:500ms"
LEARN = ["learn", "-d", "gripper", "--model", SLOW_MODEL, "--tasks", "generated"]
LEARN += ["--k", "2", "--rounds", "1"]
#: Seconds to wait for a run to reach the point where it is killed, or to finish.
WAIT_S = 180


@pytest.fixture
def db_url(pg_url: str) -> Iterator[str]:
    """A URL to a new, empty database on the test server, dropped after the test."""
    import psycopg

    name = f"cp_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(urlsplit(pg_url)._replace(path=f"/{name}"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _learnact() -> list[str]:
    script = Path(sys.executable).with_name("learnact")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from learnact_langgraph.cli import main; main()"]


def _env() -> dict[str, str]:
    """The environment without the user's learnact settings, with wide lines."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith("LEARNACT_")}
    return {**keep, "COLUMNS": "400", "NO_COLOR": "1"}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_learnact(), *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )


def _flat(text: str) -> str:
    return " ".join(text.split())


def _steps(url: str, thread: str | None = None) -> dict[str, int]:
    """The latest superstep checkpointed per thread (only ``thread`` if given)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT thread_id, max((metadata->>'step')::int) FROM checkpoints "
            "WHERE %(t)s::text IS NULL OR thread_id = %(t)s GROUP BY thread_id",
            {"t": thread},
        ).fetchall()
    return {str(t): int(s) for t, s in rows}


def _learn_until_killed(args: list[str], cwd: Path, url: str, step: int) -> tuple[str, str]:
    """Start ``learnact learn``, SIGKILL it once a thread has checkpointed superstep
    ``step``; its output and the thread. Fails if the run ends before it is killed."""
    proc = subprocess.Popen(
        [*_learnact(), *args],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + WAIT_S
    thread = None
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            reached = [t for t, s in _steps(url).items() if s >= step]
            if reached:
                thread = reached[0]
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None and thread is None:
            proc.kill()
        out, _ = proc.communicate(timeout=30)
    assert thread is not None, f"the run ended before it was killed:\n{out[-3000:]}"
    assert proc.returncode == -signal.SIGKILL, out[-3000:]
    assert "published" not in out
    assert step <= _steps(url, thread)[thread], "the killed run's checkpoint is gone"
    return out, thread


def _published(store: Path) -> tuple[int, list[str]]:
    from learnact_langgraph.cli.stores import open_library

    with open_library(str(store), "learnact/gripper", "read") as lib:
        publishes = [r for r in lib.releases() if r.kind == "publish"]
        return len(publishes), [a.name for a in lib.actions()]


def test_db_setup_creates_the_tables_once_and_again_changes_nothing(
    db_url: str, tmp_path: Path
) -> None:
    import psycopg

    for _ in range(2):
        result = _run(["db", "setup", db_url], tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().count("\n") == 0
        assert "is ready" in result.stdout
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT to_regclass('checkpoints'), to_regclass('checkpoint_writes'), "
            "to_regclass('store')"
        ).fetchone()
    assert row is not None and None not in row


def test_learn_on_a_database_without_tables_names_db_setup(db_url: str, tmp_path: Path) -> None:
    result = _run([*LEARN, "--store", str(tmp_path / "lib.db"), "--checkpoint", db_url], tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"run `learnact db setup {db_url}` once" in lines[0]
    assert not (tmp_path / "lib.db").exists()


def test_a_killed_run_is_resumed_by_another_process(db_url: str, tmp_path: Path) -> None:
    assert _run(["db", "setup", db_url], tmp_path).returncode == 0
    store = tmp_path / "lib.db"
    args = [*LEARN, "--store", str(store), "--checkpoint", db_url]
    # Superstep 5 ends the first evaluation: its episodes are in the checkpoint.
    first, thread = _learn_until_killed(args, tmp_path, db_url, step=5)
    assert f"checkpointing run {thread} in {db_url}" in _flat(first)

    resumed = _run(args, tmp_path)
    out = _flat(resumed.stdout)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    found = re.search(rf"resuming the unfinished run {thread} from \S+ .*?(\d+) training", out)
    assert found, out
    assert int(found.group(1)) > 0, "the resumed run did its training episodes again"
    assert "checkpointing run" not in out
    assert "published" in out
    count, actions = _published(store)
    assert count == 1 and actions
    assert _steps(db_url) == {}, "a finished run deletes its thread"


def test_a_run_is_resumed_by_thread_id_with_another_store(db_url: str, tmp_path: Path) -> None:
    assert _run(["db", "setup", db_url], tmp_path).returncode == 0
    here, there = tmp_path / "here.db", tmp_path / "there.db"
    base = [*LEARN, "--checkpoint", db_url, "--thread", "my-run"]
    first, thread = _learn_until_killed([*base, "--store", str(here)], tmp_path, db_url, step=1)
    assert thread == "my-run"
    assert "checkpointing run my-run in" in _flat(first)

    # Another machine: its own library file, so the settings give another thread id.
    resumed = _run([*base, "--store", str(there)], tmp_path)
    out = _flat(resumed.stdout)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming the unfinished run my-run from {db_url}" in out
    assert _published(there)[0] == 1
    assert _steps(db_url) == {}


def test_a_bench_keeps_its_learning_runs_on_postgresql(db_url: str, tmp_path: Path) -> None:
    """``bench --checkpoint-url`` checkpoints its learning runs there, not in its folder,
    and a finished bench leaves no thread behind."""
    import psycopg

    args = ["bench", "--method", "learnact", "--domain", "gripper", "--tasks", "generated"]
    args += ["--tasks-per-domain", "1", "--model", "scripted", "--k", "2", "--rounds", "1"]
    args += ["--no-report", "--out", "out", "--checkpoint-url", db_url]
    refused = _run(args, tmp_path)  # the database is used: it has no tables yet
    assert refused.returncode == 2 and "learnact db setup" in refused.stderr + refused.stdout
    assert _run(["db", "setup", db_url], tmp_path).returncode == 0
    done = _run(args, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "out" / "checkpoints.sqlite").exists()
    with psycopg.connect(db_url) as conn:
        written = conn.execute("SELECT count(*) FROM checkpoint_migrations").fetchone()
        left = conn.execute("SELECT count(*) FROM checkpoints").fetchone()
    assert written and written[0] > 0
    assert left == (0,)  # the learning run finished and deleted its thread
