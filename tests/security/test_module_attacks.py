"""Attacks through the allowed standard-library modules.

Learned code may use re, math, itertools, collections, functools, string, json, heapq,
bisect and random, but only as read-only proxies holding each module's public API: no
submodules, nothing hidden (string.Formatter, random.SystemRandom,
functools.update_wrapper, ...), no shared state that outlives a call. Each case shows
the attack stopped (by the policy, or at run time when the policy is bypassed) and the
next call still working.
"""

from __future__ import annotations

import types
from typing import Any

import pytest

from learnact_langgraph.sandbox import ALLOWED_MODULES, Job, Sandbox, SubprocessBackend
from learnact_langgraph.sandbox.stdlib_modules import HIDDEN, public_api
from tests.security.conftest import answer_move
from tests.security.test_attacks import stopped
from tests.unit_tests.sandbox.toy_env import assert_next_call_works


# ----- the proxies offer exactly the public API -------------------------------------------
@pytest.mark.parametrize("module", ALLOWED_MODULES)
def test_proxies_hold_no_module_no_private_name_and_nothing_hidden(module: str) -> None:
    api = public_api(module)
    assert api, module
    assert not any(isinstance(v, types.ModuleType) for v in api.values())
    assert not any(name.startswith("_") for name in api)
    assert not set(HIDDEN.get(module, {})) & set(api)


@pytest.mark.parametrize(
    ("code", "missing"),
    [
        ("re.enum.sys", "enum"),
        ("re.functools", "functools"),
        ("re.copyreg", "copyreg"),
        ("json.codecs", "codecs"),
        ("json.decoder", "decoder"),
        ("collections.abc", "abc"),
        ("functools.update_wrapper", "update_wrapper"),
        ("functools.wraps", "wraps"),
        ("functools.singledispatch", "singledispatch"),
        ("functools.RLock", "RLock"),
        ("string.Formatter", "Formatter"),
        ("random.SystemRandom", "SystemRandom"),
        ("random.os", "os"),
        ("random.seed.sys", "sys"),
    ],
)
def test_submodules_and_hidden_names_do_not_exist(sb: Sandbox, code: str, missing: str) -> None:
    result = stopped(sb, code, "python_exception", "AttributeError", missing)
    assert "module" in result.message or "object" in result.message


@pytest.mark.parametrize(
    ("code", "kind", "word"),
    [
        ("string.Formatter().format('{0.__class__}', 1)", "policy_violation", "f-string"),
        ("'{0.__globals__}'.format(json.loads)", "policy_violation", "reads an attribute"),
        ("re.sub('a', '{0.__class__}'.format, 'a')", "policy_violation", "reads an attribute"),
        ("collections.UserString('{0.__class__}').format(1)", "policy_violation", "f-string"),
        ("fmt = '{0.__class__}'\nfmt.format(1)", "policy_violation", "f-string"),
        ("str.format('{0.__class__}', 1)", "policy_violation", "f-string"),
        ("json.loads.__globals__", "policy_violation", "'__globals__'"),
        ("re.compile('a').__class__", "policy_violation", "'__class__'"),
        ("collections.Counter.mro()", "policy_violation", "'mro'"),
        ("heapq.merge([1], [2]).gi_frame", "policy_violation", "'gi_frame'"),
        ("random.choice.__self__", "policy_violation", "'__self__'"),
        ("functools.reduce(getattr, ['__class__'], 1)", "policy_violation", "getattr()"),
        ("import importlib", "policy_violation", "import of 'importlib'"),
        ("from json import codecs", "policy_violation", "'codecs' cannot be imported"),
        ("from collections import abc", "policy_violation", "'abc' cannot be imported"),
        ("import collections.abc", "policy_violation", "import of 'collections.abc'"),
    ],
)
def test_module_routes_to_the_object_graph_are_refused(
    sb: Sandbox, code: str, kind: str, word: str
) -> None:
    stopped(sb, code, kind, word)


def test_partial_func_only_gives_back_what_was_put_in(sb: Sandbox) -> None:
    result = sb.run("p = functools.partial(move, 'a')\n[p.func is move, p.args, p.keywords]")
    assert result.ok and result.value == [True, ["a"], {}]
    assert_next_call_works(sb)


def test_modules_are_read_only(sb: Sandbox) -> None:
    for code in ("re.findall = len", "del json.dumps", "math.pi = 3"):
        result = sb.run(code)
        assert result.error_kind == "python_exception" and "read-only" in result.message
    assert sb.run("re.findall('a', 'aa')").value == ["a", "a"]
    assert_next_call_works(sb)


