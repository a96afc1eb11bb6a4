"""Limits end one call only; failed calls are transactions (restore or keep)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from learnact_langgraph.sandbox import Limits, Sandbox, SandboxError, SubprocessBackend
from tests.unit_tests.sandbox.conftest import SMALL
from tests.unit_tests.sandbox.toy_env import CARRY, fresh_env

HALFWAY = "def halfway():\n    move('a', 'c')\n    pick('b2', 'c')\n    return 1 / 0\n"


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="wall_time_s must be positive"):
        Limits(wall_time_s=0)


def test_unknown_backend() -> None:
    with pytest.raises(SandboxError, match="Unknown sandbox backend 'nope'"):
        Sandbox(fresh_env(), backend="nope")


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        ("while True:\n    pass", "timeout", "wall-time limit of 1.0 s"),
        ("print('x' * 500)", "limit", "printed output exceeded the limit of 200"),
        ("def f():\n    return f()\nf()", "limit", "recursion depth limit of 200"),
        ("'x' * 2 ** 31", "limit", "memory limit of 256 MB"),
        ("while True:\n    move('a', 'b')", "limit", "more than 10 base-action calls"),
    ],
    ids=["wall", "output", "recursion", "memory", "base_calls"],
)
def test_each_limit_ends_one_call(sb: Sandbox, code: str, kind: str, words: str) -> None:
    result = sb.run(code)
    assert result.error_kind == kind and words in result.message, result
    assert sb.run("carry('a', 'b', 'b1')").ok


def test_recursion_limit_counts_learned_frames() -> None:
    with Sandbox(fresh_env(), limits=Limits(recursion_depth=50)) as sb:
        sb.load({"down": "def down(n):\n    return 0 if n == 0 else 1 + down(n - 1)\n"})
        assert sb.call("down", 45).value == 45
        assert sb.call("down", 60).error_kind == "limit"


def test_cpu_limit() -> None:
    limits = Limits(wall_time_s=10.0, cpu_time_s=1.0)
    with Sandbox(fresh_env(), limits=limits) as sb:
        result = sb.run("n = 0\nwhile True:\n    n += 1")
        assert result.error_kind == "limit" and "CPU time limit" in result.message
        assert result.duration_s < 5
        assert sb.run("1 + 1").value == 2


def test_timeout_restarts_the_worker_and_restores(sb: Sandbox) -> None:
    restarts = sb.backend.restarts  # type: ignore[attr-defined]
    result = sb.run("move('a', 'b')\nwhile True:\n    pass")
    assert result.error_kind == "timeout" and result.rolled_back
    assert sb.env.state["at"] == "a"
    assert sb.backend.restarts == restarts + 1  # type: ignore[attr-defined]
    assert sb.run("carry('a', 'b', 'b1')").ok  # learned actions survive the restart


def test_failure_restores_state_exactly(sb: Sandbox) -> None:
    sb.load({"halfway": HALFWAY})
    before = sb.env.snapshot()
    result = sb.call("halfway")
    assert result.error_kind == "python_exception" and result.rolled_back
    assert len(result.substeps) == 2 and all(s.valid for s in result.substeps)
    assert sb.env.snapshot() == before
    assert "Every sub-step of this call was undone" in result.observation


def test_keep_mode_keeps_partial_effects() -> None:
    with Sandbox(fresh_env(), on_error="keep") as sb:
        sb.load({"halfway": HALFWAY, "carry": CARRY})
        result = sb.call("halfway")
        assert not result.ok and not result.rolled_back
        assert sb.env.state["at"] == "c" and sb.env.state["hand"] == "b2"
        assert "were kept" in result.observation
        assert sb.env.steps == 2


def test_bad_on_error() -> None:
    with pytest.raises(ValueError, match="on_error"):
        Sandbox(fresh_env(), on_error="ignore")  # type: ignore[arg-type]


def test_closed_sandbox_says_so() -> None:
    sb = Sandbox(fresh_env())
    sb.close()
    with pytest.raises(SandboxError, match="closed"):
        sb.run("1")


def test_pddl_rollback_leaves_state_exactly_as_before(pddl_data: Path) -> None:
    from learnact_langgraph.envs.pddl import load_env

    env = load_env("gripper", data_dir=pddl_data)
    env.reset(0)
    source = (
        "def carry_two(src, dst, a, b):\n"
        "    pick(a, src, 'left')\n"
        "    pick(b, src, 'right')\n"
        "    move(src, dst)\n"
        "    drop(a, dst, 'left')\n"
        "    return drop(b, 'roomz', 'right')\n"
    )
    with Sandbox(env) as sb:
        sb.load({"carry_two": source})
        before = env.snapshot()
        observation = env.observation
        result = sb.call("carry_two", "rooma", "roomb", "ball1", "ball2")
        assert result.error_kind == "invalid_action" and result.failed_substep == 4
        assert [s.valid for s in result.substeps] == [True, True, True, True, False]
        assert result.rolled_back
        after = env.snapshot()
        assert after.state == before.state and env.observation == observation
        # The episode's best progress survives the rollback (the paper's metric is a maximum).
        assert after.bookkeeping[1:] == before.bookkeeping[1:]
        assert after.bookkeeping[0] >= before.bookkeeping[0]
        again = sb.call("carry_two", "rooma", "roomb", "ball1", "ball2")
        assert again.substeps[:4] == result.substeps[:4]


def test_recursion_limit_hit_during_base_calls_keeps_the_protocol_in_sync() -> None:
    limits = Limits(recursion_depth=30, base_calls=1000)
    source = "def zigzag(n):\n    move('a', 'b')\n    move('b', 'a')\n    return zigzag(n + 1)\n"
    with Sandbox(fresh_env(), limits=limits) as sb:
        sb.load({"zigzag": source})
        result = sb.call("zigzag", 0)
        assert result.error_kind == "limit" and "recursion depth" in result.message
        assert result.rolled_back and sb.env.state["at"] == "a"
        follow = sb.run("[move('a', 'b'), move('b', 'c')]")
        assert follow.value == ["You are in b.", "You are in c."]
        assert [s.args for s in follow.substeps] == [("a", "b"), ("b", "c")]


def test_wrong_arity_is_an_invalid_step(sb: Sandbox) -> None:
    result = sb.run("move('a')")
    assert result.error_kind == "invalid_action"
    assert result.substeps[0].error == "bad_arguments"
    assert "takes 2 argument(s), got 1" in result.message


def test_worker_is_recycled_before_its_lifetime_cpu_cap() -> None:
    with Sandbox(fresh_env(), limits=Limits(cpu_time_s=1.0)) as sb:
        sb.load({"carry": CARRY})
        backend = sb.backend
        assert isinstance(backend, SubprocessBackend)
        backend.cpu_lifetime_s = 3  # as if this worker had nearly used up its CPU budget
        assert sb.run("1").ok
        assert backend.restarts == 1
        assert sb.run("carry('a', 'b', 'b1')").ok  # the fresh worker has the learned actions


def test_close_ends_the_worker() -> None:
    sb = Sandbox(fresh_env())
    assert sb.run("1").ok
    backend = sb.backend
    assert isinstance(backend, SubprocessBackend)
    proc = backend._state["proc"].proc
    sb.close()
    assert proc.poll() is not None


@pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="CPU pinning needs Linux and two CPUs",
)
def test_caller_cpu_mask_is_restored_after_each_call(sb: Sandbox) -> None:
    before = os.sched_getaffinity(0)
    assert sb.run("carry('a', 'b', 'b1')").ok
    assert os.sched_getaffinity(0) == before
    assert sb.run("while True:\n    pass").error_kind == "timeout"
    assert os.sched_getaffinity(0) == before


def test_per_call_limits_override_the_sandbox_limits(sb: Sandbox) -> None:
    tight = Limits(wall_time_s=0.3, memory_mb=SMALL.memory_mb, base_calls=2)
    result = sb.run("carry('a', 'b', 'b1')", limits=tight)
    assert result.error_kind == "limit" and "more than 2 base-action calls" in result.message
    assert sb.run("while True:\n    pass", limits=tight).message.startswith(
        "the call ran past its wall-time limit of 0.3 s"
    )
    assert sb.call("carry", "a", "b", "b1").ok  # the sandbox's own limits again
    with pytest.raises(ValueError, match="memory_mb is fixed per Sandbox"):
        sb.call("carry", "a", "b", "b1", limits=Limits(memory_mb=64))


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process ``pid`` has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_long_session_of_loads_outlives_the_cpu_limit_of_one_call() -> None:
    """A call's CPU limit is lifted when it ends, so work between calls (loading a
    growing library, as a live toolkit or an MCP server does) never kills the worker."""
    limits = Limits(wall_time_s=10.0, cpu_time_s=0.5)
    with Sandbox(fresh_env(), limits=limits) as sb:
        assert sb.run("1 + 1").value == 2  # arms the limit at this call's CPU + 0.5 s
        pid, restarts = sb.backend.pid, sb.backend.restarts  # type: ignore[attr-defined]
        start, loads = _cpu_seconds(pid), 0
        while _cpu_seconds(pid) - start < 2.5 and loads < 400:  # loads only, no call
            # every source changes, so the worker compiles all 300 each time
            sources = {
                f"act{i}": f"def act{i}(x):\n    return x + {i} + {loads}\n" for i in range(300)
            }
            sb.backend.load(sources)  # the backend alone: the gate's cost is not the point
            loads += 1
        assert sb.run("act3(1)").value == 4 + loads - 1
        assert sb.backend.pid == pid and sb.backend.restarts == restarts  # type: ignore[attr-defined]


def test_a_thousand_actions_added_one_by_one_keep_one_worker() -> None:
    """Adding an action sends and defines that action only; the worker stays the same."""
    with Sandbox(fresh_env()) as sb:
        sb.load({"act0": "def act0(x):\n    return x\n"})
        pid = sb.backend.pid  # type: ignore[attr-defined]
        for i in range(1, 1000):
            sb.load({f"act{i}": f"def act{i}(x):\n    return act{i - 1}(x) + 1\n"})
        assert len(sb.sources) == 1000
        assert sb.run("act150(1)").value == 151
        sb.load({"act0": "def act0(x):\n    return x * 10\n"})  # replacing one reaches all
        assert sb.call("act150", 1).value == 160
        sb.unload("act0")
        assert "act0" in sb.call("act3", 1).message
        assert sb.backend.pid == pid  # type: ignore[attr-defined]
