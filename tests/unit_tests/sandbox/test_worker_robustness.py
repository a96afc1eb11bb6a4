"""The worker never dies on code it is given: a refusal or an error reply, then business as usual.

Some cases go through the gate, others straight to the backend (as if the gate had a
hole): compiling non-ASCII names needs ``unicodedata``, which the locked-down worker
imported beforehand, and any exception from ``compile`` becomes an error reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from learnact_langgraph.sandbox import (
    BaseReply,
    Job,
    LearnedCodeError,
    PolicyViolation,
    Sandbox,
    SubprocessBackend,
)
from tests.unit_tests.sandbox.conftest import SMALL
from tests.unit_tests.sandbox.toy_env import CARRY, assert_next_call_works


def _answer(name: str, args: tuple[Any, ...]) -> BaseReply:
    return BaseReply("You are in b.", True, False)


@pytest.fixture(scope="module")
def backend() -> Iterator[SubprocessBackend]:
    b = SubprocessBackend(["move"], SMALL)
    b.load({"go": "def go():\n    return move('a', 'b') + '!'\n"})
    yield b
    b.close()


def still_works(b: SubprocessBackend) -> None:
    outcome = b.execute(Job(call=("go", ())), _answer)
    assert outcome.ok and outcome.value == "You are in b.!", outcome
    assert set(b._sources) == {"go"}


ODD_SOURCES = {
    "non_ascii_name": "def bad():\n    größe = 1\n    return größe\n",
    "full_width_name": "def bad():\n    ｘ = 2\n    return ｘ\n",
    "syntax_error": "def bad(:\n",
    "null_byte": "def bad():\n    return 1\n\x00",
    "deep_parens": "def bad():\n    return " + "(" * 300 + "1" + ")" * 300 + "\n",
    "deep_unary": "def bad():\n    return " + "-" * 100_000 + "1\n",
    "lone_surrogate": "def bad():\n    return '\ud800'\n",
    "huge_int": "def bad():\n    return 1" + "0" * 10_000 + "\n",
    "too_many_indents": "def bad():\n" + "".join(" " * (i + 1) + "if 1:\n" for i in range(110)),
}


@pytest.mark.parametrize("source", list(ODD_SOURCES.values()), ids=list(ODD_SOURCES))
def test_load_answers_for_any_source_and_keeps_the_old_set(
    backend: SubprocessBackend, source: str
) -> None:
    try:
        backend.load({"go": backend._sources["go"], "bad": source})
    except LearnedCodeError as exc:
        assert "could not load" in str(exc)
        still_works(backend)
        return
    outcome = backend.execute(Job(call=("bad", ())), _answer)  # it compiled: it must run
    assert outcome.ok, outcome
    backend.load({"go": "def go():\n    return move('a', 'b') + '!'\n"})
    still_works(backend)


@pytest.mark.parametrize("source", list(ODD_SOURCES.values()), ids=list(ODD_SOURCES))
def test_agent_code_that_cannot_compile_is_an_error_reply(
    backend: SubprocessBackend, source: str
) -> None:
    outcome = backend.execute(Job(source=source + "\nbad()\n"), _answer)
    assert outcome.error_kind in ("python_exception", "limit", None), outcome
    still_works(backend)


def test_non_ascii_names_compile_in_the_locked_down_worker(backend: SubprocessBackend) -> None:
    backend.load({"go": backend._sources["go"], "bad": ODD_SOURCES["non_ascii_name"]})
    assert backend.execute(Job(call=("bad", ())), _answer).value == 1
    backend.load({"go": "def go():\n    return move('a', 'b') + '!'\n"})
    still_works(backend)


# ----- through the Sandbox and its gate -------------------------------------------------------
@pytest.mark.parametrize("source", list(ODD_SOURCES.values()), ids=list(ODD_SOURCES))
def test_the_sandbox_refuses_or_runs_and_never_closes(sb: Sandbox, source: str) -> None:
    try:
        sb.load({"bad": source})
    except PolicyViolation as exc:
        assert exc.problems and all("\n" not in p for p in exc.problems)
    else:
        assert sb.call("bad").error_kind in (None, "python_exception", "limit")
        sb.unload("bad")
    result = sb.run(source)
    assert not result.ok or result.error_kind is None
    assert_next_call_works(sb)


def test_names_the_parser_folds_to_ascii_inside_f_strings_still_run(sb: Sandbox) -> None:
    """Full-width letters inside an f-string field reach the worker's compiler, which
    normalises them with ``unicodedata`` (imported before the lockdown)."""
    source = "def shout(x):\n    return f'{ｘ}!'\n"
    assert sb.check(source, "shout") == []
    sb.load({"shout": source})
    assert sb.call("shout", "hi").value == "hi!"
    sb.unload("shout")
    assert_next_call_works(sb)


def test_an_action_whose_module_fails_does_not_break_the_others(sb: Sandbox) -> None:
    backend = sb.backend
    assert isinstance(backend, SubprocessBackend)
    backend.load({"carry": CARRY, "boom": "X = 1 // 0\ndef boom():\n    return X\n"})
    result = sb.run("carry('a', 'b', 'b1')")
    assert result.ok, result
    failed = sb.run("boom()")
    assert failed.error_kind == "python_exception" and "failed to load" in failed.message
    backend.load({"carry": CARRY})
    assert_next_call_works(sb)


def test_annotations_are_never_evaluated(sb: Sandbox) -> None:
    source = "def typed(ball: Ball, room: move('a', 'b')) -> Observation:\n    return ball\n"
    assert sb.check(source, "typed") == []
    sb.load({"typed": source})
    result = sb.call("typed", "b1", "a")
    assert result.ok and result.value == "b1" and result.substeps == ()
    sb.unload("typed")
    assert_next_call_works(sb)
