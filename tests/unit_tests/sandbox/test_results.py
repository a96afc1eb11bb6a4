"""Structured results: values, observations, sub-steps, tracebacks, printed output."""

from __future__ import annotations

import pytest

from learnact_langgraph.envs.base import INVALID_PRECONDITION
from learnact_langgraph.sandbox import LearnedCodeError, PolicyViolation, Sandbox, SubStep
from tests.unit_tests.sandbox.toy_env import CARRY


def test_learned_action_success(sb: Sandbox) -> None:
    result = sb.run("carry('a', 'b', 'b1')")
    assert result.ok and result.error_kind is None and result.failed_substep is None
    assert result.substeps == (
        SubStep("pick", ("b1", "a"), True, "You hold b1.", None),
        SubStep("move", ("a", "b"), True, "You are in b."),
        SubStep("drop", ("b1", "b"), True, "b1 is in b. The goal is satisfied.", done=True),
    )
    assert result.value == "b1 is in b. The goal is satisfied."
    assert result.observation == result.substeps[-1].observation
    assert not result.rolled_back and result.duration_s > 0
    assert sb.env.done and sb.env.steps == 3


def test_call_with_structured_arguments(sb: Sandbox) -> None:
    result = sb.call("carry", "a", "b", "b1")
    assert result.ok and [s.name for s in result.substeps] == ["pick", "move", "drop"]


def test_call_of_a_base_action(sb: Sandbox) -> None:
    result = sb.call("move", "a", "c")
    assert result.ok and result.observation == "You are in c."
    assert result.substeps == (SubStep("move", ("a", "c"), True, "You are in c."),)


def test_call_of_an_unknown_action_is_an_invalid_step(sb: Sandbox) -> None:
    result = sb.call("fly", "a")
    assert result.error_kind == "invalid_action" and result.failed_substep == 0
    assert result.substeps[0].error == "unknown_action"


def test_call_with_unserialisable_arguments(sb: Sandbox) -> None:
    result = sb.call("carry", "a", object(), "b1")
    assert result.error_kind == "python_exception" and "strings, numbers" in result.message


def test_observation_objects_let_code_branch(sb: Sandbox) -> None:
    result = sb.run("o = pick('b2', 'a')\n(o.valid, o.done, o)")
    assert result.value == [False, False, INVALID_PRECONDITION]


def test_value_of_final_expression_and_plain_data(sb: Sandbox) -> None:
    assert sb.run("x = 2\nx * 21").value == 42
    assert sb.run("{'a': [1, 2.5, None, True]}").value == {"a": [1, 2.5, None, True]}
    assert sb.run("x = 1").value is None
    assert sb.run("(i for i in [])").value.startswith("<generator object")


def test_observation_without_base_actions(sb: Sandbox) -> None:
    assert sb.run("'hello'").observation == "hello"
    printed = sb.run("print('hi', 3)")
    assert printed.stdout == "hi 3\n" and printed.observation == "hi 3"
    assert sb.run("x = 1").observation == "The code ran and called no action."


def test_invalid_sub_step_fails_the_call_and_names_it(sb: Sandbox) -> None:
    sb.load({"bad": "def bad():\n    move('a', 'b')\n    pick('b1', 'b')\n    move('b', 'c')\n"})
    result = sb.run("bad()")
    assert not result.ok and result.error_kind == "invalid_action"
    assert result.failed_substep == 1
    assert "pick('b1', 'b') (sub-step 2 of 3) was not valid" in result.message
    assert [s.valid for s in result.substeps] == [True, False, True]
    assert result.rolled_back and sb.env.state["at"] == "a"
    # After a rollback the agent is told the state it is really in, not an undone one.
    assert "Last valid observation" not in result.observation
    assert result.observation.endswith(f"back in the state before it: {sb.env.observation}")


def test_traceback_points_at_learned_lines(sb: Sandbox) -> None:
    sb.load(
        {
            "helper": "def helper(x):\n    return {'a': 1}[x]\n",
            "outer": "def outer():\n    move('a', 'b')\n    return helper('zz')\n",
        }
    )
    result = sb.run("y = 1\nouter()")
    assert result.error_kind == "python_exception" and result.message == "KeyError: 'zz'"
    tb = result.traceback
    assert 'File "<action>", line 2, in <module>' in tb
    assert 'File "<learned:outer>", line 3, in outer' in tb
    assert "return helper('zz')" in tb
    assert 'File "<learned:helper>", line 2, in helper' in tb
    assert "worker.py" not in tb and "sandbox" not in tb
    assert result.rolled_back


def test_syntax_error_in_agent_line(sb: Sandbox) -> None:
    result = sb.run("carry('a', 'b'")
    assert result.error_kind == "python_exception" and "syntax error" in result.message


def test_name_error_is_a_python_exception(sb: Sandbox) -> None:
    result = sb.run("teleport('b1')")
    assert result.error_kind == "python_exception"
    assert result.message == "NameError: name 'teleport' is not defined"


def test_check_reports_problems_without_running(sb: Sandbox) -> None:
    assert sb.check(CARRY, "carry") == []
    problems = sb.check("import os\ndef f():\n    return os.__dict__\n")
    assert any("line 1: import of 'os' is not allowed" in p for p in problems)
    assert any("line 3: attribute '__dict__'" in p for p in problems)
    assert sb.check("def f(:\n", "f")[0].startswith("<learned:f> line 1: syntax error")
    assert "defines 'f' but the action is named 'g'" in sb.check("def f():\n    pass\n", "g")[0]
    assert "does not define a function named 'g'" in sb.check("X = 1\n", "g")[0]
    assert "must be a literal" in sb.check("x = move('a', 'b')\ndef f():\n    pass", "f")[0]
    assert (
        "only imports of allowed modules" in sb.check("if x:\n    pass\ndef f():\n    pass", "f")[0]
    )


def test_load_refuses_with_every_problem(sb: Sandbox) -> None:
    with pytest.raises(PolicyViolation) as info:
        sb.load({"f": "def f():\n    import os\n    return eval('1')\n"})
    assert isinstance(info.value, LearnedCodeError) and len(info.value.problems) == 2
    assert "f" not in sb.sources


def test_unload_and_replace(sb: Sandbox) -> None:
    sb.load({"one": "def one():\n    return 1\n"})
    assert sb.run("one()").value == 1
    sb.unload("one")
    assert sb.run("one()").error_kind == "python_exception"
    sb.load({"carry": CARRY}, replace=True)
    assert set(sb.sources) == {"carry"}


def test_huge_return_value_becomes_a_short_repr(sb: Sandbox) -> None:
    result = sb.run("['x' * 50_000] * 100")
    assert result.ok and isinstance(result.value, str) and len(result.value) <= 2000
    assert result.value.startswith("['xxxx")


def test_to_dict_is_json_ready(sb: Sandbox) -> None:
    import json

    result = sb.run("pick('b1', 'a')\nmove('b', 'c')")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["error_kind"] == "invalid_action" and data["failed_substep"] == 1
    assert data["substeps"][0] == {
        "name": "pick",
        "args": ["b1", "a"],
        "valid": True,
        "observation": "You hold b1.",
        "error": None,
        "done": False,
    }
    assert result.last_valid_observation == "You hold b1."
