"""Argument schemas for learned and base actions, built from signatures without ``eval``.

A learned action's parameters come from its ``def`` line (see ``actions.py``):
annotations and defaults are source text. Simple annotations map to JSON types
(``str``, ``int``, ``list[str]``, ``str | None``, ...); anything else, or no
annotation, becomes "any value". Defaults are read with ``ast.literal_eval``.

Two forms of the same schema: the pydantic model (:func:`learned_args_schema`), which
validates a call's arguments, and its JSON schema (:func:`learned_json_schema`), which
is what tool listings and exports show. Creating a model costs about 2 ms, so the JSON
schema is written straight from the signature (the same dict pydantic would give,
key order included; signatures it is not sure of go through pydantic) and a tool
builds its model only when it is first called.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast

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
    """Forget cached argument models and schemas (benchmarks use it to time a cold start)."""
    _schema.cache_clear()
    _annotation_json.cache_clear()


def base_params(action: BaseAction) -> tuple[ActionParam, ...]:
    """A base action's parameters in the form learned ones have (all required)."""
    return tuple(ActionParam(name=p.name, annotation=p.annotation) for p in action.params)


def base_args_schema(action: BaseAction) -> type[BaseModel]:
    return _schema(action.name, base_params(action))


def args_model(name: str, params: Sequence[ActionParam]) -> type[BaseModel]:
    """The validating model of an action named ``name`` (cached, as the schemas are)."""
    return _schema(name, tuple(params))


#: Bumped whenever :func:`json_args_schema` would write another schema for a signature,
#: so schemas stored in release snapshots under an older format are made again.
SCHEMA_FORMAT = 1
ParamTriples = tuple[tuple[str, str | None, str | None], ...]


def triples(params: Sequence[ActionParam]) -> ParamTriples:
    """Parameters as ``(name, annotation, default)`` source text (what snapshots store)."""
    return tuple((p.name, p.annotation, p.default) for p in params)


def action_params(params: ParamTriples) -> tuple[ActionParam, ...]:
    return tuple(ActionParam(name=n, annotation=a, default=d) for n, a, d in params)


class _Unsure(Exception):
    """A signature whose JSON schema is left to pydantic."""


_JSON_TYPES: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "list": {"items": {}, "type": "array"},
    "tuple": {"items": {}, "type": "array"},
    "set": {"items": {}, "type": "array"},
    "dict": {"additionalProperties": True, "type": "object"},
}
_NULL: dict[str, Any] = {"type": "null"}
_RESERVED = frozenset(dir(BaseModel))


def _json_type(node: ast.expr) -> dict[str, Any]:
    """The JSON schema of :func:`_node_type`'s type for ``node`` (``{}``: any value)."""
    if isinstance(node, ast.Name):
        return dict(_JSON_TYPES.get(node.id, {}))
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return _json_type(pyast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return {}
    if isinstance(node, ast.Constant) and node.value is None:
        return dict(_NULL)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        base, inner = node.value.id, node.slice
        if base in _SEQUENCES:
            first = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
            return {"items": _json_type(first), "type": "array"}
        if base in {"dict", "Dict", "Mapping"}:
            return {"additionalProperties": True, "type": "object"}
        if base == "Optional":
            return _union([_json_type(inner), dict(_NULL)])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, right = _json_type(node.left), _json_type(node.right)
        if not left or not right:
            return {}
        return _union([*left.get("anyOf", [left]), *right.get("anyOf", [right])])
    return {}


def _union(members: list[dict[str, Any]]) -> dict[str, Any]:
    """``anyOf`` as pydantic writes it, for the unions whose form is certain."""
    if any(not m or "anyOf" in m for m in members) or _NULL in members[:-1]:
        raise _Unsure
    if len({repr(m) for m in members}) < len(members):
        raise _Unsure
    return {"anyOf": members}


def _json_default(value: Any) -> Any:
    """A default as it appears in the schema, for the literal types that keep their form."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return value
    if isinstance(value, list | tuple):
        return [_json_default(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_default(v) for k, v in value.items()}
    raise _Unsure


def _sorted(schema: dict[str, Any]) -> dict[str, Any]:
    """Keys in pydantic's order: sorted, except a default's own keys."""
    out: dict[str, Any] = {}
    for key in sorted(schema):
        value = schema[key]
        if key == "items" and isinstance(value, dict):
            value = _sorted(value)
        elif key == "anyOf":
            value = [_sorted(m) for m in value]
        out[key] = value
    return out


def _property(param: ActionParam) -> dict[str, Any]:
    if not param.name.isidentifier() or param.name.startswith("_") or param.name in _RESERVED:
        raise _Unsure
    prop = annotation_json(param.annotation)
    prop["title"] = param.name.title().replace("_", " ").strip()
    if not param.required:
        prop["default"] = _json_default(_default(param))
    return _sorted(prop)


@lru_cache(maxsize=4096)
def _annotation_json(text: str | None) -> str:
    if not text:
        return "{}"
    try:
        node = pyast.parse(text, mode="eval").body
    except SyntaxError:
        return "{}"
    return json.dumps(_json_type(node))


def annotation_json(text: str | None) -> dict[str, Any]:
    """The JSON schema of the type :func:`annotation_type` gives for ``text`` (a fresh dict)."""
    return cast("dict[str, Any]", json.loads(_annotation_json(text)))


def json_args_schema(name: str, params: Sequence[ActionParam]) -> dict[str, Any]:
    """``_schema(name, params).model_json_schema()``, usually without creating the model."""
    try:
        props = {p.name: _property(p) for p in params}
    except _Unsure:
        return _schema(name, tuple(params)).model_json_schema()
    schema: dict[str, Any] = {"properties": props}
    required = [p.name for p in params if p.required]
    if required:
        schema["required"] = required
    schema["title"] = f"{name}_args"
    schema["type"] = "object"
    return schema


def learned_json_schema(action: LearnedAction) -> dict[str, Any]:
    """The JSON schema of :func:`learned_args_schema` (what tool listings show)."""
    return json_args_schema(action.name, action.params)
