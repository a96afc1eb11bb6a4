"""Where a run keeps its LangGraph checkpoint: a SQLite file, or a PostgreSQL database.

A SQLite file is private to one machine; a PostgreSQL database lets learners on
different machines resume each other's runs (``learnact learn --checkpoint URL
--thread ID``). The two are opened differently on purpose:

* a SQLite file (and its folder and tables) is created on first use, since it belongs
  to the run;
* a PostgreSQL database is shared, so it never gets DDL implicitly: its tables are
  created once by ``learnact db setup URL`` (:func:`setup_checkpoints`), and a database
  without them (or with an older layout) is one :class:`CheckpointSchemaError` sentence
  that names that command.

Every problem (an unwritable file, an unreachable server, a wrong password, a missing
``postgres`` extra) is one :class:`CheckpointError` sentence that names the place (a URL
with its password hidden) and says what to do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from learnact_langgraph.errors import LearnActError
from learnact_langgraph.store_urls import (
    error_reason,
    is_postgres,
    redact_url,
    with_connect_timeout,
)

__all__ = [
    "CHECKPOINTS_ENV_VAR",
    "CheckpointError",
    "CheckpointSchemaError",
    "describe_checkpoints",
    "is_checkpoint_url",
    "open_checkpointer",
    "setup_checkpoints",
    "sqlite_checkpointer",
]

#: Environment variable with the default ``--checkpoint`` (a SQLite file or a URL).
CHECKPOINTS_ENV_VAR = "LEARNACT_CHECKPOINTS"
_EXTRA = "pip install 'learnact-langgraph[postgres]'"


class CheckpointError(LearnActError):
    """Run checkpoints cannot be kept (or read) where they were asked for."""


class CheckpointSchemaError(CheckpointError):
    """A PostgreSQL database lacks the checkpoint tables, or has an older layout of them."""


def is_checkpoint_url(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(target, str) and is_postgres(target)


def describe_checkpoints(target: str | Path) -> str:
    """How messages name a checkpoint place: a URL without its password, or the file path."""
    if is_checkpoint_url(target):
        return redact_url(str(target))
    return str(Path(target).expanduser())


def setup_command(url: str) -> str:
    """The command that creates (or upgrades) the checkpoint tables at ``url``."""
    return f"learnact db setup {describe_checkpoints(url)}"


@contextmanager
def open_checkpointer(
    target: str | Path, *, create: bool = True
) -> Iterator[BaseCheckpointSaver[Any]]:
    """A checkpointer on ``target`` (a SQLite path or a ``postgresql://`` URL), closed on exit.

    ``create`` lets a missing SQLite file be created; with ``create=False`` it must
    already hold checkpoints. A PostgreSQL database must have been set up with
    ``learnact db setup`` either way: shared databases get no DDL behind their
    owner's back. The PostgreSQL saver uses one connection, which it serialises with a
    lock of its own, so the learner's parallel branches may share it.
    """
    if is_checkpoint_url(target):
        with _postgres_saver(str(target)) as saver:
            yield saver
    else:
        with sqlite_checkpointer(target, create=create) as sqlite_saver:
            yield sqlite_saver


def setup_checkpoints(url: str) -> None:
    """Create or upgrade the checkpoint tables at ``url`` (idempotent)."""
    if not is_checkpoint_url(url):
        raise CheckpointError(
            f"{url} is not a postgresql:// URL; only PostgreSQL databases need setting up "
            "(a SQLite checkpoint file is created when a run starts)."
        )
    with _postgres_saver(url, check=False) as saver:
        saver.setup()


# ----- SQLite ---------------------------------------------------------------------------
@contextmanager
def sqlite_checkpointer(path: str | Path, *, create: bool = True) -> Iterator[SqliteSaver]:
    """A ``SqliteSaver`` on ``path`` (created with its folder unless ``create`` is off)."""
    where = Path(path).expanduser()
    if not create and not where.is_file():
        raise CheckpointError(
            f"No checkpoint file at {where}; check the --checkpoint path, or start the run "
            "without it."
        )
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(where), check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA busy_timeout = 30000")
        saver = SqliteSaver(conn)
        saver.setup()
    except (OSError, sqlite3.Error) as exc:
        raise CheckpointError(
            f"Cannot keep checkpoints in {where} ({exc}); pass --checkpoint with a writable "
            "file path, or --no-checkpoint."
        ) from None
    try:
        yield saver
    finally:
        conn.close()


# ----- PostgreSQL -----------------------------------------------------------------------
@contextmanager
def _postgres_saver(url: str, *, check: bool = True) -> Iterator[Any]:
    """A ``PostgresSaver`` on one connection to ``url``; its tables checked unless ``check``
    is off. A database error while it is in use is one sentence too."""
    shown = describe_checkpoints(url)
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise CheckpointError(f"PostgreSQL checkpoints need the postgres extra: {_EXTRA}.") from exc
    try:
        conn = psycopg.Connection.connect(
            with_connect_timeout(url), autocommit=True, prepare_threshold=0, row_factory=dict_row
        )
    except psycopg.Error as exc:
        raise CheckpointError(
            f"Cannot connect to the PostgreSQL checkpoint database {shown} "
            f"({error_reason(exc, url)}); check that the server is running and the URL, user "
            "and password are right."
        ) from None
    try:
        if check:
            _check_tables(conn, url)
        yield PostgresSaver(conn)
    except psycopg.Error as exc:
        raise CheckpointError(
            f"The PostgreSQL checkpoint database {shown} failed ({error_reason(exc, url)}); check "
            "the server, then run the same command again to resume."
        ) from exc
    finally:
        conn.close()


def _check_tables(conn: Any, url: str) -> None:
    """Refuse a database whose checkpoint tables are missing or behind this LangGraph's."""
    from langgraph.checkpoint.postgres import PostgresSaver

    latest = len(PostgresSaver.MIGRATIONS) - 1
    found = conn.execute(
        "SELECT to_regclass('checkpoints') AS t, to_regclass('checkpoint_migrations') AS m"
    ).fetchone()
    if not found or found["t"] is None or found["m"] is None:
        raise CheckpointSchemaError(
            f"The PostgreSQL database {describe_checkpoints(url)} has no checkpoint tables: "
            f"run `{setup_command(url)}` once to create them."
        )
    row = conn.execute("SELECT max(v) AS v FROM checkpoint_migrations").fetchone()
    version = -1 if not row or row["v"] is None else int(row["v"])
    if version < latest:
        raise CheckpointSchemaError(
            f"The checkpoint tables in {describe_checkpoints(url)} have an older layout "
            f"(migration {version}, this LangGraph needs {latest}): run "
            f"`{setup_command(url)}` to upgrade them."
        )
