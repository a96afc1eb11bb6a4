"""Agent lines: split so the value of a final expression comes back, REPL-style, and
recognised when they are nothing but one base action with literal arguments."""

from __future__ import annotations

import ast
import functools
from typing import Any

from learnact_langgraph import pyast


def split_source(source: str) -> dict[str, Any]:
    """:func:`split_parts`, kept per source (agents send the same lines again)."""
    return dict(zip(("source", "code", "expr"), split_line(source), strict=True))


@functools.lru_cache(maxsize=4096)
def split_line(source: str) -> tuple[str, str, str | None]:
    """:func:`split_parts` as ``(source, code, expr)``, kept per source."""
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


#: Argument types that reach a base action unchanged whichever side makes the call:
#: the worker sends them as text or JSON, and the host gets the same values back.
_PLAIN = (str, int, float, bool, type(None))
#: Larger integers go through the worker, where JSON may refuse them.
_MAX_INT = 2**63


class _NotLiteral(Exception):
    pass


def base_call(source: str, base: frozenset[str]) -> tuple[str, tuple[Any, ...]] | None:
    """``(name, args)`` when ``source`` is exactly one call of a base action in ``base``
    with positional literal arguments, such as ``move('rooma', 'roomb')``; else ``None``.

    Such a line runs no code: in the worker it would only ask the host for that base
    action. The sandbox makes the call itself instead (the same transaction, limits and
    result), which saves two process switches per step. Anything else (a name, an
    expression, a keyword, a second statement) is ``None`` and goes to the worker.
    """
    return _base_call(source, base)


@functools.lru_cache(maxsize=4096)
def _base_call(source: str, base: frozenset[str]) -> tuple[str, tuple[Any, ...]] | None:
    try:
        tree = pyast.parse(source)
    except Exception:  # the worker compiles it and reports the problem
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)) or call.keywords:
        return None
    if call.func.id not in base:
        return None
    try:
        return call.func.id, tuple(_literal(arg) for arg in call.args)
    except _NotLiteral:
        return None


def _literal(node: ast.expr) -> Any:
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
    ):
        number = node.operand.value
        if isinstance(number, int | float) and not isinstance(number, bool):
            return _checked(-number)
        raise _NotLiteral
    if isinstance(node, ast.Constant):
        return _checked(node.value)
    raise _NotLiteral


def _checked(value: Any) -> Any:
    if type(value) not in _PLAIN:
        raise _NotLiteral
    if type(value) is int and abs(value) >= _MAX_INT:
        raise _NotLiteral
    if type(value) is str:
        try:
            value.encode("utf-8")  # a lone surrogate would be replaced on its way
        except UnicodeEncodeError:
            raise _NotLiteral from None
    return value
