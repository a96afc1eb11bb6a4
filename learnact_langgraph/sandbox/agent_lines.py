"""Agent code split so the value of its final expression comes back, REPL-style."""

from __future__ import annotations

import ast
import functools
from typing import Any

from learnact_langgraph import pyast


def split_source(source: str) -> dict[str, Any]:
    """:func:`split_parts`, kept per source (agents send the same lines again)."""
    return dict(zip(("source", "code", "expr"), _split(source), strict=True))


@functools.lru_cache(maxsize=4096)
def _split(source: str) -> tuple[str, str, str | None]:
    parts = split_parts(source)
    return parts["source"], parts["code"], parts["expr"]


def split_parts(source: str) -> dict[str, Any]:
    """Split agent code so the value of a final expression is returned, REPL-style.

    Line numbers are kept by padding the final expression with newlines, so
    tracebacks point at the agent's own lines in ``<action>``.
    """
    request: dict[str, Any] = {"source": source, "code": source, "expr": None}
    try:
        tree = pyast.parse(source)
    except Exception:  # the worker compiles it and reports the problem
        return request
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return request
    last = tree.body[-1]
    previous_end = tree.body[-2].end_lineno if len(tree.body) > 1 else 0
    if last.col_offset != 0 or (previous_end or 0) >= last.lineno:
        return request
    lines = source.splitlines(True)
    request["code"] = "".join(lines[: last.lineno - 1])
    request["expr"] = "\n" * (last.lineno - 1) + "".join(lines[last.lineno - 1 :])
    return request
