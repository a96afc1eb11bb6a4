"""A SQLite library file that another process holds: wait it out, or say so in one line."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from langgraph.store.sqlite import SqliteStore
from typer.testing import CliRunner

from learnact_langgraph import sqlite_retry
from learnact_langgraph.cli import app
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.sqlite_retry import is_busy, retry_busy

from .conftest import BASE, GO

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A library in a rollback-journal file, where a writer's lock blocks readers."""
    path = tmp_path / "lib.db"
    monkeypatch.setenv("LEARNACT_LIBRARY", str(path))
    monkeypatch.delenv("LEARNACT_LIBRARY_PREFIX", raising=False)
    monkeypatch.setattr(sqlite_retry, "BUSY_TIMEOUT_S", 0.05)
    with SqliteStore.from_conn_string(str(path)) as store:
        store.setup()
        ActionLibrary(store, ("learnact", "gripper"), base_actions=BASE).add(GO)
    return path


@contextmanager
def _hold(path: Path, seconds: float | None = None) -> Iterator[None]:
    """Keep an exclusive lock on ``path`` from another thread.

    With ``seconds`` the lock goes after that long, whatever the block is doing; without,
    it lasts until the block ends, so a slow machine cannot let it lapse too early.
    """
    taken = threading.Event()
    release = threading.Event()

    def run() -> None:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN EXCLUSIVE")
        taken.set()
        release.wait(seconds)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert taken.wait(5), "the lock holder never took the lock"
    try:
        yield
    finally:
        release.set()
        thread.join()


def _busy_error() -> sqlite3.OperationalError:
    return sqlite3.OperationalError("database is locked")


def test_retry_busy_retries_only_busy_errors_and_gives_up_after_its_budget() -> None:
    calls: list[int] = []
    undone: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _busy_error()
        return "ok"

    assert retry_busy(flaky, before_retry=lambda: undone.append(1)) == "ok"
    assert (len(calls), len(undone)) == (3, 2)

    def broken() -> None:
        calls.append(1)
        raise sqlite3.OperationalError("no such table: store")

    calls.clear()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_busy(broken)
    assert len(calls) == 1

    def always_busy() -> None:
        raise _busy_error()

    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError) as info:
        retry_busy(always_busy, budget_s=0.2)
    assert is_busy(info.value) and time.monotonic() - started < 2


def test_ls_waits_out_a_writer_holding_the_file(db: Path) -> None:
    with _hold(db, 0.6):
        result = runner.invoke(app, ["library", "ls"])
    assert result.exit_code == 0, result.output
    assert "release 1, 1 actions" in result.output


def test_a_file_locked_past_the_budget_is_one_sentence_and_exit_2(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_retry, "BUSY_BUDGET_S", 0.3)
    with _hold(db):
        result = runner.invoke(app, ["library", "ls"])
        rollback = runner.invoke(app, ["library", "rollback", "--release", "0"])
    for out in (result, rollback):
        assert out.exit_code == 2, out.output
        assert "stayed locked by another process" in out.output
        assert "Traceback" not in out.output and "damaged" not in out.output


def test_a_write_switches_the_file_to_wal_and_reads_still_work(db: Path) -> None:
    result = runner.invoke(app, ["library", "rollback", "--release", "0"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(str(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    listed = runner.invoke(app, ["library", "ls"])
    assert listed.exit_code == 0 and "release 2, 0 actions" in listed.output
