"""About 300 generated hostile or odd sources: each is refused by the gate with a reason,
or it loads and runs, and the one sandbox they all share never closes.

Run as learned actions (``sb.load`` then ``sb.call``) and as agent lines (``sb.run``).
"""

from __future__ import annotations

import ast
import random
import re

import pytest

from learnact_langgraph.sandbox import Sandbox, SandboxError, check_action
from learnact_langgraph.sandbox.agent_lines import base_call
from learnact_langgraph.sandbox.gate import action_shape
from tests.unit_tests.sandbox.toy_env import CARRY, assert_next_call_works

SEED = 7
VALID = [
    CARRY,
    "def f(a, b='x'):\n    return [a, b]\n",
    "import re\nN = 2\ndef f(text):\n    return re.findall(r'\\w+', text)[:N]\n",
    "def f(x):\n    try:\n        return int(x)\n    except ValueError:\n        return None\n",
    "def f(rooms):\n    for _ in rooms:\n        move('a', 'b')\n    return len(rooms)\n",
]
NAMES = ["größe", "ｃａｒｒｙ", "ﬁnd", "naïve", "x\u200d", "δ", "東京", "e\u0301", "\u202ex"]
MODULES = (
    "os sys subprocess importlib builtins ctypes pickle marshal types inspect gc codecs io "
    "typing dataclasses operator"
).split()
ATTACKS = [
    "().__class__.__mro__[1].__subclasses__()",
    "re.compile('a').__class__",
    "'{0.__class__}'.format(1)",
    "getattr(move, '__globals__')",
    "move.__closure__",
    "(lambda: 0).__globals__",
    "[x for x in ()].__class__.__base__",
    "__builtins__",
    "exec('1')",
    "open('/etc/passwd').read()",
]


def _nest(rng: random.Random) -> str:
    depth = rng.choice([20, 60, 99, 101, 150, 250, 400])
    left, right = rng.choice([("(", ")"), ("[", "]"), ("{", "}"), ("f(", ")"), ("-(", ")")])
    return f"def f():\n    return {left * depth}1{right * depth}\n"


def _hostile(rng: random.Random) -> str:
    kind = rng.randrange(16)
    name = rng.choice(NAMES)
    if kind == 0:
        return rng.choice(["", " ", "\n\n", "pass", "#", "\t", "\ufeff"])
    if kind == 1:
        return rng.choice(["Sure! Here is the code:", "I cannot do that.", "1. pick\n2. move"])
    if kind == 2:
        source = rng.choice(VALID)
        return source[: rng.randrange(1, len(source))]
    if kind == 3:
        return rng.choice(["x = 1\n" * 20_000, "s = '" + "a" * 120_000 + "'\n"])
    if kind == 4:
        return _nest(rng)
    if kind == 5:
        return rng.choice(
            [f"def f():\n    {name} = 1\n    return {name}\n", f"def {name}():\n    pass\n"]
        )
    if kind == 6:
        return f"@{rng.choice(['len', 'move', 'functools.cache'])}\ndef f(a):\n    return a\n"
    if kind == 7:
        return rng.choice(["class A:\n    pass\n", "class f:\n    x = move('a', 'b')\n"])
    if kind == 8:
        return rng.choice(
            ["async def f():\n    await g()\n", "def f():\n    return [x async for x in y]\n"]
        )
    if kind == 9:
        default = rng.choice(["3", "'x'", "len", "move('a', 'b')", "[]", "(1, -2)"])
        return f"def f(a):\n    g = lambda x, d={default}: x\n    return g(a)\n"
    if kind == 10:
        return rng.choice(
            ["def f(*a):\n    pass\n", "def f(**k):\n    pass\n", "def f(a, *, b=1):\n    pass\n",
             "def f(a, /):\n    pass\n", "def f(a=move('a', 'b')):\n    return a\n"]
        )  # fmt: skip
    if kind == 11:
        module = rng.choice(MODULES)
        return rng.choice(
            [f"import {module}\ndef f():\n    return {module}\n", f"from {module} import x\n"]
        )
    if kind == 12:
        source = rng.choice(VALID)
        i = rng.randrange(len(source))
        return source[:i] + rng.choice(["\x00", "\r", "\x0c", "\ud800", "\x1b", "\\"]) + source[i:]
    if kind == 13:
        return f"def f():\n    return {rng.choice(ATTACKS)}\n"
    if kind == 14:
        return rng.choice(VALID)
    return rng.choice(
        ["global x\n", "match 1:\n    case 1:\n        pass\n", "yield 1\n", "del move\n"]
    )


