"""The optional pydantic-monty backend behind the same Sandbox interface."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from learnact_langgraph.sandbox import Limits, Sandbox
from tests.unit_tests.sandbox.toy_env import fresh_env

pytest.importorskip("pydantic_monty")

CARRY_PLAIN = (
    "def carry(src, dst, ball):\n"
    "    pick(ball, src)\n"
    "    move(src, dst)\n"
    "    return drop(ball, dst)\n"
)


@pytest.fixture(scope="module")
def msb() -> Iterator[Sandbox]:
    limits = Limits(wall_time_s=1.0, output_chars=100, base_calls=10, recursion_depth=50)
    with Sandbox(fresh_env(), backend="monty", limits=limits) as sandbox:
        sandbox.load({"carry": CARRY_PLAIN})
        yield sandbox


@pytest.fixture(autouse=True)
def _reset(msb: Sandbox) -> None:
    msb.env.reset(0)


def test_success_with_substeps(msb: Sandbox) -> None:
    result = msb.run("carry('a', 'b', 'b1')")
    assert result.ok and [s.name for s in result.substeps] == ["pick", "move", "drop"]
    assert result.value == "b1 is in b. The goal is satisfied."


def test_invalid_step_rolls_back(msb: Sandbox) -> None:
    result = msb.call("carry", "a", "c", "b2")
    assert result.error_kind == "invalid_action" and result.failed_substep == 0
    assert result.rolled_back and msb.env.state["at"] == "a"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("while True:\n    pass", "timeout"),
        ("while True:\n    move('a', 'b')", "limit"),
        ("def f(n):\n    return f(n + 1)\nf(0)", "limit"),
        ("while True:\n    print('spam')", "limit"),
        ("x = 'a' * 10 ** 10", "limit"),
    ],
    ids=["wall", "base_calls", "recursion", "output", "memory"],
)
def test_limits(msb: Sandbox, code: str, kind: str) -> None:
    assert msb.run(code).error_kind == kind
    assert msb.run("carry('a', 'b', 'b1')").ok


def test_traceback_names_learned_code(msb: Sandbox) -> None:
    msb.load({"boom": "def boom():\n    return 1 / 0\n"})
    result = msb.run("boom()")
    assert result.error_kind == "python_exception" and "ZeroDivisionError" in result.message
    assert "<learned:boom>" in result.traceback and "<action>" in result.traceback


def test_allowed_modules_monty_has_work_without_an_import(msb: Sandbox) -> None:
    assert msb.run("re.findall('b', 'abb')").value == ["b", "b"]
    assert msb.run("import math\nmath.sqrt(16)").value == 4.0
    first, second = msb.run("random.random()"), msb.run("random.random()")
    assert first.ok and first.value == second.value  # seeded per call, as in the default backend


def test_modules_monty_lacks_are_refused_with_a_clear_message(msb: Sandbox) -> None:
    from learnact_langgraph.sandbox import PolicyViolation

    source = "def lowest(xs):\n    return heapq.nsmallest(1, xs)\n"
    problems = msb.check(source, "lowest")
    assert problems and "monty backend does not provide the module 'heapq'" in problems[0]
    with pytest.raises(PolicyViolation, match="backend='subprocess'"):
        msb.load({"lowest": source})
    result = msb.run("import string\nstring.digits")
    assert result.error_kind == "policy_violation" and "'string'" in result.message
    assert msb.check("def f(string):\n    return string\n", "f") == []  # a parameter is fine
    assert msb.run("carry('a', 'b', 'b1')").ok
