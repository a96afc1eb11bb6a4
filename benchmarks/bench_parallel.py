"""Bench episodes per second as they fan out: local threads at 1/4/16/64, and Ray.

A remote LLM mostly makes an episode wait. Here every model call of the scripted
stand-in sleeps a fixed time (``--latency``, 200 ms, like a hosted model's reply), and
``run_bench`` plays the Act method on generated gripper tasks (no data needed), the
same command path as ``learnact bench``. Each row runs enough episodes to keep its
concurrency busy (``--per-slot`` episodes per slot, at least ``--min-episodes``) and
reports finished episodes over wall time, and the ratio to concurrency 1 in the same
run (this machine is noisy: compare the ratios, not runs). Targets: 16 at once >= 10x,
64 at once >= 30x.

The Ray row (``--ray-workers`` actors, 2 by default, ``--ray-concurrency`` episodes at
once) starts a Ray instance on this machine, or joins ``--ray-address``, before its
clock starts; the row includes starting its actors. ``--skip-ray`` leaves it out.
Every row must finish every episode it planned.

Part 2 (``--costs``) prices the parts: a no-op job's round trip on each executor
(p50 of ``--jobs``), and one scripted learning run (gripper, K=2, 1 round, instant
model) with no checkpoint, a SQLite checkpoint and, given ``--pg-url`` (or
``$LEARNACT_TEST_PG_URL``; set it up with ``learnact db setup``), a PostgreSQL one,
interleaved ``--repeat`` times.

Run: ``.venv/bin/python benchmarks/bench_parallel.py [--latency 0.2] [--skip-ray]
[--costs [--pg-url URL]]``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from learnact_langgraph.bench.runner import BenchConfig, run_bench
from learnact_langgraph.checkpoints import open_checkpointer
from learnact_langgraph.envs.registry import load_env
from learnact_langgraph.executors import Executor, ExecutorSettings, LocalExecutor, make_executor
from learnact_langgraph.graphs.learner import LearnerContext, build_learner_graph, learner_graph
from learnact_langgraph.graphs.resumable import invoke_resumable
from learnact_langgraph.testing import scripted_model

TARGETS = {16: 10.0, 64: 30.0}


@dataclass
class Row:
    label: str
    concurrency: int
    episodes: int
    seconds: float
    steps: int

    @property
    def rate(self) -> float:
        return self.episodes / self.seconds


def test_tasks() -> int:
    env = load_env("gripper", tasks="generated")
    return sum(1 for t in env.tasks() if t.split != "train")


def run_row(
    label: str,
    concurrency: int,
    episodes: int,
    latency: float,
    *,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int = 2,
) -> Row:
    per_repeat = test_tasks()
    repeats = max(1, math.ceil(episodes / per_repeat))
    config = BenchConfig(
        methods=["act"],
        domains=["gripper"],
        tasks="generated",
        repeats=repeats,
        concurrency=concurrency,
        checkpoint=False,
        executor=executor,  # type: ignore[arg-type]
        ray_address=ray_address,
        workers=workers,
    )
    steps = 0

    def count(event: dict[str, object]) -> None:
        nonlocal steps
        if event.get("type") == "episode_done":
            steps += int(event.get("steps", 0))  # type: ignore[call-overload]

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = run_bench(config, model=f"scripted:{latency}s", out=out, on_event=count)
        seconds = time.perf_counter() - start
    if summary.failed or summary.finished != summary.planned:
        raise SystemExit(f"{label}: {summary.finished}/{summary.planned} finished: {summary}")
    return Row(label, concurrency, summary.finished, seconds, steps)


def _noop(x: int) -> int:
    return x


def job_round_trip(executor: Executor, jobs: int) -> float:
    """p50 seconds of one no-op job, run one at a time."""
    executor.run(_noop, 0)
    times = []
    for i in range(jobs):
        start = time.perf_counter()
        executor.run(_noop, i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def learning_run(checkpoint: str | None) -> float:
    """Seconds of one scripted learning run, checkpointed at ``checkpoint`` (or not)."""
    ctx = LearnerContext(
        env="gripper", tasks="generated", learner_model=scripted_model(), k=2, rounds=1
    )
    start = time.perf_counter()
    if checkpoint is None:
        learner_graph().invoke({}, context=ctx)
        return time.perf_counter() - start
    with open_checkpointer(checkpoint) as saver:
        thread = f"bench-{time.time_ns()}"
        invoke_resumable(build_learner_graph(), saver, thread, ctx)
        seconds = time.perf_counter() - start
        saver.delete_thread(thread)
    return seconds


def costs(args: argparse.Namespace) -> None:
    print("\ncosts of each part")
    rows = [("local executor, no-op job", job_round_trip(LocalExecutor(1), args.jobs))]
    if not args.skip_ray:
        from learnact_langgraph.executors.ray_backend import connect

        start = time.perf_counter()
        connect(args.ray_address)
        rows.append(("ray: connect (start an instance here)", time.perf_counter() - start))
        start = time.perf_counter()
        with make_executor(ExecutorSettings("ray", 1, args.ray_address, 1)) as ray_executor:
            ray_executor.run(_noop, 0)
            rows.append(("ray: a new actor's first job", time.perf_counter() - start))
            rows.append(("ray executor, no-op job", job_round_trip(ray_executor, args.jobs)))
    places: dict[str, str | None] = {"none": None}
    with tempfile.TemporaryDirectory() as tmp:
        places["sqlite"] = str(Path(tmp) / "checkpoints.sqlite")
        url = args.pg_url or os.environ.get("LEARNACT_TEST_PG_URL")
        if url:
            places["postgresql"] = url
        runs: dict[str, list[float]] = {k: [] for k in places}
        for _ in range(args.repeat):
            for name, where in places.items():
                runs[name].append(learning_run(where))
    for name in places:
        rows.append((f"learning run, checkpoint: {name}", statistics.median(runs[name])))
    base = statistics.median(runs["none"])
    print(f"{'what':<40} | {'p50':>10} | vs no checkpoint")
    print("-" * 70)
    for name, seconds in rows:
        ratio = f"{seconds / base:.2f}x" if name.startswith("learning") else ""
        shown = f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"
        if seconds < 0.001:
            shown = f"{seconds * 1e6:.0f} us"
        print(f"{name:<40} | {shown:>10} | {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--levels", default="1,4,16,64", help="local concurrency levels")
    parser.add_argument("--per-slot", type=int, default=3, help="episodes per concurrent slot")
    parser.add_argument("--min-episodes", type=int, default=6)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--ray-address", default=None)
    parser.add_argument("--ray-workers", type=int, default=2)
    parser.add_argument("--ray-concurrency", type=int, default=64)
    parser.add_argument("--costs", action="store_true", help="part 2: the cost of each part")
    parser.add_argument("--costs-only", action="store_true")
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg-url", default=None)
    args = parser.parse_args()
    if args.costs_only:
        costs(args)
        return

    levels = [int(x) for x in args.levels.split(",")]
    rows = []
    for c in levels:
        n = max(args.min_episodes, c * args.per_slot)
        rows.append(run_row(f"local, {c} at once", c, n, args.latency))
        print(f"  {rows[-1].label}: {rows[-1].episodes} episodes in {rows[-1].seconds:.1f} s")
    if not args.skip_ray:
        from learnact_langgraph.executors.ray_backend import connect

        start = time.perf_counter()
        connect(args.ray_address)
        print(f"  ray: connected in {time.perf_counter() - start:.1f} s (not in the row)")
        c = args.ray_concurrency
        n = max(args.min_episodes, c * args.per_slot)
        label = f"ray, {args.ray_workers} workers, {c} at once"
        rows.append(
            run_row(
                label,
                c,
                n,
                args.latency,
                executor="ray",
                ray_address=args.ray_address,
                workers=args.ray_workers,
            )
        )
        print(f"  {label}: {rows[-1].episodes} episodes in {rows[-1].seconds:.1f} s")

    base = next((r for r in rows if r.concurrency == 1 and r.label.startswith("local")), rows[0])
    print()
    print(f"bench episodes per second, Act on generated gripper, {args.latency * 1000:.0f} ms/call")
    header = f"{'executor':<32} | {'episodes':>8} | {'seconds':>7} | {'ep/s':>6} | "
    header += f"{'steps/s':>7} | {'vs 1':>6} | target"
    print(header)
    print("-" * len(header))
    missed = []
    for r in rows:
        ratio = r.rate / base.rate
        target = TARGETS.get(r.concurrency) if r.label.startswith("local") else None
        mark = ""
        if target is not None:
            ok = ratio >= target
            mark = f">= {target:g}x {'ok' if ok else 'MISSED'}"
            if not ok:
                missed.append(r.label)
        print(
            f"{r.label:<32} | {r.episodes:>8} | {r.seconds:>7.1f} | {r.rate:>6.2f} | "
            f"{r.steps / r.seconds:>7.1f} | {ratio:>5.1f}x | {mark}"
        )
    print(f"\nmissed: {', '.join(missed) or 'none'}")
    if args.costs:
        costs(args)


if __name__ == "__main__":
    main()
