"""LearnedAction: validation on the way in, signature from the AST, JSON round trip."""

from __future__ import annotations

import json

import pytest

from learnact_langgraph.actions import LearnedAction, Provenance
from learnact_langgraph.errors import ActionValidationError, LearnActError

from .conftest import CARRY


def test_signature_and_params_come_from_the_def_line() -> None:
    a = LearnedAction(name="carry", source=CARRY, description="Carry a ball.")
    assert a.signature == "carry(obj: str, src: str, dst: str, gripper: str = 'left')"
    assert [p.name for p in a.params] == ["obj", "src", "dst", "gripper"]
    assert [p.required for p in a.params] == [True, True, True, False]
    assert a.docstring == "Carry obj from src to dst."


def test_record_round_trip_is_lossless_json() -> None:
    a = LearnedAction(
        name="carry",
        source=CARRY,
        description="  Carry   a ball.\n",
        notes=("Free a gripper first.",),
        provenance=Provenance(
            run_id="r1",
            round=2,
            candidate=1,
            task_id="gripper/3",
            failure="pick failed",
            models={"learner": "m1"},
        ),
        scores={"success": 0.5},
    )
    record = json.loads(json.dumps(a.to_record()))
    assert record["signature"] == a.signature
    assert LearnedAction.from_record(record) == a
    assert a.description == "Carry a ball."


@pytest.mark.parametrize(
    ("name", "source", "fragment"),
    [
        ("2go", "def go():\n    pass\n", "not a Python identifier"),
        ("class", "def go():\n    pass\n", "not a Python identifier"),
        ("_go", "def _go():\n    pass\n", "reserved"),
        ("go", "def go(:\n", "does not parse"),
        ("go", "def other():\n    pass\n", "defines 'other' but the action is named 'go'"),
        ("go", "import math\n", "does not define a function named 'go'"),
        ("go", "x = 1\ndef go():\n    pass\n", "only imports"),
        ("go", "def go(*rooms):\n    pass\n", "plain parameters"),
        ("go", "def go(a, *, b):\n    pass\n", "plain parameters"),
        ("go", "def go():\n    pass\ndef go():\n    pass\n", "twice"),
    ],
)
def test_bad_actions_get_a_clear_error(name: str, source: str, fragment: str) -> None:
    with pytest.raises(ActionValidationError, match=fragment) as info:
        LearnedAction(name=name, source=source)
    assert isinstance(info.value, LearnActError)


def test_base_action_clash_is_refused() -> None:
    a = LearnedAction(name="move", source="def move(a, b):\n    return None\n")
    with pytest.raises(ActionValidationError, match="base action"):
        a.check_names(["move", "pick"])


def test_full_description_lists_notes_and_falls_back_to_docstring() -> None:
    a = LearnedAction(name="carry", source=CARRY, notes=("one", "two"))
    assert a.full_description() == "Carry obj from src to dst.\nUsage notes:\n- one\n- two"


def test_actions_are_frozen() -> None:
    a = LearnedAction(name="carry", source=CARRY)
    with pytest.raises(Exception, match="frozen"):
        a.description = "x"  # type: ignore[misc]
