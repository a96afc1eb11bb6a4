"""Tolerant parsing of model output: prefixes, fences, chatter and garbage."""

from __future__ import annotations

import pytest

from learnact_langgraph.parsing import (
    called_names,
    extract_functions,
    parse_action,
    parse_revision,
)


@pytest.mark.parametrize(
    "reply",
    [
        "pick('ball1', 'rooma', 'left')",
        "Action: pick('ball1', 'rooma', 'left')",
        "action:pick('ball1', 'rooma', 'left').",
        "```python\npick('ball1', 'rooma', 'left')\n```",
        "\n\n  `pick('ball1', 'rooma', 'left')`  \nI picked the ball.",
        "> Action 3: pick('ball1', 'rooma', 'left')",
    ],
)
def test_action_line_survives_decoration(reply: str) -> None:
    parsed = parse_action(reply)
    assert parsed.kind == "code"
    assert parsed.text == "pick('ball1', 'rooma', 'left')"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("I think I should pick the ball first.", "syntax"),
        ("x = 3", "calls no action"),
        ("pick('ball1', ", "syntax"),
        ("move(" + "'a', " * 2000 + ")", "too long"),
    ],
)
def test_garbage_is_unparsable_not_a_crash(reply: str, reason: str) -> None:
    parsed = parse_action(reply)
    assert parsed.kind == "unparsable"
    assert reason in parsed.reason


def test_think_lines_only_for_react() -> None:
    assert parse_action("Think: first the left ball", allow_think=True).kind == "think"
    assert parse_action("Think: first the left ball").kind == "unparsable"


def test_extract_functions_keeps_defs_and_drops_top_level_calls() -> None:
    reply = (
        "Here you go:\n```python\nimport os\n\ndef a(x):\n    return b(x)\n\n"
        "def b(x):\n    return move(x, x)\n\na('r')\n```\nDone."
    )
    got = extract_functions(reply)
    assert got.error == ""
    assert list(got.functions) == ["a", "b"]
    assert got.functions["a"] == "def a(x):\n    return b(x)"


def test_extract_functions_reports_syntax_errors_and_missing_code() -> None:
    assert "SyntaxError" in extract_functions("```python\ndef a(:\n```").error
    assert "no ```python" in extract_functions("no code here").error
    assert "no top-level function" in extract_functions("```python\nmove(1, 2)\n```").error


def test_called_names_in_order() -> None:
    assert called_names("carry(a, b); move(b, len(c))") == ["carry", "move", "len"]
    assert called_names("not python (") == []


def test_parse_revision_update_and_plan() -> None:
    update = parse_revision(
        "Failed reason: the gripper was busy\nImprove: Update: carry\nContent:\n"
        "```python\ndef carry(b):\n    return drop(b)\n```",
        default_target="carry",
    )
    assert update.kind == "update"
    assert update.reason == "the gripper was busy"
    assert list(update.functions) == ["carry"]
    plan = parse_revision(
        "Failed reason: wrong room\nImprove: Plan: [carry]\nContent: Call carry only when "
        "Robby is in the ball's room.\n\n",
        default_target="x",
    )
    assert plan.kind == "plan"
    assert plan.target == "carry"
    assert plan.note == "Call carry only when Robby is in the ball's room."
    assert parse_revision("no idea", "carry").kind == "invalid"
