"""The sandbox heals: scripted, seeded faults, each counted (numbers for docs/reliability.md).

Workers are SIGKILLed before they are ready, mid-call, while idle and while loading;
learning runs go on while a killer thread shoots their workers; base actions raise,
exit, hang or return junk; a load kills its worker; failing calls are searched for
host paths. Every test asserts its counts; ``benchmarks/soak_sandbox.py`` runs the
same scenarios with bigger numbers.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from learnact_langgraph.envs.base import StepResult, base_action
from learnact_langgraph.sandbox import (
    LearnedCodeError,
    Limits,
    Sandbox,
    SandboxError,
    SubprocessBackend,
)
from learnact_langgraph.sandbox.worker_process import WorkerProcess
from tests.unit_tests.sandbox.toy_env import CARRY, Rooms

SEED = 7
#: Worker kills in the in-use sandbox, spread over the four moments below.
KILLS = 50
KILL_MOMENTS = ("before_ready", "mid_call", "idle", "during_load")
#: Learning runs with a killer thread shooting sandbox workers.
LEARNING_RUNS = 4
KILL_INTERVAL_S = (0.08, 0.2)
FIRST_SHOT_POLL_S = 0.01
#: Rounds of the environment-fault cases (each case through ``run`` and ``call``).
FAULT_ROUNDS = 3
FAULT_LIMITS = Limits(wall_time_s=1.0, cpu_time_s=1.0, base_calls=20)
STALL_S = 1.8
NEXT_CALL_S = 1.0
#: What the tests measured, by test (read by the soak script's table and the docs).
MEASURED: dict[str, dict[str, int]] = {}

_victim: dict[str, Callable[[], int | None]] = {}


class Faulty(Rooms):
    """The toy rooms plus base actions that misbehave in every way we know of."""

    name = "faulty-rooms"

    @base_action
    def boom(self) -> StepResult:
        """Raise an error that names a host path."""
        raise FileNotFoundError(2, "No such file", os.path.join(sys.prefix, "data", "x.pddl"))

    @base_action
    def leave(self) -> StepResult:
        """Call sys.exit."""
        sys.exit(3)

    @base_action
    def interrupt(self) -> StepResult:
        """Raise KeyboardInterrupt."""
        raise KeyboardInterrupt

    @base_action
    def stall(self) -> StepResult:
        """Change the state, then hang past the wall limit."""
        self.state["at"] = "c"
        time.sleep(STALL_S)
        return self.ok("stall()", "You waited.")

    @base_action
    def raw_bytes(self) -> Any:
        """Return bytes, one of them not UTF-8."""
        return b"caf\xc3\xa9 \xff"

    @base_action
    def number(self) -> Any:
        """Return an int."""
        return 42

    @base_action
    def nothing(self) -> Any:
        """Return None."""
        return None

    @base_action
    def leak_paths(self) -> StepResult:
        """Raise with the home directory and the worker's directory in the message."""
        home = os.path.expanduser("~")
        raise RuntimeError(f"cannot read {home}/.config and {tempfile.gettempdir()}/la-sb-x/f")

    @base_action
    def crash_worker(self) -> StepResult:
        """SIGKILL the sandbox worker that is waiting for this base action."""
        pid = _victim["pid"]()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        return self.ok("crash_worker()", "Done.")


def faulty_env() -> Faulty:
    env = Faulty()
    env.reset(0)
    return env


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(faulty_env(), limits=FAULT_LIMITS) as sandbox:
        backend = sandbox.backend
        assert isinstance(backend, SubprocessBackend)
        _victim["pid"] = lambda: backend.pid
        sandbox.load({"carry": CARRY})
        yield sandbox


def backend_of(sb: Sandbox) -> SubprocessBackend:
    assert isinstance(sb.backend, SubprocessBackend)
    return sb.backend


def next_call_works(sb: Sandbox) -> float:
    """A normal learned-action call succeeds; returns its duration."""
    sb.env.reset(0)
    started = time.perf_counter()
    result = sb.run("carry('a', 'b', 'b1')")
    took = time.perf_counter() - started
    assert result.ok, result
    sb.env.reset(0)
    return took


