"""Opening the action library a command names with ``--store``, safely.

``SqliteStore.from_conn_string`` creates any file it is given and ``setup()`` adds its
tables to any SQLite database, so a typo in ``--store`` used to create a stray library
and a look at an unrelated database used to change it. Here a store is opened in one
of three modes:

* ``read`` (``library ls``, ``eval --store``): SQLite is opened with ``mode=ro``;
  PostgreSQL gets no ``setup()`` (a read-only session is not possible: the store's
  reads refresh TTLs with an ``UPDATE``); nothing is created or migrated, no ``.lock``
  file is made (a WAL-mode file gets SQLite's own ``-wal``/``-shm`` beside it, which
  reading while others write needs; in a folder nobody can write to it is read as an
  immutable file instead), and a missing store or library says so;
* ``write`` (``library rollback``): the store and the library must already exist;
* ``create`` (``learn``, ``library import``): the store may be new; if the command
  then fails, the files and folders it created are removed again.

Many processes may share one SQLite file (parallel ``learn`` runs, ``library ls``
while they publish). A file opened to write is switched to WAL mode, so readers and
the writer do not block each other; ``setup()`` runs under the file's ``flock``, so two
processes never migrate a new file at once; and every statement waits out a busy
file (see :mod:`learnact_langgraph.sqlite_retry`) before the command gives up.

Every problem (a folder, a JSON manifest, a damaged file, a file kept busy too long,
an unrelated SQLite database, an unreachable PostgreSQL server) becomes one
:class:`StoreError` sentence that names the store (a URL with its password hidden)
and says what to do.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from langgraph.store.base import BaseStore
from platformdirs import user_data_dir

from learnact_langgraph import sqlite_retry
from learnact_langgraph.errors import LibraryError
from learnact_langgraph.library import ActionLibrary, parse_prefix
from learnact_langgraph.library_locks import FileLocker, ReadOnlyLocker
from learnact_langgraph.sqlite_retry import RetryingSqliteStore, enable_wal, is_busy, retry_busy
from learnact_langgraph.store_urls import (
    error_reason,
    is_postgres,
    redact_url,
    with_connect_timeout,
)

__all__ = [
    "Mode",
    "StoreError",
    "default_store",
    "describe_store",
    "is_postgres",
    "library_prefixes",
    "open_library",
    "open_store",
    "redact_url",
]

Mode = Literal["read", "write", "create"]
STORE_ENV_VAR = "LEARNACT_LIBRARY"
_SQLITE_HEADER = b"SQLite format 3\x00"
_SIDE_FILES = ("-journal", "-wal", "-shm", ".lock")
#: The ``flock`` key that serialises ``setup()`` of one SQLite file across processes.
SETUP_LOCK_KEY = "learnact-store-setup"
_SETUP_TABLES = frozenset({"store_migrations", "vector_migrations"})
T = TypeVar("T")


class StoreError(LibraryError):
    """A library store is missing, unreadable, not a library store, or unreachable."""


def default_store() -> str:
    """``$LEARNACT_LIBRARY``, else ``library.db`` in the user data directory."""
    return os.environ.get(STORE_ENV_VAR) or str(
        Path(user_data_dir("learnact-langgraph")) / "library.db"
    )


def describe_store(target: str) -> str:
    """How messages name a store: the URL with its password hidden, or the file path."""
    return redact_url(target) if is_postgres(target) else str(Path(target).expanduser())


def _missing(where: str) -> StoreError:
    return StoreError(
        f"No action library at {where}: run `learnact learn --store {where}` first, "
        "or check the path."
    )


# ----- SQLite ---------------------------------------------------------------------------
def _check_file(path: Path, mode: Mode) -> None:
    """Refuse what cannot be a library file, before SQLite creates or touches anything."""
    if path.is_dir():
        raise StoreError(
            f"{path} is a folder, not a library file; pass a file such as {path / 'library.db'}."
        )
    if not path.exists():
        if mode != "create":
            raise _missing(str(path))
        return
    if not path.is_file():
        raise StoreError(f"{path} is not a regular file; pass the .db file of a library.")
    try:
        with path.open("rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise StoreError(
            f"Cannot read {path} ({exc.strerror}); check the path and its permissions."
        ) from exc
    if not head:
        if mode != "create":
            raise _missing(str(path))
        return
    if head.lstrip()[:1] in (b"{", b"["):
        raise StoreError(
            f"{path} is a JSON file, not a library store; load a manifest with "
            f"`learnact library import {path} --store lib.db`."
        )
    if not head.startswith(_SQLITE_HEADER) or len(head) < 100:
        raise StoreError(
            f"{path} is not a SQLite library file (nor a postgresql:// URL); pass the "
            ".db file that `learnact learn` wrote."
        )


def _damaged(path: Path, exc: BaseException | str) -> StoreError:
    reason = exc if isinstance(exc, str) else error_reason(exc)
    return StoreError(
        f"The library file {path} is damaged or unusable ({reason}); restore it from a "
        "copy or pass another --store."
    )


def _busy(path: Path) -> StoreError:
    return StoreError(
        f"The library file {path} stayed locked by another process for "
        f"{sqlite_retry.BUSY_BUDGET_S:.0f} s; wait for the other learnact command using it "
        "to finish, then run this one again."
    )


def _waiting(path: Path, work: Callable[[], T]) -> T:
    """``work()`` retried while the file is busy; a busy file that stays so is one sentence."""
    try:
        return retry_busy(work)
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise _busy(path) from exc
        raise


def _tables(conn: sqlite3.Connection, path: Path) -> set[str]:
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        check = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        if is_busy(exc):
            raise
        raise _damaged(path, exc) from exc
    if check != ["ok"]:
        raise _damaged(path, "; ".join(str(c) for c in check[:2]))
    return tables


def _migration(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute("SELECT max(v) FROM store_migrations").fetchone()
    except sqlite3.DatabaseError as exc:
        if is_busy(exc):
            raise
        return -1
    return -1 if row is None or row[0] is None else int(row[0])


def _is_store(conn: sqlite3.Connection, path: Path) -> bool:
    """Whether the file holds a store (else it is empty, or another process is creating one).

    A file with only the migration tables is a store that ``setup()`` is creating right
    now in another process, not someone else's database.
    """
    tables = _waiting(path, lambda: _tables(conn, path))
    if "store" in tables:
        return True
    if tables - _SETUP_TABLES:
        raise StoreError(
            f"{path} is a SQLite database but not an action library (it has no "
            "LangGraph store table); pass the file `learnact learn` wrote."
        )
    return False


def _sqlite_store(conn: sqlite3.Connection, path: Path, mode: Mode) -> BaseStore:
    """A ``SqliteStore`` on ``conn`` once the file is known to be (or become) a store.

    Writers check and set up the file under its ``flock``, so of several processes
    creating one library exactly one creates the tables and the others find them.
    """
    from langgraph.store.sqlite import SqliteStore

    store = RetryingSqliteStore(conn)
    if mode == "read":
        if not _is_store(conn, path):
            raise _missing(str(path))
        if _waiting(path, lambda: _migration(conn)) < len(SqliteStore.MIGRATIONS) - 1:
            raise StoreError(
                f"{path} uses an older LangGraph store layout; open it once with a command "
                "that writes to it (learn or import) to upgrade it."
            )
        store.is_setup = True  # setup() would create and migrate tables
        return store
    if not _is_store(conn, path) and mode != "create":
        raise _missing(str(path))
    with FileLocker(path).hold(SETUP_LOCK_KEY):
        try:
            _waiting(path, lambda: enable_wal(conn))
            _waiting(path, store.setup)
        except sqlite3.DatabaseError as exc:
            raise _damaged(path, exc) from exc
    return store


class _Created:
    """What opening a new SQLite store creates, so a failed command can remove it."""

    def __init__(self, path: Path) -> None:
        self.files = [
            p for p in (path, *(Path(f"{path}{s}") for s in _SIDE_FILES)) if not os.path.lexists(p)
        ]
        self.folders: list[Path] = []
        folder = path.absolute().parent
        while not folder.exists() and folder != folder.parent:
            self.folders.append(folder)
            folder = folder.parent

    def remove(self) -> None:
        for p in self.files:
            p.unlink(missing_ok=True)
        for folder in self.folders:
            try:
                folder.rmdir()
            except OSError:
                break


def _nobody_can_write(path: Path) -> bool:
    """Whether the file's folder is read-only to us and no journal or WAL exists there.

    A WAL-mode file can then not be read normally (SQLite would have to create its
    ``-shm``), and no writer can change the file either, since every write first
    creates a journal or WAL beside it; so it is read as an immutable file.
    """
    if os.access(path.absolute().parent, os.W_OK):
        return False
    return not any(os.path.lexists(f"{path}{s}") for s in ("-journal", "-wal", "-shm"))


def _connect(path: Path, mode: Mode) -> sqlite3.Connection:
    try:
        if mode == "read":
            uri = f"file:{quote(str(path.absolute()))}?mode=ro"
            if _nobody_can_write(path):
                uri += "&immutable=1"
            return sqlite3.connect(
                uri,
                uri=True,
                check_same_thread=False,
                isolation_level=None,
                timeout=sqlite_retry.BUSY_TIMEOUT_S,
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(
            str(path),
            check_same_thread=False,
            isolation_level=None,
            timeout=sqlite_retry.BUSY_TIMEOUT_S,
        )
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(
            f"Cannot open {path} ({error_reason(exc)}); check the path and its permissions."
        ) from exc


@contextmanager
def _open_sqlite(path: Path, mode: Mode) -> Iterator[BaseStore]:
    _check_file(path, mode)
    created = _Created(path) if mode == "create" and not path.exists() else None
    ok = False
    try:
        conn = _connect(path, mode)
        try:
            store = _sqlite_store(conn, path, mode)
            try:
                yield store
            except sqlite3.Error as exc:
                raise (_busy(path) if is_busy(exc) else _damaged(path, exc)) from exc
            ok = True
        finally:
            conn.close()
    finally:
        if created is not None and not ok:
            created.remove()


# ----- PostgreSQL -----------------------------------------------------------------------
@contextmanager
def _open_postgres(url: str, mode: Mode) -> Iterator[BaseStore]:
    shown = redact_url(url)
    try:
        import psycopg
        from langgraph.store.postgres import PostgresStore
    except ImportError as exc:
        raise StoreError(
            "PostgreSQL stores need the postgres extra: pip install 'learnact-langgraph[postgres]'."
        ) from exc
    with ExitStack() as stack:
        try:
            pg: Any = stack.enter_context(PostgresStore.from_conn_string(with_connect_timeout(url)))
        except psycopg.Error as exc:
            raise StoreError(
                f"Cannot connect to the PostgreSQL store {shown} ({error_reason(exc, url)}); "
                "check that the server is running and the URL is right."
            ) from exc
        try:
            if mode == "create":
                pg.setup()
            else:
                row = pg.conn.execute("SELECT to_regclass('store') AS t").fetchone()
                if not row or row["t"] is None:
                    raise _missing(shown)
                if mode == "write":
                    pg.setup()
            yield pg
        except psycopg.Error as exc:
            raise StoreError(
                f"The PostgreSQL store {shown} failed ({error_reason(exc, url)}); check the "
                "server and the URL, then run the command again."
            ) from exc


# ----- stores and libraries -------------------------------------------------------------
@contextmanager
def open_store(target: str | None, mode: Mode) -> Iterator[BaseStore]:
    """The store at ``target`` (a SQLite file or a ``postgresql://`` URL) in ``mode``."""
    where = target or default_store()
    if is_postgres(where):
        with _open_postgres(where, mode) as pg:
            yield pg
    else:
        with _open_sqlite(Path(where).expanduser(), mode) as sql:
            yield sql


def library_prefixes(store: BaseStore, limit: int = 1000) -> list[str]:
    """The prefixes of the libraries in ``store`` (``learnact/gripper``, ...)."""
    spaces = store.list_namespaces(suffix=("meta",), limit=limit)
    return sorted({"/".join(ns[:-1]) for ns in spaces if len(ns) > 1})


def _has_library(lib: ActionLibrary) -> bool:
    return any(lib.store.get(lib.ns("meta"), key) is not None for key in ("current", "library"))


@contextmanager
def open_library(target: str | None, prefix: str, mode: Mode) -> Iterator[ActionLibrary]:
    """The library at ``prefix`` in the store at ``target``; see the module docstring.

    In ``read`` and ``write`` mode the library must exist; the error lists the
    libraries the store does hold, since a wrong ``--prefix`` is the usual cause.
    """
    where = describe_store(target or default_store())
    labels = parse_prefix(prefix)
    with open_store(target, mode) as store:
        locker = ReadOnlyLocker(f"The library {prefix} in {where}") if mode == "read" else None
        library = ActionLibrary(store, labels, locker=locker)
        if mode != "create" and not _has_library(library):
            found = library_prefixes(store)
            if not found:
                raise _missing(where)
            raise StoreError(
                f"{where} has no library at {'/'.join(labels)}; it holds "
                f"{', '.join(found)}: pass --domain or --prefix to pick one."
            )
        yield library