# ----- state never outlives a call ----------------------------------------------------------
@pytest.mark.parametrize(
    ("poison", "check", "expected"),
    [
        (
            "collections.Counter.most_common = len",
            "collections.Counter('aab').most_common(1)",
            [["a", 2]],
        ),
        ("string.Template.delimiter = '%'", "string.Template('$a').substitute(a=1)", "1"),
        ("heapq.nsmallest.memo = [1]", "heapq.nsmallest(1, [2, 1])", [1]),
        ("json.JSONEncoder.item_separator = ';'", "json.dumps([1, 2])", "[1, 2]"),
        ("re.I.label = 'x'", "re.I.name", "IGNORECASE"),
    ],
    ids=["counter-method", "template-attr", "function-attr", "encoder-attr", "enum-member"],
)
def test_changes_to_shared_classes_and_functions_are_undone(
    sb: Sandbox, poison: str, check: str, expected: Any
) -> None:
    assert sb.run(poison).ok
    result = sb.run(check)
    assert result.ok and result.value == expected, result
    assert_next_call_works(sb)


def test_function_attributes_do_not_carry_state_between_calls(sb: Sandbox) -> None:
    assert sb.run("re.findall.memo = 41").ok
    result = sb.run("re.findall.memo")
    assert result.error_kind == "python_exception" and "memo" in result.message
    assert_next_call_works(sb)


def test_random_is_seeded_per_call(sb: Sandbox) -> None:
    first = sb.run("[random.random(), random.choice('abcdef'), random.sample(range(50), 3)]")
    second = sb.run("[random.random(), random.choice('abcdef'), random.sample(range(50), 3)]")
    assert first.ok and first.value == second.value
    sb.load({"roll": "def roll():\n    return random.randint(1, 6)\n"})
    assert sb.call("roll").value == sb.call("roll").value
    sb.unload("roll")
    assert_next_call_works(sb)


def test_state_is_undone_when_only_a_loaded_action_names_the_module(sb: Sandbox) -> None:
    """A line that names no module skips the module reset only while no loaded action
    names one: here the action does, so its change is undone all the same."""
    sb.load({"poison": "def poison():\n    json.JSONEncoder.item_separator = ';'\n"})
    assert sb.run("poison()").ok
    sb.unload("poison")
    result = sb.run("json.dumps([1, 2])")
    assert result.ok and result.value == "[1, 2]", result
    assert_next_call_works(sb)


def test_lines_without_modules_leave_the_random_sequence_alone(sb: Sandbox) -> None:
    line = "[random.random(), random.random()]"
    first = sb.run(line)
    assert sb.run("sorted([3, 1, 2])").value == [1, 2, 3]
    assert sb.run(line).value == first.value
    sb.load({"roll": "def roll():\n    return random.random()\n"})
    assert sb.run("[1, 2]").ok  # seeded again: the library names random now
    assert sb.call("roll").value == sb.call("roll").value == first.value[0]
    sb.unload("roll")


# ----- below the policy: the worker's own guards --------------------------------------------
@pytest.mark.parametrize(
    "poison",
    [
        "__builtins__['json'].JSONEncoder.item_separator = ';'",
        "g = (x for x in [1])\ng.gi_frame.f_builtins['json'].JSONEncoder.item_separator = ';'",
    ],
    ids=["builtins-dict", "frame-walk"],
)
def test_without_policy_a_module_reached_without_its_name_is_still_put_back(
    backend: SubprocessBackend, poison: str
) -> None:
    """A call that names no module skips the module reset; code that reaches a module
    through the builtins dict or a frame (which the policy refuses) does not."""
    assert backend.execute(Job(source=poison), answer_move).ok
    outcome = backend.execute(Job(source="json.dumps([1, 2])"), answer_move)
    assert outcome.ok and outcome.value == "[1, 2]", outcome


@pytest.mark.parametrize("module", ALLOWED_MODULES)
def test_without_policy_a_proxy_lists_exactly_the_public_api(
    backend: SubprocessBackend, module: str
) -> None:
    outcome = backend.execute(Job(source=f"sorted({module}.__dir__())"), answer_move)
    assert outcome.ok and outcome.value == sorted(public_api(module)), outcome


@pytest.mark.parametrize(
    "code",
    [
        "string.Formatter().format('{0.__class__}', 1)",
        "functools.update_wrapper(lambda: 0, move, assigned=('__globals__',))",
        "re.__dict__",
        "json.__class__.__dict__['codecs']",
        "__import__('re').enum",
        "__import__('json.decoder')",
    ],
)
def test_without_policy_hidden_routes_still_fail(backend: SubprocessBackend, code: str) -> None:
    outcome = backend.execute(Job(source=code), answer_move)
    assert outcome.error_kind == "python_exception", outcome
    assert any(e in outcome.message for e in ("AttributeError", "ImportError", "KeyError"))
    assert (
        backend.execute(Job(source="move('a', 'b') + '!'"), answer_move).value == "You are in b.!"
    )


@pytest.mark.parametrize(
    "code",
    ["re.match('(a+)+$', 'a' * 40 + 'b')", "math.factorial(10 ** 8)"],
    ids=["regex-backtracking", "long-c-call"],
)
def test_long_calls_inside_module_functions_hit_a_limit(sb: Sandbox, code: str) -> None:
    result = sb.run(code)
    assert result.error_kind in ("timeout", "limit"), result
    assert_next_call_works(sb)
