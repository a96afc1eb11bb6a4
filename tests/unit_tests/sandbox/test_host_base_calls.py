"""A line that is one base action with literal arguments is made by the host.

Such a line runs no code: in the worker it would only ask the host for that base
action, at the price of two process switches. The sandbox makes the call itself, in
the same transaction; these tests hold it to the worker's results, line by line, and
show which lines still go to the worker.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from learnact_langgraph.envs.base import StepResult, base_action
from learnact_langgraph.sandbox import ExecResult, Limits, Sandbox, SubprocessBackend
from learnact_langgraph.sandbox import sandbox as sandbox_module
from learnact_langgraph.sandbox.agent_lines import base_call
from tests.unit_tests.sandbox.toy_env import CARRY, Rooms

LIMITS = Limits(wall_time_s=0.5, cpu_time_s=1.0, memory_mb=256, output_chars=200, base_calls=10)
BASE = frozenset({"move", "pick", "drop", "note", "boom", "shout", "stall"})


class Busy(Rooms):
    """The toy rooms with base actions that take other argument types, fail, say a
    lot or hang."""

    @base_action
    def note(self, count: int, scale: float, loud: bool, extra: None) -> StepResult:
        """Write down the arguments as they arrived."""
        seen = ", ".join(f"{type(a).__name__}:{a!r}" for a in (count, scale, loud, extra))
        return self.ok("note", f"Noted {seen}.")

    @base_action
    def boom(self) -> StepResult:
        """Fail inside the environment."""
        raise RuntimeError("the floor gave way")

    @base_action
    def shout(self, size: int) -> StepResult:
        """An observation of ``size`` characters."""
        return self.ok("shout", "A" * int(size))

    @base_action
    def stall(self) -> StepResult:
        """Take longer than a call may."""
        time.sleep(1.5)
        return self.ok("stall", "Late.")


def busy() -> Busy:
    env = Busy()
    env.reset(0)
    return env


def _worker_only(code: str, base: frozenset[str]) -> None:
    return None


def play(lines: list[str], *, worker: bool, on_error: Any = "restore") -> list[Any]:
    """Each line's result (less its duration) and the state after it, in one sandbox."""
    env = busy()
    out: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        if worker:
            patch.setattr(sandbox_module, "base_call", _worker_only)
        with Sandbox(env, limits=LIMITS, on_error=on_error) as sb:
            sb.load({"carry": CARRY})
            for line in lines:
                result = dataclasses.replace(sb.run(line), duration_s=0.0)
                out.append((line, result, repr(env.state), env.done, env.progress))
    return out


LINES = [
    "move('a', 'b')",
    'move("b", "c")  # double quotes and a comment',
    "move('c', 'x')",  # not valid: undone
    "move('a')",  # the wrong number of arguments
    "move(1, 2)",
    "note(3, -2.5, True, None)",
    "note(-7, 1e300, False, None)",
    "boom()",
    "shout(100)",
    "shout(100000)",  # too long to send back as a value: its repr, cut short
    "move('c', 'a')",
    "pick('b1', 'a')",
    "drop('b1', 'a')",
    "carry('a', 'b', 'b1')",  # a learned action: the worker
    "move('b', 'a')",
]


@pytest.mark.parametrize("on_error", ["restore", "keep"])
def test_the_host_gives_what_the_worker_gives_line_by_line(on_error: str) -> None:
    host = play(LINES, worker=False, on_error=on_error)
    worker = play(LINES, worker=True, on_error=on_error)
    for mine, theirs in zip(host, worker, strict=True):
        assert mine == theirs
    kinds = {line: result.error_kind for line, result, *_ in host}
    assert kinds["move('a', 'b')"] is None and kinds["move('c', 'x')"] == "invalid_action"
    assert kinds["boom()"] == "environment_error"
    noted = next(r for line, r, *_ in host if line.startswith("note(3"))
    assert noted.observation == "Noted int:3, float:-2.5, bool:True, NoneType:None."
    long = next(r for line, r, *_ in host if line == "shout(100000)")
    assert long.value.startswith("'AAA") and len(long.value) == 2000


