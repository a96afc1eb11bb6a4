"""Argument schemas for learned and base actions, built from signatures without ``eval``.

A learned action's parameters come from its ``def`` line (see ``actions.py``):
annotations and defaults are source text. Simple annotations map to JSON types
(``str``, ``int``, ``list[str]``, ``str | None``, ...); anything else, or no
annotation, becomes "any value". Defaults are read with ``ast.literal_eval``.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, create_model

from learnact_langgraph import pyast
from learnact_langgraph.actions import ActionParam, LearnedAction
from learnact_langgraph.envs.base import BaseAction

_SIMPLE: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list": list,
    "tuple": list,
    "set": list,
    "dict": dict,
    "Any": Any,
    "object": Any,
}
_SEQUENCES = {"list", "tuple", "set", "Sequence", "List", "Tuple", "Set", "Iterable"}


def annotation_type(text: str | None) -> Any:
    """The Python type used in the schema for an annotation written as ``text``."""
    if not text:
        return Any
    try:
        node = pyast.parse(text, mode="eval").body
    except SyntaxError:
        return Any
    return _node_type(node)


def _node_type(node: ast.expr) -> Any:
    if isinstance(node, ast.Name):
        return _SIMPLE.get(node.id, Any)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return annotation_type(node.value)
    if isinstance(node, ast.Constant) and node.value is None:
        return type(None)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        base = node.value.id
        inner = node.slice
        if base in _SEQUENCES:
            first = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
            return list[_node_type(first)]  # type: ignore[misc]
        if base in {"dict", "Dict", "Mapping"}:
            return dict[str, Any]
        if base == "Optional":
            return _node_type(inner) | None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _node_type(node.left), _node_type(node.right)
        if Any in (left, right):
            return Any
        return left | right
    return Any


def _default(param: ActionParam) -> Any:
    assert param.default is not None
    try:
        return ast.literal_eval(pyast.parse(param.default, mode="eval"))
    except (ValueError, SyntaxError):
        return None


def learned_args_schema(action: LearnedAction) -> type[BaseModel]:
    """A pydantic model whose fields are the action's parameters, in order.

    Models are cached by name and parameters: building one costs about a millisecond,
    and agents ask for the same tools at every episode.
    """
    return _schema(action.name, action.params)


@lru_cache(maxsize=65_536)
def _schema(name: str, params: tuple[ActionParam, ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for p in params:
        kind = annotation_type(p.annotation)
        if p.required:
            fields[p.name] = (kind, Field(...))
        else:
            fields[p.name] = (kind, Field(default=_default(p)))
    return create_model(f"{name}_args", **fields)


def clear_schema_cache() -> None:
    """Forget cached argument models (benchmarks use it to time a cold start)."""
    _schema.cache_clear()


def base_args_schema(action: BaseAction) -> type[BaseModel]:
    fields: dict[str, Any] = {
        p.name: (annotation_type(p.annotation), Field(...)) for p in action.params
    }
    return create_model(f"{action.name}_args", **fields)
