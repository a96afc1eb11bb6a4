"""Polling for the other side's answer during a call (``spin.py``), and where the two
sides of a call run while they poll."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from learnact_langgraph.envs.base import StepResult, Task, base_action
from learnact_langgraph.sandbox import Limits, Sandbox, SubprocessBackend
from learnact_langgraph.sandbox.cpus import IN_FLIGHT
from learnact_langgraph.sandbox.spin import MAX_SKIP, Spinner
from learnact_langgraph.sandbox.subprocess_backend import SPLIT_AFTER
from learnact_langgraph.sandbox.worker_process import WorkerProcess, ret_frame
from learnact_langgraph.sandbox.worker_replies import run_request
from tests.unit_tests.sandbox.toy_env import CARRY, Rooms, fresh_env

CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
TWO_CPUS = pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs to tell them apart")
LIMITS = Limits(wall_time_s=5.0, memory_mb=256)
#: Back and forth between rooms a and b: 20 base calls in one call.
WALK = (
    "def walk(n):\n"
    "    seen = []\n"
    "    for _ in range(n):\n"
    "        seen.append(move('a', 'b'))\n"
    "        seen.append(move('b', 'a'))\n"
    "    return [str(s) for s in seen]\n"
)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    yield read, write
    os.close(read)
    os.close(write)


def test_data_already_there_is_seen_at_once(pipe: tuple[int, int]) -> None:
    read, write = pipe
    os.write(write, b"x")
    spinner = Spinner(read, 10.0)  # a budget it must not need
    start = time.perf_counter()
    assert spinner.wait() is True
    assert time.perf_counter() - start < 1.0
    assert spinner.misses == 0 and spinner.skip == 0


def test_misses_make_the_next_waits_sleep_at_once_for_longer_and_longer(
    pipe: tuple[int, int],
) -> None:
    read, _ = pipe
    spinner = Spinner(read, 0.0005)
    polls: list[int] = []
    real = spinner.poller

    class Counted:
        def poll(self, timeout: int) -> list[tuple[int, int]]:
            polls.append(timeout)
            return real.poll(timeout)

    spinner.poller = Counted()  # type: ignore[assignment]
    skips = []
    for _ in range(9):
        assert spinner.wait() is False  # nothing ever arrives
        assert polls, "a wait that is not skipped polls"
        skips.append(spinner.skip)
        while spinner.skip:  # the skipped waits return at once, without polling
            polls.clear()
            assert spinner.wait() is False
            assert polls == []
    assert skips == [1, 2, 4, 8, 16, 32, 64, 64, 64]
    assert MAX_SKIP == 64


def test_a_hit_forgets_the_misses(pipe: tuple[int, int]) -> None:
    read, write = pipe
    spinner = Spinner(read, 0.0005)
    assert spinner.wait() is False
    assert spinner.wait() is False  # skipped
    os.write(write, b"x")
    assert spinner.wait() is True
    assert spinner.misses == 0 and spinner.skip == 0


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100", None])
def test_a_bad_spin_budget_is_refused_in_one_sentence(bad: object) -> None:
    with pytest.raises(ValueError, match="spin_us must be a whole number of microseconds"):
        SubprocessBackend(["move"], LIMITS, spin_us=bad)  # type: ignore[arg-type]


@TWO_CPUS
def test_with_polling_a_long_call_moves_its_host_side_to_another_cpu() -> None:
    backend = SubprocessBackend(["move", "pick", "drop"], LIMITS, spin_us=100)
    assert backend.cpu is not None and backend.split_cpu is not None
    assert backend.cpu != backend.split_cpu
    with Sandbox(fresh_env(), backend=backend, limits=LIMITS) as sb:
        assert sb.run("1").ok
        assert backend.pid is not None
        assert os.sched_getaffinity(backend.pid) == {backend.cpu}
        assert sb.backend._state["proc"].spinner is not None  # type: ignore[attr-defined]


@TWO_CPUS
def test_without_polling_both_sides_share_one_cpu() -> None:
    backend = SubprocessBackend(["move", "pick", "drop"], LIMITS, spin_us=0)
    assert backend.cpu is not None and backend.split_cpu is None and backend.spin_s == 0
    with Sandbox(fresh_env(), backend=backend, limits=LIMITS) as sb:
        assert sb.run("carry('a', 'b', 'b1')").ok is False  # carry is not loaded
        sb.load({"carry": CARRY})
        assert sb.run("carry('a', 'b', 'b1')").ok
        assert sb.backend._state["proc"].spinner is None  # type: ignore[attr-defined]


class Where(Rooms):
    """Rooms whose ``move`` notes the CPUs of the thread that runs it (the host side
    of the call), and can be slowed down."""

    delay = 0.0

    def _reset(self, task: Task) -> str:
        self.seen: list[set[int]] = []
        return super()._reset(task)

    @base_action
    def move(self, src: str, dst: str) -> StepResult:
        """Move from room src to room dst."""
        self.seen.append(os.sched_getaffinity(0))
        if self.delay:
            time.sleep(self.delay)
        return super().move(src, dst)


class Held(Where):
    """Rooms whose ``move`` says it started (``inside``) and waits for ``release``: a
    call held in flight while the test makes others."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.release = threading.Event(), threading.Event()

    @base_action
    def move(self, src: str, dst: str) -> StepResult:
        """Move from room src to room dst."""
        self.inside.set()
        self.release.wait(5)
        return super().move(src, dst)