def kill(pid: int | None) -> None:
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ----- workers killed at every moment -------------------------------------------------
def test_a_worker_killed_50_times_is_replaced_every_time(sb: Sandbox) -> None:
    backend = backend_of(sb)
    moments = [KILL_MOMENTS[i % len(KILL_MOMENTS)] for i in range(KILLS)]
    random.Random(SEED).shuffle(moments)
    counts: Counter[str] = Counter()
    for i, moment in enumerate(moments):
        try:
            if moment == "before_ready":
                backend._respawn()  # as after a timeout: a fresh worker, still starting
                kill(backend.pid)
            elif moment == "mid_call":
                # assigned, so the worker makes the call (a bare base call is the host's)
                result = sb.run("done = crash_worker()")
                assert not result.ok and result.error_kind == "limit", result
                counts["documented_call_failures"] += 1
            elif moment == "idle":
                proc = backend._state["proc"]
                kill(proc.pid)
                proc.proc.wait(5.0)
            else:
                kill(backend.pid)
                try:
                    sb.load({f"extra{i}": f"def extra{i}():\n    return {i}\n"})
                except LearnedCodeError:
                    counts["documented_load_failures"] += 1
            counts["kills"] += 1
            next_call_works(sb)
            counts["next_call_ok"] += 1
        except SandboxError:
            counts["closed"] += 1
        except Exception:
            counts["crashes"] += 1
    MEASURED["kills"] = dict(counts)
    assert counts["kills"] == KILLS and counts["next_call_ok"] == KILLS
    assert counts["crashes"] == 0 and counts["closed"] == 0
    assert "carry" in sb.sources and backend.restarts >= KILLS


def test_close_still_closes_for_good(sb: Sandbox) -> None:
    kill(backend_of(sb).pid)
    sb.close()
    with pytest.raises(SandboxError, match="closed"):
        sb.run("1")


