"""Runs that survive their process: a SQLite checkpoint per run, resumed by running again.

``learnact learn`` and the bench's learning runs keep a LangGraph checkpoint in a SQLite
file beside their results. A run's thread id is derived from its settings, so running
the same command again finds the unfinished run and resumes it: finished nodes and
episodes are not redone, and an interrupted episode goes on from its last finished
step (:mod:`.durable`). Checkpoints are written before each step goes on
(``durability="sync"``), so even a ``kill -9`` loses at most the step in flight.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import StateGraph

from learnact_langgraph.errors import LearnActError
from learnact_langgraph.graphs.durable import RUN_THREADS

#: Name of the checkpoint file the bench keeps in its results folder.
BENCH_CHECKPOINTS = "checkpoints.sqlite"


def thread_for(kind: str, settings: dict[str, Any]) -> str:
    """A thread id that the same settings always give (so a rerun finds its run)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


@contextmanager
def sqlite_checkpointer(path: str | Path) -> Iterator[SqliteSaver]:
    """A ``SqliteSaver`` on ``path`` (created with its folder), closed on exit."""
    where = Path(path).expanduser()
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(where), check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA busy_timeout = 30000")
        saver = SqliteSaver(conn)
        saver.setup()
    except (OSError, sqlite3.Error) as exc:
        raise LearnActError(
            f"Cannot keep checkpoints in {where} ({exc}); pass --checkpoint with a writable "
            "file path, or --no-checkpoint."
        ) from None
    try:
        yield saver
    finally:
        conn.close()


@dataclass(frozen=True)
class RunState:
    """Where a thread stands: ``new``, ``unfinished`` (resumable) or ``finished``."""

    status: str
    values: dict[str, Any]
    next_nodes: tuple[str, ...] = ()


def run_state(compiled: Any, thread_id: str) -> RunState:
    snap = compiled.get_state({"configurable": {"thread_id": thread_id}})
    values = dict(snap.values or {})
    if snap.next:
        return RunState("unfinished", values, tuple(snap.next))
    return RunState("finished" if values else "new", values)


def free_thread(compiled: Any, base: str) -> tuple[str, RunState]:
    """The run to continue for ``base``: its unfinished thread, else a new one.

    A finished run is left as it is; the next run with the same settings gets the next
    free id (``base``, ``base-2``, ...).
    """
    n = 1
    while True:
        thread = base if n == 1 else f"{base}-{n}"
        state = run_state(compiled, thread)
        if state.status != "finished":
            return thread, state
        n += 1


def invoke_resumable(
    builder: StateGraph[Any, Any, Any, Any],
    checkpointer: SqliteSaver,
    thread_id: str,
    context: Any,
    inputs: dict[str, Any] | None = None,
    *,
    store: Any = None,
) -> dict[str, Any]:
    """Run ``thread_id`` to its end: start it, resume it, or read it if it finished."""
    compiled = builder.compile(checkpointer=checkpointer, store=store)
    state = run_state(compiled, thread_id)
    if state.status == "finished":
        return state.values
    config: RunnableConfig = {
        "configurable": {"thread_id": thread_id},
        "max_concurrency": RUN_THREADS,
    }
    start = None if state.status == "unfinished" else (inputs or {})
    result = compiled.invoke(start, config, context=context, durability="sync")
    return dict(result)


def has_checkpoints(path: str | Path) -> bool:
    """Whether ``path`` holds any checkpoint (an empty file can be removed)."""
    where = Path(path)
    if not where.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"file:{where}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT 1 FROM checkpoints LIMIT 1").fetchone()
    except sqlite3.Error:
        return True
    return row is not None


def remove_if_empty(path: str | Path) -> None:
    """Delete a checkpoint file (and its WAL files) that holds no checkpoint."""
    where = Path(path)
    if where.is_file() and not has_checkpoints(where):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{where}{suffix}").unlink(missing_ok=True)
