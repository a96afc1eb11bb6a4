"""Soak the sandbox's healing: the fault scenarios of tests/faults with bigger numbers.

Scenarios: workers SIGKILLed (before ready, mid-call, idle, during a load), base actions
that raise, exit, hang or return junk, loads that kill their worker, and learning runs
with a killer thread. For each: trials, crashes (an exception other than the
documented per-call failure), closed sandboxes, and the p50 of the next call's time.

    .venv/bin/python benchmarks/soak_sandbox.py [--kills 500] [--runs 10]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from learnact_langgraph.sandbox import LearnedCodeError, Sandbox, SandboxError
from learnact_langgraph.sandbox.worker_process import WorkerProcess
from tests.faults import test_sandbox_faults as faults
from tests.unit_tests.sandbox.toy_env import CARRY


@dataclass
class Row:
    scenario: str
    trials: int = 0
    crashes: int = 0
    closed: int = 0
    next_call_s: list[float] = field(default_factory=list)
    #: What each crash was (``Type: message``), so a crash can be read, not only counted.
    crash_kinds: Counter[str] = field(default_factory=Counter)

    def trial(self, fault: Callable[[], None], sb: Sandbox) -> None:
        """One fault, then the next call; counts what escaped."""
        self.trials += 1
        try:
            fault()
            self.next_call_s.append(faults.next_call_works(sb))
        except SandboxError:
            self.closed += 1
        except Exception as exc:
            self.crash(exc)

    def crash(self, exc: Exception) -> None:
        self.crashes += 1
        self.crash_kinds[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1


def new_sandbox() -> Sandbox:
    sb = Sandbox(faults.faulty_env(), limits=faults.FAULT_LIMITS)
    backend = faults.backend_of(sb)
    faults._victim["pid"] = lambda: backend.pid
    sb.load({"carry": CARRY})
    return sb


def soak_kills(n: int, rng: random.Random) -> list[Row]:
    rows = {m: Row(f"worker killed {m.replace('_', ' ')}") for m in faults.KILL_MOMENTS}
    with new_sandbox() as sb:
        backend = faults.backend_of(sb)

        def before_ready() -> None:
            backend._respawn()
            faults.kill(backend.pid)

        def mid_call() -> None:
            # assigned, so the worker makes the call (a bare base call is the host's)
            result = sb.run("done = crash_worker()")
            assert not result.ok and result.error_kind == "limit", result

        def idle() -> None:
            proc = backend._state["proc"]
            faults.kill(proc.pid)
            proc.proc.wait(5.0)

        def during_load() -> None:
            faults.kill(backend.pid)
            try:
                sb.load({"extra": "def extra():\n    return 1\n"})
            except LearnedCodeError:
                pass

        actions = {"before_ready": before_ready, "mid_call": mid_call, "idle": idle}
        actions["during_load"] = during_load
        for _ in range(n):
            moment = rng.choice(faults.KILL_MOMENTS)
            rows[moment].trial(actions[moment], sb)
    return list(rows.values())


def soak_environment(rounds: int) -> list[Row]:
    row = Row("base action raises/exits/hangs/None")
    with new_sandbox() as sb:
        for _ in range(rounds):
            for name in faults.ENV_ERRORS:

                def fault(name: str = name) -> None:
                    assert sb.call(name).error_kind == "environment_error"

                row.trial(fault, sb)
    return [row]


def soak_killing_loads(n: int) -> list[Row]:
    row = Row("load kills its worker")
    send = WorkerProcess.send

    def deadly_send(self: WorkerProcess, message: dict[str, Any] | bytes) -> None:
        if (
            isinstance(message, dict)
            and message.get("op") == "load"
            and any(faults.KILLER_MARK in s for s in message["sources"].values())
        ):
            faults.kill(self.pid)
            self.proc.wait(5.0)
        send(self, message)

    WorkerProcess.send = deadly_send  # type: ignore[method-assign]
    try:
        with new_sandbox() as sb:

            def fault() -> None:
                try:
                    sb.load({"deadly": f"def deadly():\n    return 1\n{faults.KILLER_MARK}\n"})
                except LearnedCodeError:
                    assert set(sb.sources) == {"carry"}
                    return
                raise AssertionError("the killing load succeeded")

            for _ in range(n):
                row.trial(fault, sb)
    finally:
        WorkerProcess.send = send  # type: ignore[method-assign]
    return [row]


def soak_learning(runs: int) -> tuple[list[Row], int]:
    from learnact_langgraph.graphs.learner import learner_graph

    row, kills = Row("learning run with a killer thread"), 0
    for run in range(runs):
        ctx = faults.learning_context()
        killer = faults.Killer(faults.SEED + run)
        killer.start()
        row.trials += 1
        started = time.perf_counter()
        try:
            learner_graph().invoke({}, context=ctx)
            row.next_call_s.append(time.perf_counter() - started)
        except SandboxError:
            row.closed += 1
        except Exception as exc:
            row.crash(exc)
        finally:
            killer.stop.set()
            killer.join()
        kills += killer.kills
    return [row], kills


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=500, help="worker kills in one sandbox")
    parser.add_argument("--env-rounds", type=int, default=20, help="rounds of base-action faults")
    parser.add_argument("--loads", type=int, default=100, help="loads that kill their worker")
    parser.add_argument("--runs", type=int, default=10, help="learning runs under fire")
    parser.add_argument("--seed", type=int, default=faults.SEED)
    args = parser.parse_args()
    rows = soak_kills(args.kills, random.Random(args.seed))
    rows += soak_environment(args.env_rounds)
    rows += soak_killing_loads(args.loads)
    learning, kills = soak_learning(args.runs)
    rows += learning
    print(f"{'scenario':38} {'trials':>7} {'crashes':>8} {'closed':>7} {'p50 next-call ms':>17}")
    for row in rows:
        p50 = statistics.median(row.next_call_s) * 1000 if row.next_call_s else float("nan")
        print(f"{row.scenario:38} {row.trials:7} {row.crashes:8} {row.closed:7} {p50:17.1f}")
    print(f"(learning runs: {kills} workers killed; their p50 column is the whole run's time)")
    for row in rows:
        for kind, count in row.crash_kinds.most_common():
            print(f"crash in {row.scenario!r} ({count}x): {kind}")


if __name__ == "__main__":
    main()
