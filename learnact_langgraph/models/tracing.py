"""What each model call says about itself in a trace: a run name, tags and metadata.

Every call of the loop is named after its role (``learnact.create``,
``learnact.repair``, ``learnact.revise``, ``learnact.describe``, ``learnact.act``)
and carries the run's coordinates (round, candidate, task, sample seed), so a trace
in LangSmith or any LangChain tracer reads like the loop. The coordinates are set by
the graph nodes with :func:`trace_scope`; they are a context variable, so they reach
the worker threads that copy the context (LangChain's ``ContextThreadPoolExecutor``,
LangGraph's branches), as the tracer's parent run does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from langchain_core.runnables import RunnableConfig

__all__ = ["RUN_NAMES", "call_config", "trace_scope"]

#: The run name of a call, by the usage node it is counted under.
RUN_NAMES = {
    "create_actions": "learnact.create",
    "update_actions": "learnact.revise",
    "describe": "learnact.describe",
    "act": "learnact.act",
    "decide": "learnact.act",
    "attempt": "learnact.act",
    "reflect": "learnact.reflect",
    "write_program": "learnact.program",
}

_SCOPE: ContextVar[dict[str, Any]] = ContextVar("learnact_trace_scope", default={})  # noqa: B039


@contextmanager
def trace_scope(**metadata: Any) -> Iterator[None]:
    """Add ``metadata`` (``None`` values left out) to every model call made inside."""
    token = _SCOPE.set({**_SCOPE.get(), **{k: v for k, v in metadata.items() if v is not None}})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def call_config(node: str, run_name: str | None = None) -> RunnableConfig:
    """The config of one model call counted under ``node``."""
    name = run_name or RUN_NAMES.get(node, f"learnact.{node}")
    return {
        "run_name": name,
        "tags": ["learnact", name],
        "metadata": {**_SCOPE.get(), "learnact_node": node},
    }