def test_a_worker_that_cannot_start_is_one_clear_error(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = backend_of(sb)
    monkeypatch.setitem(backend._config, "limits", {})  # the worker dies on its config
    backend._respawn()
    with pytest.raises(SandboxError, match="failed to start 10 times in a row") as info:
        sb.run("1")
    assert "\n" not in str(info.value) and sys.prefix not in str(info.value)
    monkeypatch.undo()
    next_call_works(sb)  # the sandbox was never closed: the next call starts a worker


# ----- learning runs under fire ---------------------------------------------------------
def sandbox_worker_pids() -> list[int]:
    """This process's sandbox workers, found in /proc (not through any sandbox): the
    zygote's children, and workers started as interpreters (``zygote=False``)."""
    from learnact_langgraph.sandbox import zygote_client

    me, pids = os.getpid(), zygote_client.worker_pids()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and b"worker.py" in cmdline:
            pids.append(int(entry.name))
    return pids


class Killer(threading.Thread):
    """SIGKILLs a random sandbox worker of this process every few hundred milliseconds."""

    def __init__(self, seed: int) -> None:
        super().__init__(daemon=True)
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.kills = 0

    def run(self) -> None:
        # The first shot as soon as a worker is up: a scripted run can be over in
        # 0.13 s, less than one interval, and then no worker was ever shot.
        delay = FIRST_SHOT_POLL_S
        while not self.stop.wait(delay):
            pids = sandbox_worker_pids()
            if pids:
                kill(self.rng.choice(pids))
                self.kills += 1
            if self.kills:
                delay = self.rng.uniform(*KILL_INTERVAL_S)


def learning_context() -> Any:
    """A short scripted gripper learning run (K=2, 3 generated tasks, 2 rounds)."""
    from learnact_langgraph.envs.pddl import load_env
    from learnact_langgraph.graphs.learner import LearnerContext
    from learnact_langgraph.testing import scripted
    from tests.unit_tests.learner.scripts import agent, learner

    return LearnerContext(
        env="gripper",
        learner_model=scripted(learner()),
        agent_model=scripted(agent),
        env_factory=lambda: load_env("gripper", tasks="generated", n=3, size=2, seed=0),
        k=2,
        rounds=2,
        train_steps=10,
    )


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds workers through /proc")
def test_learning_runs_survive_a_killer_thread() -> None:
    from learnact_langgraph.graphs.learner import learner_graph

    counts: Counter[str] = Counter()
    crashes: list[str] = []
    for run in range(LEARNING_RUNS):
        ctx = learning_context()
        killer = Killer(SEED + run)
        killer.start()
        try:
            result = learner_graph().invoke({}, context=ctx)
            counts[f"status_{result.get('status')}"] += 1
        except Exception as exc:
            counts["run_crashes"] += 1
            crashes.append(f"{type(exc).__name__}: {exc}"[:300])
        finally:
            killer.stop.set()
            killer.join()
        counts["kills"] += killer.kills
        counts["runs"] += 1
    MEASURED["learning_runs"] = dict(counts)
    assert counts["runs"] == LEARNING_RUNS and counts["run_crashes"] == 0, crashes
    assert counts["kills"] >= LEARNING_RUNS


# ----- environment faults ---------------------------------------------------------------
ENV_ERRORS = {
    "boom": "raised FileNotFoundError",
    "leave": "called sys.exit(3)",
    "interrupt": "raised KeyboardInterrupt",
    "stall": "was still running when the call's wall-time limit ran out",
    "nothing": "returned None instead of an observation string",
}
CONVERTED = {"raw_bytes": "café \ufffd", "number": "42"}


def test_environment_faults_are_environment_errors_and_the_next_call_is_immediate(
    sb: Sandbox,
) -> None:
    counts: Counter[str] = Counter()
    # a line that is only the call is made by the host; assigned, the worker makes it
    ways = {
        "line": lambda name: sb.run(f"{name}()"),
        "worker": lambda name: sb.run(f"obs = {name}()\nobs"),
        "call": sb.call,
    }
    for _ in range(FAULT_ROUNDS):
        for name, words in ENV_ERRORS.items():
            for how in ways.values():
                sb.env.reset(0)
                restarts = backend_of(sb).restarts
                result = how(name)
                assert not result.ok and result.error_kind == "environment_error", result
                assert words in result.message and f"base action {name}()" in result.message
                assert result.rolled_back or not result.substeps[:-1]
                assert sb.env.state["at"] == "a"  # a hung action's change was undone
                assert backend_of(sb).restarts == restarts  # the worker was innocent
                counts["environment_errors"] += 1
                took = next_call_works(sb)
                assert took < NEXT_CALL_S, took
                counts["next_call_fast"] += 1
        for name, text in CONVERTED.items():
            for how in ways.values():
                result = how(name)
                assert result.ok and result.observation == text, result
                counts["converted"] += 1
    MEASURED["environment_faults"] = dict(counts)
    cases = FAULT_ROUNDS * len(ENV_ERRORS) * len(ways)
    assert counts["environment_errors"] == cases and counts["next_call_fast"] == cases
    assert counts["converted"] == FAULT_ROUNDS * len(CONVERTED) * len(ways)


def test_an_environment_fault_inside_a_learned_action_undoes_its_steps(sb: Sandbox) -> None:
    sb.load({"go_boom": "def go_boom():\n    move('a', 'b')\n    return boom()\n"})
    result = sb.call("go_boom")
    assert result.error_kind == "environment_error" and result.rolled_back
    assert [s.name for s in result.substeps] == ["move", "boom"]
    assert result.failed_substep == 1 and sb.env.state["at"] == "a"
    next_call_works(sb)


# ----- a load that kills its worker ---------------------------------------------------
KILLER_MARK = "# this load kills the worker"
KILLING_LOADS = 5


def test_a_load_that_kills_the_worker_is_the_candidates_failure(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if compiling the source crashed the worker: it is SIGKILLed when the load
    reaches it. The backend must never send that source again."""
    sent: Counter[str] = Counter()
    send = WorkerProcess.send

    def deadly_send(self: WorkerProcess, message: dict[str, Any] | bytes) -> None:
        if (
            isinstance(message, dict)
            and message.get("op") == "load"
            and any(KILLER_MARK in s for s in message["sources"].values())
        ):
            sent["killing_loads"] += 1
            kill(self.pid)
            self.proc.wait(5.0)
        send(self, message)

    monkeypatch.setattr(WorkerProcess, "send", deadly_send)
    counts: Counter[str] = Counter()
    for i in range(KILLING_LOADS):
        try:
            sb.load({f"deadly{i}": f"def deadly{i}():\n    return 1\n{KILLER_MARK}\n"})
        except LearnedCodeError as exc:
            assert "stopped the sandbox worker" in str(exc)
            counts["learned_code_errors"] += 1
        except SandboxError:
            counts["closed"] += 1
        assert set(sb.sources) == {"carry"}
        next_call_works(sb)
        counts["previous_set_works"] += 1
    MEASURED["killing_loads"] = dict(counts) | {"sent": sent["killing_loads"]}
    assert counts["learned_code_errors"] == KILLING_LOADS and counts["closed"] == 0
    assert counts["previous_set_works"] == KILLING_LOADS
    assert sent["killing_loads"] == KILLING_LOADS  # never replayed to a fresh worker


# ----- no host path reaches the model ---------------------------------------------------
LEAKY_CALLS = {
    "too many open files": "'x'.encode('cp1252')",
    "printed": "try:\n    'x'.encode('idna')\nexcept Exception as exc:\n    print(exc)",
    "returned": (
        "m = ''\ntry:\n    'x'.encode('rot13')\nexcept Exception as exc:\n    m = str(exc)\nm"
    ),
    "environment error": "boom()",
    "environment error with home": "leak_paths()",
}


def test_no_host_path_in_any_message(sb: Sandbox) -> None:
    host_paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.expanduser("~"),
        backend_of(sb)._state["workdir"],
        f"{tempfile.gettempdir()}/la-sb-",
        str(Path(__file__).resolve().parents[2] / "learnact_langgraph"),
    }
    counts: Counter[str] = Counter()
    for label, code in LEAKY_CALLS.items():
        result = sb.run(code)
        seen = [result.message, result.observation, result.traceback, result.stdout]
        seen.append(str(result.value))
        text = "\n".join(seen)
        assert "<python>" in text or "<home>" in text or "<sandbox>" in text, (label, text)
        leaks = [p for p in host_paths if p in text]
        assert not leaks, (label, leaks, text)
        counts["messages_checked"] += len(seen)
        counts["calls"] += 1
    MEASURED["host_paths"] = dict(counts)
    assert counts["calls"] == len(LEAKY_CALLS)
