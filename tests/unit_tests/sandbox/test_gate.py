"""The gate: one check for learned code, used by the learner, the sandbox and the library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.code_checks import check_functions, unknown_calls
from learnact_langgraph.errors import ActionValidationError
from learnact_langgraph.sandbox import (
    ALLOWED_MODULES,
    Sandbox,
    check_action,
    check_actions,
    check_code,
    policy,
)
from learnact_langgraph.sandbox.gate import MAX_DEPTH, MAX_SOURCE_CHARS, action_shape, parse_source
from learnact_langgraph.sandbox.policy import AVAILABLE_NAMES, SAFE_BUILTINS

BASE = ("move", "pick", "drop")


def refused(source: str, *fragments: str, name: str | None = None) -> list[str]:
    """``source`` is refused, every fragment appears, and every problem is one line."""
    problems = check_code(source) if name is None else check_action(name, source)
    assert problems, source
    text = " | ".join(problems)
    for fragment in fragments:
        assert fragment in text, text
    assert all("\n" not in p and p.strip() for p in problems)
    return problems


def fine(source: str, name: str | None = None, base: tuple[str, ...] = BASE) -> None:
    problems = check_code(source) if name is None else check_action(name, source, base_actions=base)
    assert problems == [], problems


# ----- 1. allowlisted modules ---------------------------------------------------------------
@pytest.mark.parametrize("module", ALLOWED_MODULES)
def test_every_allowed_module_can_be_imported_or_used_bare(module: str) -> None:
    fine(f"import {module}")
    fine(f"import {module} as m{module}")
    fine(f"def f():\n    import {module}\n    return {module}\n", name="f")
    fine(f"def f():\n    return {module}\n", name="f")


def test_from_imports_are_judged_against_the_public_api() -> None:
    fine("from re import findall, search as find\nfindall('a', 'a')")
    fine("def f(t):\n    from collections import Counter\n    return Counter(t)\n", name="f")
    refused("from re import enum", "'enum' cannot be imported from 're'")
    refused("from json import codecs", "'codecs' cannot be imported from 'json'")
    refused("from string import Formatter", "'Formatter' cannot be imported")
    refused("from random import SystemRandom", "'SystemRandom' cannot be imported")
    refused("from re import *", "import the names you use")
    refused("from . import re", "relative imports are not allowed")


@pytest.mark.parametrize("code", ["import os", "import collections.abc", "from os import path"])
def test_other_imports_are_refused_with_the_allowed_list(code: str) -> None:
    refused(
        code, "is not allowed", "only these modules can be imported: " + ", ".join(ALLOWED_MODULES)
    )


def test_modules_count_as_provided_names() -> None:
    assert set(ALLOWED_MODULES) <= AVAILABLE_NAMES
    assert SAFE_BUILTINS <= AVAILABLE_NAMES


# ----- 2. str.format and format_map ----------------------------------------------------------
@pytest.mark.parametrize(
    "code",
    [
        "'{} at {}'.format(1, 2)",
        '"{x}".format_map({"x": 1})',
        "'{0[key]} {1:>{2}}'.format({'key': 1}, 'a', 3)",
        "f = '{}!'.format\nf(1)",
        "format(3.5, '.1f')",
    ],
)
def test_format_on_a_literal_without_attribute_fields_is_fine(code: str) -> None:
    fine(code)


@pytest.mark.parametrize(
    "code",
    [
        "'{0.__class__}'.format(1)",
        "'{.x}'.format(1)",
        "'{a.b}'.format_map({})",
        "'{:{0.real}}'.format(1)",
    ],
)
def test_format_fields_that_read_attributes_are_refused(code: str) -> None:
    refused(code, "reads an attribute", "compute the value first")


@pytest.mark.parametrize(
    "code",
    ["x = '{}'\nx.format(1)", "str.format('{}', 1)", "('{}' + '!').format(1)", "s.format_map({})"],
)
def test_format_on_anything_but_a_literal_is_refused(code: str) -> None:
    refused(code, "only allowed on a literal format string", "f-string")


def test_broken_literal_format_string_is_refused() -> None:
    refused("'{'.format(1)", "is invalid")


# ----- 3. the name _ -------------------------------------------------------------------------
def test_underscore_is_an_ordinary_name_but_prefixes_stay_private() -> None:
    fine("for _ in range(3):\n    pass\n_ = 1\n_\n(lambda _: _)(1)")
    fine("def f(_, a):\n    return [a for _ in range(2)]\n", name="f")
    refused("_x = 1", "'_x' is not allowed", "private", "rename it (e.g. 'x')")
    refused("def f(_a):\n    pass", "parameter '_a'")
    refused("().__class__", "attribute '__class__'")


# ----- 4. non-ASCII identifiers --------------------------------------------------------------
@pytest.mark.parametrize(
    "code",
    [
        "größe = 1",
        "def f(größe):\n    return größe",
        "def größe():\n    pass",
        "x = 1\nx.größe",
        "len(x=1, größe=2)",
        "ｘ = 1",  # full-width: the parser folds it to 'x'; the tokens still show it
        "f'{größe}'",
    ],
)
def test_non_ascii_names_are_refused(code: str) -> None:
    refused(code, "use ASCII letters, digits and underscores in names")


def test_non_ascii_text_in_strings_and_comments_is_fine() -> None:
    fine("# größe, 東京\ns = 'größe 東京 ☃'\nf'{s} é'")


def test_a_non_ascii_action_name_is_refused() -> None:
    refused("def größe():\n    pass\n", "use ASCII letters", name="größe")


# ----- 5. decorators, defaults, star-args ----------------------------------------------------
@pytest.mark.parametrize(
    "code",
    [
        "def f(a, b='x', n=3, k=None, t=(1, -2), z=-1.5, e=...):\n    pass",
        "g = lambda a, n=3, t=('a', 1): a",
    ],
)
def test_literal_defaults_are_fine(code: str) -> None:
    fine(code)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("def f(a, b=move('a', 'b')):\n    pass", "write b=None"),
        ("def f(a, b=[]):\n    pass", "must be a literal"),
        ("def f(a, b=len):\n    pass", "must be a literal"),
        ("def f(a, b={}):\n    pass", "must be a literal"),
        ("g = lambda x, i=len: x", "nested def instead of a lambda"),
        ("def outer():\n    def inner(b=[]):\n        pass\n", "parameter 'b' in 'inner'"),
    ],
)
def test_non_literal_defaults_are_refused(code: str, fragment: str) -> None:
    refused(code, fragment)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("def f(*args):\n    pass", "*args is not allowed in 'f'"),
        ("def f(**kwargs):\n    pass", "**kwargs is not allowed in 'f'"),
        ("def f(a, *, b):\n    pass", "keyword-only parameters"),
        ("def f(a, /, b):\n    pass", "positional-only parameters"),
        ("g = lambda *a: a", "*a is not allowed in the lambda"),
        ("def outer():\n    def inner(**k):\n        pass\n", "**k is not allowed in 'inner'"),
    ],
)
def test_star_args_and_markers_are_refused_everywhere(code: str, fragment: str) -> None:
    refused(code, fragment, "not allowed")


@pytest.mark.parametrize(
    "code", ["@len\ndef f():\n    pass", "def o():\n    @move\n    def i():\n        pass\n"]
)
def test_decorators_are_refused(code: str) -> None:
    refused(code, "decorators are not allowed", "call functions directly")


# ----- 6. parser exhaustion and size ---------------------------------------------------------
@pytest.mark.parametrize(
    "source",
    [
        "(" * 300 + "1" + ")" * 300,
        "[" * 150 + "]" * 150,
        "x = " + "-" * 50_000 + "1",
        "x = " + "not " * 20_000 + "1",
        "x = a" + ".b" * 20_000,
        "x = " + "1 + " * 30_000 + "1",
        "def f():\n    return 1\n\x00",
        "s = '\ud800'",
        "x = 1" + "0" * 5_000,
        "x = 1\n" * 20_000,
        "if x:\n" + "".join(" " * (i + 1) + "if x:\n" for i in range(120)),
    ],
    ids=[
        "parens",
        "lists",
        "unary",
        "not",
        "attrs",
        "sum",
        "null",
        "surrogate",
        "digits",
        "huge",
        "indent",
    ],
)
def test_exhausting_sources_are_refused_with_a_reason(source: str) -> None:
    for problems in (check_code(source), check_action("f", source)):
        assert problems and all(isinstance(p, str) and p for p in problems)
    tree, problems = parse_source(source)
    assert tree is None and problems


def test_size_and_depth_limits_are_generous() -> None:
    assert MAX_SOURCE_CHARS >= 100_000 and MAX_DEPTH >= 50
    long_ok = "def f():\n" + "    x = 1\n" * 5_000
    assert len(long_ok) < MAX_SOURCE_CHARS
    fine(long_ok, name="f")
    refused("x = 1\n" * 20_000, "write shorter code")
    refused("x = " + "[" * 120 + "]" * 120, f"more than {MAX_DEPTH} levels")


def test_the_depth_limit_is_exact() -> None:
    """Module, Assign, then one level per unary minus, then the constant: ``n`` minus
    signs make a tree ``n + 3`` deep, so the limit falls between two neighbours."""
    at_limit = "x = " + "-" * (MAX_DEPTH - 3) + "1"
    assert parse_source(at_limit)[0] is not None
    refused("x = " + "-" * (MAX_DEPTH - 2) + "1", f"more than {MAX_DEPTH} levels")
    wide = "x = [" + ", ".join(["-" * (MAX_DEPTH - 4) + "1"] * 50) + "]"
    assert parse_source(wide)[0] is not None  # width is not depth


# ----- 7. messages say how to rewrite ------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("def f():\n    global G\n", "pass the value as a parameter and return the new value"),
        ("class A:\n    pass", "use plain functions and dicts"),
        ("async def f():\n    pass", "write a plain def"),
        ("match x:\n    case 1:\n        pass", "use if/elif"),
        ("eval('1')", "eval() is not available in learned code: write the code itself"),
        ("type(1)", "use isinstance"),
        ("getattr(x, 'y')", "keep data keyed by name in a dict"),
        ("os.listdir('/')", "reaches the world only through base actions"),
        ("x.gi_frame", "attribute 'gi_frame' is not allowed"),
    ],
)
def test_refusals_show_how_to_rewrite(code: str, fragment: str) -> None:
    refused(code, fragment)


# ----- 8. the action's shape -----------------------------------------------------------------
def test_an_action_source_holds_imports_constants_and_one_def() -> None:
    source = (
        '"""Doc."""\nimport re\nfrom math import ceil\nLIMIT = 3\nNAMES: list = ["a"]\n'
        "TABLE = {'a': (1, 2)}\n\ndef go(a, n=LIMIT_DEFAULT):\n    return re, ceil, LIMIT\n"
    )
    refused(source, "parameter 'n'", name="go")
    fine(source.replace("n=LIMIT_DEFAULT", "n=3"), name="go")


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("X = move('a', 'b')\ndef go():\n    pass\n", "must be a literal"),
        ("X = [len]\ndef go():\n    pass\n", "must be a literal"),
        ("X, Y = 1, 2\ndef go():\n    pass\n", "only imports of allowed modules"),
        ("print(1)\ndef go():\n    pass\n", "move this expr statement into `def go`"),
        ("for _ in []:\n    pass\ndef go():\n    pass\n", "only imports"),
        ("def helper():\n    pass\ndef go():\n    pass\n", "nest helpers inside `def go`"),
        ("def go():\n    pass\ndef go():\n    pass\n", "defines 'go' twice"),
        ("X = 1\n", "does not define a function named 'go'"),
        ("move = 1\ndef go():\n    pass\n", "would hide the base action"),
        ("def move():\n    pass\ndef go():\n    pass\n", "'move' is a base action"),
    ],
)
def test_action_shape_problems(source: str, fragment: str) -> None:
    problems = check_action("go", source, base_actions=BASE)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("2go", "not a Python identifier"),
        ("for", "Python keyword"),
        ("_go", "reserved for private names"),
        ("len", "would hide the builtin"),
        ("re", "would hide the builtin or module"),
        ("move", "is a base action"),
    ],
)
def test_action_names(name: str, fragment: str) -> None:
    problems = check_action(name, f"def {name}():\n    pass\n", base_actions=BASE)
    assert any(fragment in p for p in problems), problems


def test_action_shape_reads_the_def_even_where_the_policy_refuses() -> None:
    node, problems = action_shape("go", "import os\ndef go(a, b=1):\n    return os\n")
    assert problems == [] and node is not None and node.name == "go"
    assert check_action("go", "import os\ndef go(a, b=1):\n    return os\n")


# ----- base actions ----------------------------------------------------------------------------
def test_base_action_names_give_meaning_to_refused_names() -> None:
    source = "def take_out(c):\n    open(c)\n    return fetch(c)\n"
    assert check_action("take_out", source, base_actions=("open", "fetch")) == []
    assert check_action("take_out", source, base_actions=None) == []  # unknown: not judged
    assert any("open() is not available" in p for p in check_action("take_out", source))


def test_check_actions_reports_every_action() -> None:
    problems = check_actions(
        {"a": "def a():\n    pass\n", "b": "import os\ndef b():\n    pass\n", "c": "C = 1\n"}
    )
    assert [p.split(" ")[0].rstrip(":") for p in problems] == ["<learned:b>", "<learned:c>"]
    same = {"a": "X = 1\ndef a():\n    return X\n", "b": "X = 2\ndef b():\n    return X\n"}
    assert check_actions(same) == []  # each source runs in its own namespace


# ----- one verdict everywhere --------------------------------------------------------------
VERDICT_CASES = [
    "def go(a):\n    return move(a, 'b')\n",
    "import re\nN = 2\ndef go(a, k='x'):\n    return re.findall(a, k)[:N]\n",
    "def go(*a):\n    pass\n",
    "@len\ndef go():\n    pass\n",
    "def go(b=move('a', 'b')):\n    pass\n",
    "def go():\n    größe = 1\n",
    "import os\ndef go():\n    pass\n",
    "X = len('a')\ndef go():\n    pass\n",
    "def go():\n    return '{0.__class__}'.format(1)\n",
    "def go():\n    for _ in range(2):\n        pass\n",
    "def go(:\n",
]


@pytest.mark.parametrize("source", VERDICT_CASES)
def test_gate_library_and_learner_agree(source: str) -> None:
    gate_ok = not check_action("go", source, base_actions=BASE)
    try:
        LearnedAction(name="go", source=source).check_names(BASE)
        library_ok = True
    except ActionValidationError:
        library_ok = False
    learner_ok = not check_functions(
        {"go": source}, known=set(BASE), reserved=set(BASE), check=lambda s: []
    )
    assert gate_ok == library_ok == learner_ok


# ----- the learner counts as provided exactly what the sandbox provides -------------------------
def test_learner_name_checks_match_the_names_the_sandbox_provides(sb: Sandbox) -> None:
    import builtins

    keywords = {"True", "False", "None"}
    lacking = sorted(
        n
        for n in dir(builtins)
        if not n.startswith("_") and n not in AVAILABLE_NAMES and n not in keywords
    )
    for name in sorted(AVAILABLE_NAMES):
        source = f"def probe():\n    return {name}\n"
        assert unknown_calls({"probe": source}, set()) == [], name
        assert sb.run(f"x = {name}").ok, name
    for name in lacking:
        if check_code(f"x = {name}"):  # refused outright (open, eval, ...): the gate says why
            continue
        source = f"def probe():\n    return {name}\n"
        assert unknown_calls({"probe": source}, set()), name
        result = sb.run(f"x = {name}")
        assert result.error_kind == "python_exception" and "NameError" in result.message, name


def test_the_policy_walks_every_node_in_ast_walk_order() -> None:
    import learnact_langgraph.sandbox.gate as gate_module

    tree = ast.parse(Path(gate_module.__file__).read_text(encoding="utf-8"))
    assert list(policy.walk(tree)) == list(ast.walk(tree))


def test_node_types_the_policy_skips_have_nothing_to_report() -> None:
    """The policy skips nodes of types it never looks at (most of a tree); a check
    added for another type must add it to ``_CHECKED_TYPES`` or this fails."""
    kinds = [
        k
        for k in vars(ast).values()
        if isinstance(k, type) and issubclass(k, ast.AST) and k._fields is not None
    ]
    skipped = [k for k in kinds if not policy._checked(k)]
    assert ast.Call in skipped and ast.Name not in skipped
    for kind in skipped:
        try:
            node = kind()
        except TypeError:  # ast.Index and the like: deprecated, never parsed
            continue
        assert list(policy._fixed_problems(node)) == [], kind


_VERDICT_SOURCES = {
    "fine": "def fine(a, b='x'):\n    pick(a, b, 'left')\n    return drop(a, b, 'left')\n",
    "opener": "def opener(box):\n    return open(box)\n",
    "private": "def private(a):\n    _hidden = a\n    return _hidden.__class__\n",
    "shadow": "def shadow(a):\n    return a\n\n\ndef pick(x):\n    return x\n",
    "pick": "def pick(a):\n    return a\n",
    "naïve": "def naïve(a):\n    return a\n",
    "wide": "def wide(a):\n    ｂ = a\n    global g\n    import os\n    return ｂ\n",
    "broken": "def broken(a):\n    return (\n",
}
_BASES: list[list[str] | set[str] | None] = [None, [], ["pick", "open"], {"open", "pick"}]


def test_a_verdict_is_the_same_whatever_the_gate_was_asked_before() -> None:
    """The gate keeps one parse and one policy walk per source for every set of base
    actions: each verdict equals the one it gives with nothing kept, in any order of
    questions, and a set of base names is the list of the same names."""
    from learnact_langgraph.sandbox import gate

    queries = [(name, base) for name in _VERDICT_SOURCES for base in _BASES]
    fresh = {}
    for i, (name, base) in enumerate(queries):
        gate.clear_verdicts()
        fresh[i] = check_action(name, _VERDICT_SOURCES[name], base_actions=base)
    assert fresh[queries.index(("opener", None))] == []
    assert any("open" in p for p in fresh[queries.index(("opener", []))])
    assert fresh[queries.index(("opener", ["pick", "open"]))] == []
    assert any("base action" in p for p in fresh[queries.index(("pick", ["pick", "open"]))])
    for order in (range(len(queries)), reversed(range(len(queries))), range(0, len(queries), 3)):
        gate.clear_verdicts()
        for i in order:
            name, base = queries[i]
            assert check_action(name, _VERDICT_SOURCES[name], base_actions=base) == fresh[i]
