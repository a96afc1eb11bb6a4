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


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[object]]:
    """The gate's parses (file names) and policy walks (trees), as they happen."""
    from learnact_langgraph.sandbox import gate, policy

    parses: list[str] = []
    walks: list[object] = []
    real, real_findings = gate.parse_source, policy.findings
    monkeypatch.setattr(
        gate, "parse_source", lambda src, fn="<code>": parses.append(fn) or real(src, fn)
    )
    monkeypatch.setattr(policy, "findings", lambda tree: walks.append(tree) or real_findings(tree))
    return parses, walks


def test_a_version_is_parsed_and_walked_once_whatever_it_is_checked_against(
    counted: tuple[list[str], list[object]],
) -> None:
    """Validating, reading the signature and docstring, writing the record and checking
    against the base actions used to parse the source again each time (four parses
    and two policy walks per imported action)."""
    from learnact_langgraph import actions

    parses, walks = counted
    source = CARRY.replace("def carry(", "def carry_once(")
    actions.forget_parsed_sources()
    a = LearnedAction(name="carry_once", source=source, description="Carry a ball.")
    record = a.to_record()
    assert a.docstring == "Carry obj from src to dst." and record["signature"] == a.signature
    a.check_names(["pick", "move", "drop"])
    a.check_names({"drop", "move", "pick"})  # the same names, as the library's set
    assert len(parses) == 1 and len(walks) == 1
    again = LearnedAction.from_record(record)
    again.check_names(["drop", "pick", "move"])
    assert again.signature == a.signature and len(parses) == 1 and len(walks) == 1
    with pytest.raises(ActionValidationError, match="does not define a function"):
        LearnedAction(name="carry_once", source="x = 1\n")


def test_a_release_parses_and_walks_each_new_version_once(
    counted: tuple[list[str], list[object]],
) -> None:
    """Adding a source to a release reads its name, validates it and checks it against
    the base actions; committing checks it again and writes its signature and
    description. The commit must not parse or walk again even when every per-process
    cache has forgotten the source, as in a release of thousands (it did, twice)."""
    from langgraph.store.memory import InMemoryStore

    from learnact_langgraph import actions
    from learnact_langgraph.library import ActionLibrary

    from .conftest import BASE, GO

    parses, walks = counted
    lib = ActionLibrary(InMemoryStore(), ("t",), base_actions=BASE)
    actions.forget_parsed_sources()
    with lib.release(message="one") as rel:
        rel.add(CARRY, description="Carry a ball.")
        rel.add(GO)
        assert len(parses) == 2 and len(walks) == 2
        actions.forget_parsed_sources()
    assert len(parses) == 2 and len(walks) == 2
    carry = lib.get("carry")
    assert carry.version == 1 and carry.signature.startswith("carry(obj: str")
    assert lib.get("go").docstring == "" and carry.docstring == "Carry obj from src to dst."


def test_every_way_in_checks_a_version_once_and_raises_our_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``model_validate`` (every read from a store) used to run the model's checks
    twice, because pydantic called the model's own ``__init__`` from inside it."""
    from learnact_langgraph import actions

    checks: list[str] = []
    real = actions._read_def
    monkeypatch.setattr(actions, "_read_def", lambda n, s: checks.append(n) or real(n, s))
    record = LearnedAction(name="carry", source=CARRY).to_record()
    checks.clear()
    LearnedAction.model_validate(record)
    LearnedAction.from_record(record)
    LearnedAction(**record)
    assert checks == ["carry", "carry", "carry"]
    bad = {**record, "source": "def carry(x):\n    import os\n"}
    for build in (LearnedAction.model_validate, LearnedAction.from_record):
        with pytest.raises(ActionValidationError, match="import of 'os'"):
            build(bad)
    with pytest.raises(ActionValidationError, match="import of 'os'"):
        LearnedAction(**bad)