@TWO_CPUS
def test_a_call_moves_its_worker_apart_and_a_call_among_others_brings_it_back(
    run_requests: list[dict[str, Any]],
) -> None:
    """Base actions run on the sandbox's CPU, in the caller's process; the worker
    shares that CPU until a call has made ``SPLIT_AFTER`` base calls, then moves to
    the other CPU for the rest of the call. It stays there for the next call while
    that call is alone, and is back on the shared CPU before a call that starts
    while another call is in flight."""
    env = Where()
    env.reset(0)
    backend = SubprocessBackend(["move", "pick", "drop"], LIMITS, spin_us=100)
    before = os.sched_getaffinity(0)
    shared, apart = {backend.cpu}, {backend.split_cpu}
    held_env = Held()
    held_env.reset(0)
    with (
        Sandbox(env, backend=backend, limits=LIMITS) as sb,
        Sandbox(held_env, backend=SubprocessBackend(["move"], LIMITS), limits=LIMITS) as held,
    ):
        sb.load({"walk": WALK})
        pid = backend.pid
        assert pid is not None
        assert os.sched_getaffinity(pid) == shared
        for _ in range(2):
            env.seen.clear()
            result = sb.run("walk(3)")
            assert result.ok and len(result.substeps) == 6
            assert env.seen == [shared] * 6  # the host side stays on the shared CPU
            assert os.sched_getaffinity(pid) == apart
            assert os.sched_getaffinity(0) == before
        run_requests.clear()
        assert sb.run("walk(0)").ok  # alone: the worker stays apart
        assert os.sched_getaffinity(pid) == apart
        thread = threading.Thread(target=held.run, args=("obs = move('a', 'b')",))
        thread.start()
        try:
            assert held_env.inside.wait(5)
            assert sb.run("walk(0)").ok  # another call in flight: back to the shared CPU
            assert os.sched_getaffinity(pid) == shared
        finally:
            held_env.release.set()
            thread.join(5)
        assert backend.pid == pid
    # the worker polls for its first answer only in the call that started apart, alone
    assert [r.get("poll", False) for r in run_requests if r["source"] == "walk(0)"] == [True, False]


@pytest.mark.parametrize("spin_us", [0, 100])
@pytest.mark.parametrize("delay", [0.0, 0.003])
def test_polling_changes_no_result(spin_us: int, delay: float) -> None:
    """The same call gives the same value and sub-steps with and without polling, with
    cheap base actions and with ones slower than the polling budget (which then
    sleep as before)."""
    env = Where()
    env.reset(0)
    env.delay = delay
    backend = SubprocessBackend(["move", "pick", "drop"], LIMITS, spin_us=spin_us)
    with Sandbox(env, backend=backend, limits=LIMITS) as sb:
        sb.load({"walk": WALK})
        for _ in range(3):
            result = sb.run("walk(5)")
            assert result.ok, result.message
            assert result.value == ["You are in b.", "You are in a."] * 5
            assert [s.name for s in result.substeps] == ["move"] * 10
        assert sb.run("obs = move('a', 'c')").ok  # one base call, in the worker again
        assert env.state["at"] == "c"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The poll flag of every base-call answer the host sends, in order."""
    flags: list[bool] = []
    original = WorkerProcess.send

    def noting(self: WorkerProcess, message: dict[str, Any] | bytes) -> None:
        if isinstance(message, bytes) and message[:1] == b"R":
            flags.append(bool(message[5] & 4))
        original(self, message)

    monkeypatch.setattr(WorkerProcess, "send", noting)
    return flags


@pytest.fixture
def run_requests(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every ``run`` request the host sends, in order, as the worker reads it."""
    seen: list[dict[str, Any]] = []
    original = WorkerProcess.send

    def noting(self: WorkerProcess, message: dict[str, Any] | bytes) -> None:
        if isinstance(message, dict) and message.get("op") == "run":
            seen.append(dict(message))
        elif isinstance(message, bytes) and message[:1] == b"E":
            seen.append(run_request(message))
        original(self, message)

    monkeypatch.setattr(WorkerProcess, "send", noting)
    return seen


