"""Where many episodes run: threads here (the default) or a Ray cluster.

``make_executor(ExecutorSettings(...))`` builds one for a caller that owns it (the
bench); :func:`shared_executor` hands out one per settings per process, for callers
that run jobs from many places at once (the learner's evaluation branches), so a Ray
cluster's actors stay warm across nodes and runs.
"""

from __future__ import annotations

import atexit
import threading

from learnact_langgraph.executors.base import (
    EXECUTORS,
    Executor,
    ExecutorKind,
    ExecutorSettings,
    LocalExecutor,
    Outcome,
)

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorKind",
    "ExecutorSettings",
    "LocalExecutor",
    "Outcome",
    "close_shared",
    "make_executor",
    "shared_executor",
]

_SHARED: dict[ExecutorSettings, Executor] = {}
_LOCK = threading.Lock()


def make_executor(settings: ExecutorSettings) -> Executor:
    """A new executor for ``settings``; the caller closes it."""
    if settings.kind == "ray":
        from learnact_langgraph.executors.ray_backend import RayExecutor

        return RayExecutor(settings.ray_address, settings.workers, settings.concurrency)
    return LocalExecutor(settings.concurrency)


def shared_executor(settings: ExecutorSettings) -> Executor:
    """The process's executor for ``settings``, made on first use, closed at exit."""
    with _LOCK:
        executor = _SHARED.get(settings)
        if executor is None:
            executor = _SHARED[settings] = make_executor(settings)
        return executor


def close_shared() -> None:
    """Close every shared executor (at exit, and in tests)."""
    with _LOCK:
        executors = list(_SHARED.values())
        _SHARED.clear()
    for executor in executors:
        executor.close()


atexit.register(close_shared)
