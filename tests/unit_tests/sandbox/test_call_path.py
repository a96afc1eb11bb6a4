"""The cheap parts of a call's path: the CPU the hand-over happens on, what the worker
skips when a call names no module, the agent's recent lines kept compiled, and base
calls framed without JSON."""

from __future__ import annotations

import os
import threading
import time

import pytest

from learnact_langgraph.envs.base import base_action
from learnact_langgraph.sandbox import Limits, Sandbox, SubprocessBackend, worker_process
from learnact_langgraph.sandbox.env_boundary import BaseActionRunner, CallGuard
from learnact_langgraph.sandbox.stdlib_modules import ALLOWED_MODULES
from learnact_langgraph.sandbox.worker_library import Library, compile_learned, mentions
from learnact_langgraph.sandbox.worker_process import BaseCall, ProtocolError, parse_call, ret_frame
from learnact_langgraph.sandbox.worker_replies import call_frame
from tests.unit_tests.sandbox.toy_env import Rooms, fresh_env

MODULES = frozenset(ALLOWED_MODULES)
CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs to tell them apart")
def test_the_waiting_caller_shares_the_helpers_cpu_and_gets_its_own_back() -> None:
    cpu = CPUS[-1]
    runner = BaseActionRunner(cpu)
    before = os.sched_getaffinity(0)
    seen: dict[str, object] = {}

    def job() -> int:
        seen["helper"] = os.sched_getaffinity(0)
        seen["thread"] = threading.current_thread().name
        return 7

    try:
        assert runner.run_call(job, time.perf_counter() + 5, CallGuard(), lambda *_: 0) == 7
        assert seen == {"helper": {cpu}, "thread": "learnact-base-actions"}
        assert os.sched_getaffinity(0) == before
    finally:
        runner.close()
        os.sched_setaffinity(0, before)


def test_a_runner_without_a_cpu_moves_nobody() -> None:
    runner = BaseActionRunner()
    before = os.sched_getaffinity(0) if CPUS else None
    try:
        seen = runner.run_call(
            lambda: os.sched_getaffinity(0) if CPUS else None,
            time.perf_counter() + 5,
            CallGuard(),
            lambda *_: None,
        )
        assert seen == before
    finally:
        runner.close()


@pytest.mark.parametrize(
    ("source", "names_one"),
    [
        ("def f():\n    return 1\n", False),
        ("def f(xs):\n    return sorted(xs)\n", False),
        ("def f():\n    return json.dumps([1])\n", True),
        ("import re\ndef f(s):\n    return s\n", True),
        ("from collections import Counter\ndef f(s):\n    return Counter(s)\n", True),
        ("def f(xs):\n    return [math.floor(x) for x in xs]\n", True),  # nested code
        ("def f(o):\n    return o.random\n", True),  # an attribute: a safe superset
        ("def f(o):\n    return o._cache\n", True),  # any name starting with _
        ("def f():\n    return __builtins__\n", True),
    ],
)
def test_mentions_finds_every_way_code_names_a_module(source: str, names_one: bool) -> None:
    assert mentions(compile_learned(source, "<t>", "exec"), MODULES) is names_one


def test_the_library_knows_whether_any_loaded_action_names_a_module() -> None:
    lib = Library({}, set(), lambda *_: None, lambda *_: None, MODULES)

    def define(action: object) -> None:
        pass

    lib.load({"plain": "def plain():\n    return 1\n"}, [], define)
    assert lib.uses_modules is False
    lib.load({"dice": "def dice():\n    return random.random()\n"}, [], define)
    assert lib.uses_modules is True
    lib.load({}, ["dice"], define)
    assert lib.uses_modules is False


def test_a_line_run_again_is_the_same_line(sb: Sandbox) -> None:
    """Recent lines are kept compiled: the names in them are still looked up at run
    time, and an error still points at the line."""
    sb.load({"grab": "def grab():\n    return 1\n"})
    assert sb.run("grab() + 1").value == 2
    sb.load({"grab": "def grab():\n    return 5\n"})
    assert sb.run("grab() + 1").value == 6
    for _ in range(2):
        failed = sb.run("x = 1\nmissing_name + x")
        assert failed.error_kind == "python_exception" and "missing_name" in failed.message
        assert "line 2" in failed.traceback
    for _ in range(2):
        broken = sb.run("def (:")
        assert not broken.ok
    sb.unload("grab")


