"""Waiting out a SQLite file that another process holds, instead of failing at once.

Several ``learnact`` processes share one library file: writers publish under the
library's ``flock`` (see :mod:`library_locks`), but store setup and every read run
outside it. SQLite's own busy handler waits only so long, and it is not called at
all when waiting could deadlock (a reader that wants to write, a schema change), so
those fail with ``database is locked`` at once. Here such work is retried with
exponential backoff and jitter for a bounded time, and the connections are put in
WAL mode, where readers and the one writer no longer block each other.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from langgraph.store.base import Op, Result
from langgraph.store.sqlite import SqliteStore

__all__ = [
    "BUSY_BUDGET_S",
    "BUSY_TIMEOUT_S",
    "RetryingSqliteStore",
    "enable_wal",
    "is_busy",
    "retry_busy",
]

T = TypeVar("T")

#: Seconds SQLite's busy handler waits inside one statement (``sqlite3.connect(timeout=)``).
BUSY_TIMEOUT_S = 5.0
#: Seconds of retries in all before the file counts as busy and the command gives up.
BUSY_BUDGET_S = 30.0
FIRST_DELAY_S = 0.02
MAX_DELAY_S = 1.0
_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_BUSY_TEXT = ("database is locked", "database is busy", "database table is locked")


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` only says another connection holds the file (worth a retry)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _BUSY_CODES:
        return True
    return any(text in str(exc) for text in _BUSY_TEXT)


def retry_busy(
    work: Callable[[], T],
    *,
    budget_s: float | None = None,
    before_retry: Callable[[], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """``work()``, retried while it fails with a busy error, for at most ``budget_s``.

    Delays double from :data:`FIRST_DELAY_S` up to :data:`MAX_DELAY_S`, each drawn
    from its upper half, so processes that collided do not collide again in step.
    ``before_retry`` undoes what a failed attempt left (an open transaction). The
    last busy error is raised when the budget is spent; any other error at once.
    """
    budget = BUSY_BUDGET_S if budget_s is None else budget_s
    deadline = time.monotonic() + budget
    draw = rng or random
    delay = FIRST_DELAY_S
    while True:
        try:
            return work()
        except sqlite3.OperationalError as exc:
            left = deadline - time.monotonic()
            if not is_busy(exc) or left <= 0:
                raise
            if before_retry is not None:
                before_retry()
            time.sleep(min(left, delay * draw.uniform(0.5, 1.0)))
            delay = min(delay * 2, MAX_DELAY_S)


def enable_wal(conn: sqlite3.Connection) -> bool:
    """Switch ``conn``'s file to WAL mode (kept in the file); whether it is in WAL now.

    A file system without shared memory (some network mounts) refuses, and the file
    keeps its rollback journal: slower under readers, still correct.
    """
    row = retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
    return bool(row) and str(row[0]).lower() == "wal"


class RetryingSqliteStore(SqliteStore):
    """A ``SqliteStore`` whose setup and batches wait out a busy file (see the module).

    Every read and write of ``BaseStore`` goes through :meth:`batch`. Retrying one is
    safe: reads have no effect and puts are upserts of values fixed before the batch,
    so a batch cut short by a busy error is simply done again in full.
    """

    def _rollback(self) -> None:
        with self.lock:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")

    def setup(self) -> None:
        retry_busy(super().setup, before_retry=self._rollback)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        todo = list(ops)
        return retry_busy(lambda: SqliteStore.batch(self, todo), before_retry=self._rollback)