def test_a_kept_verdict_is_never_reused_for_another_source() -> None:
    """The verdict kept on a version is keyed by its source: a copy made with
    ``model_copy`` (which skips validation) and another source is judged again."""
    a = LearnedAction(name="carry", source=CARRY)
    a.check_names(["pick", "move", "drop"])
    bad = a.model_copy(update={"source": "def carry(x):\n    return open(x)\n"})
    with pytest.raises(ActionValidationError, match="open"):
        bad.check_names(["pick", "move", "drop"])
    assert bad.gate_problems(None) == ()  # ``open`` may be a base action when unknown
    with pytest.raises(ActionValidationError, match="base action"):
        a.check_names(["carry", "pick"])


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
        ("class", "def go():\n    pass\n", "is a Python keyword"),
        ("_go", "def _go():\n    pass\n", "reserved"),
        ("max", "def max():\n    pass\n", "would hide the builtin"),
        ("go", "def go(:\n", "does not parse"),
        ("go", "def other():\n    pass\n", "defines 'other' but the action is named 'go'"),
        ("go", "import math\n", "does not define a function named 'go'"),
        ("go", "x = move('a')\ndef go():\n    pass\n", "must be a literal"),
        ("go", "if True:\n    pass\ndef go():\n    pass\n", "only imports of allowed modules"),
        ("go", "import os\ndef go():\n    pass\n", "import of 'os' is not allowed"),
        ("go", "def go(*rooms):\n    pass\n", r"\*rooms is not allowed"),
        ("go", "def go(**kw):\n    pass\n", r"\*\*kw is not allowed"),
        ("go", "def go(a, *, b):\n    pass\n", "keyword-only parameters"),
        ("go", "def go(a, /, b):\n    pass\n", "positional-only parameters"),
        ("go", "def go(a, b=[]):\n    pass\n", "must be a literal"),
        ("go", "@len\ndef go():\n    pass\n", "decorators are not allowed"),
        ("go", "def go():\n    größe = 1\n", "use ASCII letters"),
        ("go", "def go():\n    return ().__class__\n", "'__class__' is not allowed"),
        ("go", "def go():\n    pass\ndef go():\n    pass\n", "twice"),
    ],
)
def test_bad_actions_get_a_clear_error(name: str, source: str, fragment: str) -> None:
    with pytest.raises(ActionValidationError, match=fragment) as info:
        LearnedAction(name=name, source=source)
    assert isinstance(info.value, LearnActError)


def test_what_real_models_write_is_accepted() -> None:
    source = (
        "import re\n"
        "from collections import Counter\n"
        "ROOMS = ['rooma', 'roomb']\n\n"
        "def count_balls(text, room='rooma', limit=3, pair=(1, -2), none=None):\n"
        "    for _ in range(limit):\n"
        "        pass\n"
        "    found = re.findall(r'ball\\d+', text)\n"
        "    return '{} in {}'.format(len(Counter(found)), room)\n"
    )
    a = LearnedAction(name="count_balls", source=source)
    assert a.signature == ("count_balls(text, room='rooma', limit=3, pair=(1, -2), none=None)")


def test_a_version_stored_under_older_rules_stays_readable() -> None:
    record = {"name": "peek", "source": "import os\ndef peek(path):\n    return os.listdir(path)\n"}
    with pytest.raises(ActionValidationError, match="import of 'os'"):
        LearnedAction.from_record(record)
    stored = LearnedAction.from_record(record, stored=True)
    assert stored.signature == "peek(path)"


def test_base_action_clash_is_refused() -> None:
    a = LearnedAction(name="move", source="def move(a, b):\n    return None\n")
    with pytest.raises(ActionValidationError, match="base action"):
        a.check_names(["move", "pick"])


def test_names_a_base_action_gives_meaning_to_are_judged_with_the_base_actions() -> None:
    a = LearnedAction(name="take_out", source="def take_out(c):\n    return open(c)\n")
    a.check_names(["open", "fetch"])  # tyreworld's open is a base action
    with pytest.raises(ActionValidationError, match=r"open\(\) is not available"):
        a.check_names(["move", "pick"])


def test_full_description_lists_notes_and_falls_back_to_docstring() -> None:
    a = LearnedAction(name="carry", source=CARRY, notes=("one", "two"))
    assert a.full_description() == "Carry obj from src to dst.\nUsage notes:\n- one\n- two"


def test_actions_are_frozen() -> None:
    a = LearnedAction(name="carry", source=CARRY)
    with pytest.raises(Exception, match="frozen"):
        a.description = "x"
