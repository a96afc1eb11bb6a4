"""1,000 fuzzed learner replies through the repair loop's gate and a dry run.

Each reply is what a model might send back to the creation prompt: empty, prose, broken
code, huge, deeply nested, non-ASCII names, decorators, classes, ``async def``,
lambdas, star-args, imports, attack code. Every one must end as usable code or as a
refusal with a reason: no exception escapes, and the sandbox never closes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from learnact_langgraph.dry_run import DryRun, dry_run_in
from learnact_langgraph.learning import generate_code
from learnact_langgraph.sandbox import Limits, Sandbox
from learnact_langgraph.testing import scripted
from tests.unit_tests.sandbox.toy_env import CARRY, assert_next_call_works, fresh_env

BASE = {"move", "pick", "drop"}
N = 1_000

GOOD = CARRY + "\ncarry('a', 'b', 'b1')\n"
BODIES = [
    "",
    "Sure! Here is the plan: pick the ball, then move.",
    "```python\ndef f(:\n```",
    "```python\n" + "def big():\n" + "    x = 1\n" * 5_000 + "```",
    "```python\ndef deep():\n    return " + "(" * 300 + "1" + ")" * 300 + "\n```",
    "```python\ndef deep():\n    return " + "[" * 120 + "]" * 120 + "\n```",
    "```python\ndef größe(x):\n    return len(x)\ngröße('ab')\n```",
    "```python\ndef ｃａｒｒｙ(a, b):\n    return move(a, b)\nｃａｒｒｙ('a', 'b')\n```",
    "```python\ndef ﬁnd_ball(b):\n    return pick(b, 'a')\n```",
    "```python\n@len\ndef f(a):\n    return move(a, 'b')\nf('a')\n```",
    "```python\ndef f(a, b=move('a', 'b')):\n    return b\nf('a')\n```",
    "```python\nclass Robot:\n    def go(self):\n        return move('a', 'b')\n```",
    "```python\nasync def f():\n    return move('a', 'b')\n```",
    "```python\ndef f(a):\n    key = lambda s: s[0]\n"
    "    return sorted([a, 'b'], key=key)[0]\nf('a')\n```",
    "```python\ndef f(*args, **kwargs):\n    return move(*args)\nf('a', 'b')\n```",
    "```python\nimport os\ndef f():\n    return os.system('id')\nf()\n```",
    "```python\nimport re\ndef f(text):\n    return re.findall(r'b\\d', text)\nf('b1 b2')\n```",
    "```python\ndef f():\n    return ().__class__.__bases__[0].__subclasses__()\nf()\n```",
    "```python\ndef f(x):\n    return '{0.__class__}'.format(x)\nf(1)\n```",
    "```python\ndef f():\n    while True:\n        pass\nf()\n```",
    "```python\ndef f():\n    return f()\nf()\n```",
    "```python\ndef f(a):\n    global G\n    G = a\n    return G\nf(1)\n```",
    "```python\ndef f():\n    return undefined_name\nf()\n```",
    "```python\ndef f(a):\n    return pick(a)\nf('b1')\n```",
    "```python\ndef f():\n    x = 'a' * 10**9\n    return x\nf()\n```",
    "```python\ndef move(a, b):\n    return a\n```",
    "```python\ndef f():\n    return eval('1')\nf()\n```",
    "```python\ndef f():\n    return __import__('os')\nf()\n```",
    "```python\nx = [1, 2]\ndef f():\n    return x\nf()\n```",
    "```python\ndef f():\n    return 1\n" + "\x00" + "\n```",
    "```python\n" + GOOD + "```",
    "```python\nLIMIT = 3\ndef f(a):\n"
    "    return [move(a, 'b') for _ in range(LIMIT)][0]\nf('a')\n```",
    "```python\ndef f(a):\n    try:\n        return move(a, 'b')\n"
    "    except Exception as e:\n        return str(e)\nf('a')\n```",
    "```python\nmatch = 1\ndef f():\n    match match:\n        case 1:\n"
    "            return 1\nf()\n```",
    "```python\ndef f():\n    yield move('a', 'b')\nf()\n```",
]


def mutate(rng: random.Random, body: str) -> str:
    """A small random change: a cut, a doubled line, a stray character, nothing."""
    roll = rng.random()
    if roll < 0.25 and len(body) > 10:
        return body[: rng.randrange(len(body))]
    if roll < 0.4:
        lines = body.splitlines()
        if lines:
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
        return "\n".join(lines)
    if roll < 0.55 and body:
        i = rng.randrange(len(body))
        return body[:i] + rng.choice(["(", ")", ":", "'", "\\", "é", "\t", "_", "@"]) + body[i:]
    return body


def _replying(text: Any) -> Callable[[list[Any]], Any]:
    """A scripted model that always answers ``text``."""

    def respond(messages: list[Any]) -> Any:
        return text

    return respond


def test_fuzzed_learner_outputs_never_crash_a_run_or_close_the_sandbox() -> None:
    rng = random.Random(11)
    replies = [mutate(rng, BODIES[i % len(BODIES)]) for i in range(N)]
    outcomes = {"usable": 0, "refused": 0}
    # Short limits: endless loops and deep recursion are among the replies.
    with Sandbox(fresh_env(), limits=Limits(wall_time_s=2.0, cpu_time_s=0.3)) as sandbox:

        def run(functions: Mapping[str, str], calls: Sequence[str]) -> DryRun:
            sandbox.env.reset(0)
            return dry_run_in(sandbox, functions, calls)

        for i, reply in enumerate(replies):
            result, _ = generate_code(
                scripted(_replying(reply)),
                "write",
                known=set(BASE),
                reserved=set(BASE),
                check=sandbox.check,
                max_attempts=1,
                node="create_actions",
                dry_run=run,
            )
            if result.functions:
                outcomes["usable"] += 1
                for name, source in result.functions.items():
                    assert not sandbox.check(source, name), reply[:200]
            else:
                outcomes["refused"] += 1
                assert result.error.strip(), f"refused without a reason: {reply[:200]!r}"
            if i % 100 == 0:
                assert_next_call_works(sandbox)
        assert_next_call_works(sandbox)
    assert outcomes["usable"] + outcomes["refused"] == N
    assert outcomes["usable"] > 0 and outcomes["refused"] > 0