def _name(source: str) -> str:
    found = re.search(r"^def (\w+)", source, re.MULTILINE)
    return found.group(1) if found and found.group(1).isascii() else "f"


SOURCES = [_hostile(random.Random(SEED * 1000 + i)) for i in range(300)]


@pytest.mark.parametrize("chunk", range(6))
def test_hostile_sources_are_refused_or_run_and_the_sandbox_stays_open(
    sb: Sandbox, chunk: int
) -> None:
    outcomes = {"refused": 0, "ran": 0}
    for source in SOURCES[chunk * 50 : (chunk + 1) * 50]:
        name = _name(source)
        problems = check_action(name, source, base_actions=sb.base_names)
        assert problems == sb.check(source, name)
        if problems:
            outcomes["refused"] += 1
            assert all(isinstance(p, str) and p.strip() and "\n" not in p for p in problems)
        else:
            outcomes["ran"] += 1
            sb.load({name: source})  # what the gate accepts always loads
            node, _ = action_shape(name, source)
            assert node is not None
            result = sb.call(name, *["a"] * len(node.args.args))
            assert result.error_kind in (None, "python_exception", "invalid_action", "limit")
            sb.unload(name)
        try:
            line = sb.run(source)
        except SandboxError as exc:  # pragma: no cover - the sandbox must never close
            raise AssertionError(f"the sandbox closed on {source[:100]!r}") from exc
        assert line.ok or line.message
        sb.env.reset(0)
    assert outcomes["refused"] > 0
    if "carry" not in sb.sources:
        sb.load({"carry": CARRY})
    assert_next_call_works(sb)


LOOKALIKES = [
    "move(__import__('os').system('id'), 'b')",
    "move(open('/etc/passwd').read(), 'b')",
    "move(().__class__, 'b')",
    "move(*().__class__.__mro__)",
    "move(**{'src': 'a', 'dst': 'b'})",
    "move('a', 'b')\nimport os",
    "move('a', 'b') if __import__('os') else 0",
    "[move('a', 'b') for _ in ().__class__.__mro__]",
    "move('a', 'b')[0]",
    "move.__globals__",
    "move('a', 'b', __import__('os'))",
    "move(lambda: 0, 'b')",
    "move(not 0, 'b')",
    "move(~1, 'b')",
    "move(1 if 1 else 2, 'b')",
    "move('{0.__class__}'.format(1), 'b')",
    "move(move('a', 'b'), 'c')",
    "move(*'ab')",
    "move('a', 'b') and exec('1')",
    "move('a', 'b'); exec('1')",
]
#: The only syntax a line the host makes itself may hold (see ``agent_lines.base_call``).
PLAIN_NODES = (ast.Module, ast.Expr, ast.Call, ast.Name, ast.Load, ast.Constant)


#: Lines the host does make itself.
PLAIN_LINES = ["move('a', 'b')", "move(-1, 2.5)", "drop(None, True)", "(pick)('b1', \"a\")"]


@pytest.mark.parametrize("line", [*PLAIN_LINES, *LOOKALIKES, *ATTACKS, *SOURCES])
def test_no_line_the_host_makes_itself_holds_code(line: str) -> None:
    """A line the sandbox makes as a base call on the host (no worker) is a call of a
    base action on literal values and nothing else: every attack, hostile source and
    look-alike here either is one, or goes to the worker (behind the gate)."""
    names = frozenset({"move", "pick", "drop"})
    found = base_call(line, names)
    assert (found is not None) == (line in PLAIN_LINES)
    if found is None:
        return
    tree = ast.parse(line)
    for node in ast.walk(tree):
        negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        assert negative or isinstance(node, (*PLAIN_NODES, ast.USub)), ast.dump(node)
    call = tree.body[0].value  # type: ignore[attr-defined]
    assert found == (call.func.id, tuple(ast.literal_eval(a) for a in call.args))
    assert found[0] in names


def test_look_alike_lines_go_to_the_worker_and_the_hostile_ones_are_refused(sb: Sandbox) -> None:
    for line in LOOKALIKES:
        assert base_call(line, frozenset(sb.base_names)) is None, line
        result = sb.run(line)
        if any(word in line for word in ("__", "exec", "open", "format")):
            assert result.error_kind == "policy_violation" and not result.substeps, line
        else:
            assert result.ok or result.message, line
        sb.env.reset(0)
    assert_next_call_works(sb)
