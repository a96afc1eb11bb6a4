"""Argument schemas read from annotation text, never evaluated."""

from __future__ import annotations

from typing import Any

import pytest

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.tools import annotation_type, learned_args_schema


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
