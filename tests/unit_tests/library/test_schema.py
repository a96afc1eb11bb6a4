"""Argument schemas read from annotation text, never evaluated."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from learnact_langgraph.actions import ActionParam, LearnedAction, parse_function
from learnact_langgraph.tools import annotation_type, base_args_schema, learned_args_schema
from learnact_langgraph.tools.schema import _schema, base_params, json_args_schema


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, Any),
        ("str", str),
        ("int", int),
        ("list[str]", list[str]),
        ("tuple[int, ...]", list[int]),
        ("dict[str, int]", dict[str, Any]),
        ("str | None", str | None),
        ("Optional[int]", int | None),
        ("'float'", float),
        ("Room", Any),
        ("__import__('os').system('x')", Any),
        ("not valid (", Any),
    ],
)
def test_annotation_types(text: str | None, expected: object) -> None:
    assert annotation_type(text) == expected


def test_schema_fields_follow_the_signature() -> None:
    # A version stored under older rules: the gate now refuses non-literal defaults.
    action = LearnedAction.from_record(
        {
            "name": "lay",
            "source": "def lay(objs: list[str], room, times: int = 2, where=os.sep):\n"
            "    return None\n",
        },
        stored=True,
    )
    schema = learned_args_schema(action).model_json_schema()
    assert list(schema["properties"]) == ["objs", "room", "times", "where"]
    assert schema["required"] == ["objs", "room"]
    assert schema["properties"]["objs"]["type"] == "array"
    assert schema["properties"]["times"] == {"default": 2, "title": "Times", "type": "integer"}
    assert schema["properties"]["where"]["default"] is None  # not a literal: left unset
    assert learned_args_schema(action) is learned_args_schema(action)


ANNOTATIONS = [
    "", ": str", ": int", ": float", ": bool", ": list", ": list[str]", ": tuple[int, ...]",
    ": set[str]", ": dict", ": dict[str, int]", ": Mapping[str, str]", ": Any", ": object",
    ": Room", ": 'int'", ": 'list[str]'", ": str | None", ": None | str", ": Optional[int]",
    ": Optional[Room]", ": str | int", ": str | int | None", ": str | str", ": list[str | None]",
    ": list[list[int]]", ": Sequence[float]", ": List[str]", ": Iterable", ": None",
    ": int | bool", ": list | dict", ": Optional[str | None]", ": typing.List[str]",
    ": dict[str, list[int]] | None", ": 'not valid ('", ": Tuple[()]",
]  # fmt: skip
DEFAULTS = [
    "", " = None", " = 'x'", " = 2", " = -1", " = 1.5", " = 1e400", " = True", " = (1, 2)",
    " = [1, 'a']", " = {'z': 1, 'a': [1]}", " = {1: 2}", " = {1}", " = b'x'", " = 1j",
    " = os.sep", " = ()", " = float('nan')",
]  # fmt: skip


def _params(signature: str) -> tuple[ActionParam, ...]:
    return parse_function("f", f"def f({signature}):\n    return None\n", policy=False)[1]


@pytest.mark.parametrize("annotation", ANNOTATIONS)
def test_json_schema_is_pydantics_without_a_model(annotation: str) -> None:
    """Same dict, same key order, for every default (not all pass the gate: stored
    versions written under older rules still get tools)."""
    for default in DEFAULTS:
        for name in ["a", "my_arg_name2"] if not default else ["a"]:
            params = _params(f"p0, {name}{annotation}{default}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = _schema("f", params).model_json_schema()
            got = json_args_schema("f", params)
            assert json.dumps(got) == json.dumps(want), (annotation, default)


@pytest.mark.parametrize("name", ["json", "copy", "model_x", "schema", "validate"])
def test_json_schema_of_names_pydantic_treats_specially(name: str) -> None:
    params = _params(f"{name}: str, b=2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert json_args_schema("f", params) == _schema("f", params).model_json_schema()


def test_no_parameters_and_base_actions() -> None:
    assert json_args_schema("f", ()) == _schema("f", ()).model_json_schema()
    from .conftest import BASE

    for action in BASE:
        params = base_params(action)
        want = base_args_schema(action).model_json_schema()
        assert json_args_schema(action.name, params) == want


def test_tools_validate_calls_as_with_the_pydantic_schema() -> None:
    """A tool's args_schema is the JSON schema; its calls are validated by the model."""
    from langchain_core.tools import StructuredTool

    from learnact_langgraph.tools.learned import ToolSession, learned_action_tool

    action = LearnedAction(
        name="lay", source="def lay(objs: list[str], times: int = 2, where='x'):\n    return 1\n"
    )
    tool = learned_action_tool(action, ToolSession(None, {}))
    assert isinstance(tool.args_schema, dict)
    seen: list[dict[str, object]] = []

    def record(**kwargs: object) -> tuple[str, dict[str, object]]:
        seen.append(kwargs)
        return "ok", {}

    reference = StructuredTool.from_function(
        func=record, name="lay", description="d", args_schema=learned_args_schema(action)
    )
    cases: list[dict[str, Any]] = [
        {"objs": ["a"], "times": "3"},
        {"objs": ["a"]},
        {"objs": "a"},
        {"times": 1},
    ]
    for args in cases:
        try:
            want: object = reference._to_args_and_kwargs(dict(args), None)
        except Exception as exc:
            want = (type(exc), str(exc))
        try:
            got: object = tool._to_args_and_kwargs(dict(args), None)
        except Exception as exc:
            got = (type(exc), str(exc))
        assert got == want, args