def test_a_hung_base_action_ends_the_same_way_on_both_paths() -> None:
    host = play(["stall()", "move('a', 'b')"], worker=False)
    worker = play(["stall()", "move('a', 'b')"], worker=True)
    assert host == worker
    stalled = host[0][1]
    assert stalled.error_kind == "environment_error" and "still running" in stalled.message
    assert host[1][1].ok


def test_base_lines_never_start_a_worker() -> None:
    backend = SubprocessBackend(sorted(BASE), LIMITS)
    with Sandbox(busy(), backend=backend, limits=LIMITS) as sb:
        for line in ("move('a', 'b')", "move('b', 'a')", "pick('b1', 'a')", "move('a', 'c')"):
            assert sb.run(line).substeps
        assert backend.pid is None
        assert sb.run("obs = move('c', 'a')\nobs").ok  # code: the worker runs it
        assert backend.pid is not None


def test_per_call_limits_hold_on_the_host_path() -> None:
    with Sandbox(busy(), limits=Limits(wall_time_s=5.0)) as sb:
        started = time.perf_counter()
        result = sb.run("stall()", limits=Limits(wall_time_s=0.3))
        assert time.perf_counter() - started < 1.2
        assert result.error_kind == "environment_error"
        called = sb.call("stall", limits=Limits(wall_time_s=0.3))
        assert called.error_kind == "environment_error"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("move('a', 'b')", ("move", ("a", "b"))),
        ("move('a', 'b')\n", ("move", ("a", "b"))),
        ("(move)('a', 'b')", ("move", ("a", "b"))),
        ("note(3, -2.5, True, None)", ("note", (3, -2.5, True, None))),
        ("boom()", ("boom", ())),
        ("move('a\\x00b', 'c')", ("move", ("a\x00b", "c"))),
    ],
)
def test_one_literal_base_call_is_recognised(line: str, expected: tuple[Any, ...]) -> None:
    assert base_call(line, BASE) == expected


@pytest.mark.parametrize(
    "line",
    [
        "carry('a', 'b', 'b1')",  # not a base action
        "print('a')",
        "move(src='a', dst='b')",  # keywords: the worker refuses them
        "move(*['a', 'b'])",
        "move(x, 'b')",
        "move('a' + 'b', 'c')",
        "move(str(1), 'b')",
        "move(f'{1}', 'b')",
        "move(b'a', 'b')",
        "move(1j, 'b')",
        "move(-True, 'b')",
        "move(('a',), 'b')",
        "move(['a'], 'b')",
        "move(99999999999999999999999, 'b')",  # the worker's JSON decides
        "move('\\ud800', 'b')",  # a lone surrogate is replaced on the worker's way
        "move(pick('b1', 'a'), 'b')",
        "move('a', 'b'); move('b', 'a')",
        "obs = move('a', 'b')",
        "move('a', 'b').upper()",
        "move('a', 'b'),",
        "(move := print)('a')",
        "move",
        "  move('a', 'b')",
        "move('a', 'b'",
        "",
    ],
)
def test_everything_else_goes_to_the_worker(line: str) -> None:
    assert base_call(line, BASE) is None


def test_a_refused_line_is_refused_before_the_host_path() -> None:
    with Sandbox(busy(), limits=LIMITS) as sb:
        result = sb.run("move(__import__('os').getcwd(), 'b')")
        assert result.error_kind == "policy_violation" and not result.substeps


def assert_same(a: ExecResult, b: ExecResult) -> None:
    assert dataclasses.replace(a, duration_s=0.0) == dataclasses.replace(b, duration_s=0.0)


def test_a_base_action_called_by_name_matches_its_line() -> None:
    """``Sandbox.call`` on a base action was already made by the host: the same result
    as the line."""
    with Sandbox(busy(), limits=LIMITS) as one, Sandbox(busy(), limits=LIMITS) as two:
        for name, args in [("move", ("a", "b")), ("move", ("a", "c")), ("shout", (100000,))]:
            line = f"{name}({', '.join(repr(a) for a in args)})"
            assert_same(one.call(name, *args), two.run(line))
