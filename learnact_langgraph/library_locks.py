"""Mutual exclusion for library writers, per store backend.

LangGraph's ``BaseStore`` has no transactions and no conditional put, so a
compare-and-set on an action's version cannot be built from the store alone: two
writers could both read head version 3 and both write version 4. The library
therefore takes a *lock* around every commit (read heads, check expected versions,
write the new versions, move the release pointer). The lock has to reach as far as
the store is shared:

* :class:`ThreadLocker`: one process (``InMemoryStore``, or any store used by a
  single process).
* :class:`FileLocker`: ``fcntl.flock`` on a file beside a ``SqliteStore`` database,
  so two CLI processes on the same file serialise.
* :class:`PostgresLocker`: ``pg_advisory_lock`` on the store's own connection (or a
  pooled one), so processes on different machines serialise through the server. The
  session-level lock is released explicitly, and by the server if the process dies.
* :class:`AsyncSqliteLocker` and :class:`AsyncPostgresLocker`: the same two locks for
  ``AsyncSqliteStore`` and ``AsyncPostgresStore``. The library's ``a*`` methods run
  its code on a worker thread, so these take the lock from that thread, sending the
  statements to the store's event loop.
* :class:`ReadOnlyLocker`: for a store opened read-only (``learnact library ls``); it
  refuses to lock, so a read never creates a ``.lock`` file and a write fails at once.

Readers never lock: a commit writes immutable version records first and moves the
release pointer last, so any reader sees a whole release (see ``library.py``).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from langgraph.store.base import BaseStore

from learnact_langgraph.errors import LibraryError

__all__ = [
    "AsyncPostgresLocker",
    "AsyncSqliteLocker",
    "FileLocker",
    "Locker",
    "PostgresLocker",
    "ReadOnlyLocker",
    "ThreadLocker",
    "default_locker",
]


@runtime_checkable
class Locker(Protocol):
    """Something that can hold an exclusive lock named ``key`` for a ``with`` block."""

    def hold(self, key: str) -> AbstractContextManager[None]: ...


class ThreadLocker:
    """A lock per key inside one process."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._lock(key):
            yield


class StoreLocker(ThreadLocker):
    """An in-process lock per key, for a locker that also talks to its store."""

    def __init__(self, store: Any) -> None:
        super().__init__()
        self.store = store


class FileLocker(ThreadLocker):
    """``flock`` on ``<path>.lock``: exclusive across processes on one machine."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(f"{path}.lock")

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._lock(key), _flocked(self.path):
            yield


@contextmanager
def _flocked(path: Path) -> Iterator[None]:
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _on_loop(store: Any, coro: Any) -> Any:
    """Run ``coro`` on ``store``'s event loop from a worker thread and wait for it."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is store.loop:
        coro.close()
        raise LibraryError(
            "The library was written to from the event loop of an async store; use its "
            "async methods (aadd, arevise, arelease, ...) in async code."
        )
    return asyncio.run_coroutine_threadsafe(coro, store.loop).result()


class AsyncSqliteLocker(StoreLocker):
    """``flock`` beside the database file of an ``AsyncSqliteStore``.

    The file is found on first use (``PRAGMA database_list`` on the store's loop); an
    in-memory database needs only the in-process lock.
    """

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self._resolved = False
        self._file: Path | None = None

    def _lockfile(self) -> Path | None:
        if not self._resolved:
            rows = _on_loop(self.store, self.store.conn.execute_fetchall("PRAGMA database_list"))
            path = next((str(r[2]) for r in rows if r[1] == "main" and r[2]), "")
            self._file, self._resolved = (Path(f"{path}.lock") if path else None), True
        return self._file

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._lock(key):
            lockfile = self._lockfile()
            if lockfile is None:
                yield
                return
            with _flocked(lockfile):
                yield


class AsyncPostgresLocker(StoreLocker):
    """``pg_advisory_lock`` for an ``AsyncPostgresStore`` (one connection or a pool).

    With a pool, one connection is taken for the whole critical section (the lock
    belongs to that session); with one connection, the statements take the store's
    own lock so they never interleave with its queries.
    """

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        number = advisory_key(key)
        with self._lock(key):
            conn = _on_loop(self.store, self._take(number))
            try:
                yield
            finally:
                _on_loop(self.store, self._give(conn, number))

    async def _take(self, number: int) -> Any:
        conn = self.store.conn
        if hasattr(conn, "getconn"):  # a psycopg_pool.AsyncConnectionPool
            pooled = await conn.getconn()
            await pooled.execute("SELECT pg_advisory_lock(%s)", (number,))
            return pooled
        async with self.store.lock:
            await conn.execute("SELECT pg_advisory_lock(%s)", (number,))
        return None

    async def _give(self, pooled: Any, number: int) -> None:
        if pooled is not None:
            try:
                await pooled.execute("SELECT pg_advisory_unlock(%s)", (number,))
            finally:
                await self.store.conn.putconn(pooled)
            return
        async with self.store.lock:
            await self.store.conn.execute("SELECT pg_advisory_unlock(%s)", (number,))


class ReadOnlyLocker:
    """The locker of a read-only store: every attempt to take the write lock fails."""

    def __init__(self, where: str = "The store") -> None:
        self.where = where

    def hold(self, key: str) -> AbstractContextManager[None]:
        raise LibraryError(
            f"{self.where} was opened read-only, so it cannot be changed; use a command "
            "that writes (learn, import or rollback)."
        )


def advisory_key(key: str) -> int:
    """A stable signed 64-bit number for ``key`` (what ``pg_advisory_lock`` takes)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class PostgresLocker(StoreLocker):
    """``pg_advisory_lock`` through a ``PostgresStore``'s connection or pool.

    Advisory locks are per session and re-entrant within one, so threads of one
    process sharing a connection also take the in-process lock first.
    """

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        number = advisory_key(key)
        with self._lock(key), self._connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (number,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (number,))

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        conn = self.store.conn
        if hasattr(conn, "getconn"):  # a psycopg_pool.ConnectionPool
            with conn.connection() as pooled:
                yield pooled
        else:
            yield _SharedConnection(conn, self.store.lock)


class _SharedConnection:
    """Run one statement at a time on a connection the store also uses."""

    def __init__(self, conn: Any, lock: threading.Lock) -> None:
        self.conn = conn
        self.lock = lock

    def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        with self.lock:
            self.conn.execute(sql, params)


def _sqlite_file(store: BaseStore) -> str | None:
    conn = getattr(store, "conn", None)
    if not isinstance(conn, sqlite3.Connection):
        return None
    for _, name, path in conn.execute("PRAGMA database_list").fetchall():
        if name == "main" and path:
            return str(path)
    return None


_LOCKERS: weakref.WeakKeyDictionary[BaseStore, Locker] = weakref.WeakKeyDictionary()
_LOCKERS_GUARD = threading.Lock()


def default_locker(store: BaseStore) -> Locker:
    """The strongest lock this kind of store supports (see the module docstring).

    One locker per store object, so every library on that store in this process
    shares the in-process part of the lock.
    """
    with _LOCKERS_GUARD:
        locker = _LOCKERS.get(store)
        if locker is None:
            kind = type(store).__name__
            path = _sqlite_file(store)
            if kind == "AsyncPostgresStore":
                locker = AsyncPostgresLocker(store)
            elif kind == "AsyncSqliteStore":
                locker = AsyncSqliteLocker(store)
            elif kind == "PostgresStore":
                locker = PostgresLocker(store)
            elif path:
                locker = FileLocker(path)
            else:
                locker = ThreadLocker()
            _LOCKERS[store] = locker
        return locker
