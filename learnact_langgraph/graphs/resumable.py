"""Runs that survive their process: a checkpoint per run, resumed by running again.

``learnact learn`` and the bench's learning runs keep a LangGraph checkpoint in a SQLite
file beside their results, or (``learnact learn --checkpoint URL``) in a PostgreSQL
database that learners on other machines can resume from (see
:mod:`learnact_langgraph.checkpoints`). A run's thread id is derived from its settings,
so running the same command again finds the unfinished run and resumes it: finished
nodes and episodes are not redone, and an interrupted episode goes on from its last finished
step (:mod:`.durable`). Checkpoints are written before each step goes on
(``durability="sync"``), so even a ``kill -9`` loses at most the step in flight.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph

from learnact_langgraph.checkpoints import is_checkpoint_url
from learnact_langgraph.checkpoints import sqlite_checkpointer as sqlite_checkpointer
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.graphs.durable import RUN_THREADS

#: Name of the checkpoint file the bench keeps in its results folder.
BENCH_CHECKPOINTS = "checkpoints.sqlite"


def thread_for(kind: str, settings: dict[str, Any]) -> str:
    """A thread id that the same settings always give (so a rerun finds its run)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


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


def pick_thread(
    compiled: Any,
    saver: BaseCheckpointSaver[Any],
    base: str,
    thread: str | None = None,
    *,
    fresh: bool = False,
    where: str = "the checkpoint",
) -> tuple[str, RunState]:
    """The run to go on with: ``thread`` itself if given, else the free one for ``base``.

    ``fresh`` deletes the run first so it starts over. A given ``thread`` that finished
    is refused (unless ``fresh``): its release was published, and running it again
    would publish another, which the caller should ask for on purpose.
    """
    if thread is None:
        run, state = free_thread(compiled, base)
    else:
        run, state = thread, run_state(compiled, thread)
        if state.status == "finished" and not fresh:
            raise LearnActError(
                f"The run {run} in {where} already finished; pass --fresh to run it again "
                "from the start, or another --thread."
            )
    if fresh and state.status != "new":
        saver.delete_thread(run)
        state = run_state(compiled, run)
    return run, state


def invoke_resumable(
    builder: StateGraph[Any, Any, Any, Any],
    checkpointer: BaseCheckpointSaver[Any],
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
    """Whether ``path`` holds any checkpoint (an empty file can be removed).

    A PostgreSQL URL always counts as holding one: the database is shared and outlives
    the run, and a run writes its first checkpoint before any node runs.
    """
    if is_checkpoint_url(path):
        return True
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
    """Delete a checkpoint file (and its WAL files) that holds no checkpoint; a PostgreSQL
    database is left alone (a finished run deletes its own thread)."""
    if is_checkpoint_url(path):
        return
    where = Path(path)
    if where.is_file() and not has_checkpoints(where):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{where}{suffix}").unlink(missing_ok=True)