def test_only_a_call_alone_in_the_process_polls(sent: list[bool]) -> None:
    """While one sandbox's call is in flight, another sandbox's call does not move
    apart and poll (the two would take turns at the GIL and at the CPUs the workers
    need)."""
    held_env, other_env = Held(), Where()
    held_env.reset(0)
    other_env.reset(0)
    names = ["move", "pick", "drop"]
    with (
        Sandbox(held_env, backend=SubprocessBackend(names, LIMITS), limits=LIMITS) as held,
        Sandbox(other_env, backend=SubprocessBackend(names, LIMITS), limits=LIMITS) as other,
    ):
        other.load({"walk": WALK})
        # assigned, so the worker makes the call and it is in flight there
        thread = threading.Thread(target=held.run, args=("obs = move('a', 'b')",))
        thread.start()
        assert held_env.inside.wait(5)
        assert other.run("walk(2)").ok  # while the held call is in flight
        held_env.release.set()
        thread.join(5)
        busy, sent[:] = list(sent), []
        assert other.run("walk(2)").ok  # alone again
    polls = bool(SubprocessBackend(names, LIMITS).spin_s)
    assert busy[:4] == [False] * 4  # walk(2) while the held call is in flight
    # the held call's one base call, answered once that call is alone again
    assert busy[4:] == [polls and SPLIT_AFTER == 1]
    assert sent == [polls and n >= SPLIT_AFTER for n in range(1, 5)]  # walk(2) alone


@TWO_CPUS
def test_a_call_stops_polling_when_another_call_starts(sent: list[bool]) -> None:
    """The worker is told on each answer whether to poll for the next one: a call that
    moved apart while alone stops polling once another call is in flight, so two
    calls never burn the CPUs the other needs."""
    names = ["move", "pick", "drop"]
    held_env = Held()
    held_env.reset(0)
    held = Sandbox(held_env, backend=SubprocessBackend(names, LIMITS), limits=LIMITS)
    thread = threading.Thread(target=held.run, args=("obs = move('a', 'b')",))

    class Starter(Where):
        @base_action
        def move(self, src: str, dst: str) -> StepResult:
            """Move from room src to room dst."""
            if len(self.seen) == 1:  # the second base call: another call starts
                thread.start()
                assert held_env.inside.wait(5)
            return super().move(src, dst)

    env = Starter()
    env.reset(0)
    with held, Sandbox(env, backend=SubprocessBackend(names, LIMITS), limits=LIMITS) as sb:
        sb.load({"walk": WALK})
        sent.clear()
        try:
            assert sb.run("walk(2)").ok
        finally:
            held_env.release.set()
            thread.join(5)
    polls = bool(SubprocessBackend(names, LIMITS).spin_s)
    assert sent[:4] == [polls and SPLIT_AFTER == 1, False, False, False]


@TWO_CPUS
def test_a_hung_base_action_does_not_turn_polling_off(sent: list[bool]) -> None:
    """A base action still running when its call's wall time ran out no longer
    counts as a call in flight: the next long call in the process polls again, and
    the action's late return does not count the call out a second time."""
    release, returned = threading.Event(), threading.Event()

    class Stuck(Where):
        @base_action
        def hang(self) -> StepResult:
            """Wait until the test lets go."""
            release.wait(10)
            returned.set()
            return self.ok("hang()", "Done.")

    env = Stuck()
    env.reset(0)
    limits = Limits(wall_time_s=0.5, memory_mb=256)
    before = IN_FLIGHT.count
    backend = SubprocessBackend(["move", "pick", "drop", "hang"], limits, spin_us=100)
    with Sandbox(env, backend=backend, limits=limits) as sb:
        sb.load({"walk": WALK})
        try:
            result = sb.run("hang()")
            assert result.error_kind == "environment_error", result
            assert "still running" in result.message
            assert IN_FLIGHT.count == before
            sent.clear()
            assert sb.run(f"walk({SPLIT_AFTER})").ok
            assert any(sent)  # the long call moved its worker apart and polls
        finally:
            release.set()
        assert returned.wait(5)
        unwound = time.monotonic() + 5  # the abandoned call unwinds on its own thread
        while IN_FLIGHT.count != before and time.monotonic() < unwound:
            time.sleep(0.01)
        assert IN_FLIGHT.count == before
        assert sb.run("walk(1)").ok


def test_the_worker_polls_for_an_answer_only_when_the_last_answer_said_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flag on an answer is about the next wait only: the worker's base-action stub
    polls before reading an answer exactly when the answer before asked it to."""
    from learnact_langgraph.sandbox import worker

    to_worker, from_worker = os.pipe(), os.pipe()
    monkeypatch.setattr(worker, "_IN", to_worker[0])
    monkeypatch.setattr(worker, "_OUT", from_worker[1])
    polled: list[bool] = []

    class Spy:
        def wait(self) -> bool:
            polled.append(True)
            return False

    monkeypatch.setattr(worker, "_answers", Spy())
    stub = worker.Worker._make_base(SimpleNamespace(loading=False, seq=0, spin=False), "move")  # type: ignore[arg-type]
    waits = []
    try:
        for seq, poll in enumerate([True, True, False, True, False], start=1):
            frame = ret_frame(seq, f"answer {seq}", True, False, poll=poll)
            os.write(to_worker[1], len(frame).to_bytes(4, "big") + frame)
            before = len(polled)
            assert stub("a", "b") == f"answer {seq}"
            waits.append(len(polled) > before)
    finally:
        for fd in (*to_worker, *from_worker):
            os.close(fd)
    assert waits == [False, True, True, False, True]