@pytest.mark.parametrize(
    "args",
    [("a", "b"), ("", "b"), ("ä€😀", "b"), ("a\x00b", "b"), ("a\nb", "\x01")],
    ids=["plain", "empty", "non-ascii", "nul", "control"],
)
def test_base_call_arguments_reach_the_host_exactly(args: tuple[str, str]) -> None:
    """Arguments cross as NUL-separated UTF-8, or as JSON when one holds a NUL (the
    call is assigned, so the worker makes it: a bare base call is the host's)."""
    with Sandbox(fresh_env()) as sb:
        result = sb.run(f"obs = move({args[0]!r}, {args[1]!r})")
    assert [s.args for s in result.substeps] == [args]


def test_a_base_call_frame_is_split_without_trusting_it() -> None:
    frame = call_frame(7, "move", ("a", "b"))
    assert frame is not None and parse_call(frame) == BaseCall(7, "move", ("a", "b"))
    assert parse_call(call_frame(8, "look", ()) or b"") == BaseCall(8, "look", ())
    assert call_frame(9, "move", ("a\x00", "b")) is None  # sent as JSON instead
    assert call_frame(9, "move", (1, "b")) is None
    with pytest.raises(ProtocolError, match="truncated"):
        parse_call(b"C\x00\x00")
    with pytest.raises(ProtocolError, match="not UTF-8"):
        parse_call(b"C\x00\x00\x00\x01move\x00\xff")


def test_short_calls_are_decoded_once_and_long_ones_are_not_kept() -> None:
    worker_process._kept_call.cache_clear()
    for seq in range(1, 5):
        assert parse_call(call_frame(seq, "move", ("a", "b")) or b"") == BaseCall(
            seq, "move", ("a", "b")
        )
    assert worker_process._kept_call.cache_info().hits == 3
    long_arg = "x" * worker_process.KEPT_CALL_BYTES
    for seq in range(2):
        assert parse_call(call_frame(seq, "shout", (long_arg,)) or b"").args == (long_arg,)
    assert worker_process._kept_call.cache_info().currsize == 1
    for bad in (b"move\x00\xff", b"shout\x00" + b"\xff" * worker_process.KEPT_CALL_BYTES):
        for _ in range(2):  # a refusal is never kept
            with pytest.raises(ProtocolError, match="not UTF-8"):
                parse_call(b"C\x00\x00\x00\x01" + bad)


class Shouting(Rooms):
    """Rooms with a base action whose observation is as long as one wants."""

    @base_action
    def shout(self, text: str) -> str:
        """Say text back three times."""
        return text * 3


def test_frames_longer_than_one_read_arrive_whole_both_ways() -> None:
    """Frames over 64 KiB (a read's size) are put together from several reads: a
    base call's long argument and its long answer, and a long printed output."""
    env = Shouting()
    env.reset(0)
    line = (
        "word = 'ab€' * 30_000\nobs = shout(word)\nprint(obs[:150_000])\n"
        "(len(obs), obs.valid, obs == word * 3)"
    )
    with Sandbox(env, limits=Limits(output_chars=200_000)) as sb:
        for _ in range(2):
            result = sb.run(line)
            assert result.ok, result.message
            assert result.value == [270_000, True, True]
            assert result.stdout == ("ab€" * 90_000)[:150_000] + "\n"
            assert sb.run("shout('a') + shout('b')").value == "aaabbb"


def test_a_stale_answer_waiting_for_the_worker_is_skipped() -> None:
    """A call that ended inside a base-action stub (a limit hit after the call was
    sent) leaves its answer unread; the worker's next request must still be read."""
    with Sandbox(fresh_env()) as sb:
        # two statements, so the worker runs them (a bare base call is the host's)
        assert sb.run("obs = move('a', 'b')\nobs").ok
        backend = sb.backend
        assert isinstance(backend, SubprocessBackend)
        proc = backend._state["proc"]
        proc.send(ret_frame(10_000, "a stale answer", True, False))
        proc.send({"op": "abort", "seq": 10_001, "message": "a stale abort"})
        result = sb.run("obs = move('b', 'a')\nobs")
        assert result.ok and result.value == "You are in a."
        assert backend._state["proc"] is proc  # the same worker
