"""Soak learning runs against model faults: the model scenarios of tests/faults, longer.

Scenarios, each with scripted models (no network):
- ``flaky``: a model failing every Nth call (rate limits, timeouts, 5xx), learning runs
  that must finish with every failed attempt counted as a retry;
- ``outage``: a model that goes down for good mid-run; the run fails, is resumed from
  its SQLite checkpoint once the model is back, and must reach the release a run
  without faults reaches, without asking any answered call again;
- ``kill``: ``learnact learn`` SIGKILLed at random model calls (3 to 12 calls into
  each process) and rerun until it finishes; one release, the same as a straight run's.

    .venv/bin/python benchmarks/soak_learning.py [--runs 20] [--kills 20]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from learnact_langgraph.graphs import LearnerContext, build_learner_graph, learner_graph
from learnact_langgraph.graphs.resumable import invoke_resumable, sqlite_checkpointer
from learnact_langgraph.models import ModelError, retry
from learnact_langgraph.testing import scripted_model
from learnact_langgraph.testing.faults import FlakyChatModel, between, every
from tests.faults import test_kill_resume as kill_test


@dataclass
class Row:
    scenario: str
    trials: int = 0
    finished: int = 0
    wrong_release: int = 0
    miscounted: int = 0
    redone_calls: int = 0
    seconds: float = 0.0


def _ctx(model: Any) -> LearnerContext:
    return LearnerContext(
        env="gripper", tasks="generated", learner_model=model, agent_model=model, k=2, rounds=1
    )


def _release(out: dict[str, Any]) -> dict[str, str]:
    return {n: a["source"] for n, a in (out.get("release") or {}).get("actions", {}).items()}


def flaky(runs: int, expected: dict[str, str], rng: random.Random) -> Row:
    row = Row("flaky (every 2nd-5th call fails)")
    start = time.perf_counter()
    for i in range(runs):
        model = FlakyChatModel(
            inner=scripted_model(),
            fails=every(rng.randint(2, 5)),
            error=("rate_limit", "timeout", "server")[i % 3],
        )
        out = learner_graph().invoke({}, context=_ctx(model))
        row.trials += 1
        row.finished += out.get("status") == "published"
        row.wrong_release += _release(out) != expected
        usage = out["usage"]
        row.miscounted += usage["calls"] + usage["retries"] != model.attempts
    row.seconds = time.perf_counter() - start
    return row


def outage(runs: int, expected: dict[str, str], straight_calls: int, rng: random.Random) -> Row:
    row = Row("outage, then resume")
    start = time.perf_counter()
    for i in range(runs):
        model = FlakyChatModel(inner=scripted_model(), fails=between(rng.randint(5, 90), 10**9))
        with tempfile.TemporaryDirectory() as tmp, sqlite_checkpointer(Path(tmp) / "cp") as cp:
            try:
                out = invoke_resumable(build_learner_graph(), cp, f"t{i}", _ctx(model))
            except ModelError:
                model.fails = lambda call: False
                out = invoke_resumable(build_learner_graph(), cp, f"t{i}", _ctx(model))
        row.trials += 1
        row.finished += out.get("status") == "published"
        row.wrong_release += _release(out) != expected
        usage = out["usage"]
        row.miscounted += usage["calls"] + usage["retries"] != model.attempts
        row.redone_calls += len(model.prompts) - straight_calls
    row.seconds = time.perf_counter() - start
    return row


def kills(count: int, rng: random.Random) -> Row:
    from collections import Counter

    row = Row(f"kill -9 ({count} kills)")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        kill_test._learn(tmp, tmp / "straight.db", 0, tmp / "straight.log")
        _, expected = kill_test._published(tmp / "straight.db")
        straight = Counter((tmp / "straight.log").read_text().split())
        store, log = tmp / "killed.db", tmp / "killed.log"
        finished = False
        while row.trials < count and not finished:
            # A run that ends before its kill point is finished: the next would learn anew.
            finished = kill_test._learn(tmp, store, rng.randint(3, 12), log) == 0
            row.trials += not finished
        if not finished:
            kill_test._learn(tmp, store, 0, log)
        releases, actions = kill_test._published(store)
        row.finished = int(releases == 1)
        row.wrong_release = int(actions != expected)
        row.redone_calls = sum((Counter(log.read_text().split()) - straight).values())
    row.seconds = time.perf_counter() - start
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    retry.sleep = lambda seconds: None
    rng = random.Random(args.seed)
    base = FlakyChatModel(inner=scripted_model(), fails=lambda call: False)
    straight = learner_graph().invoke({}, context=_ctx(base))
    expected = _release(straight)
    import os

    os.environ[retry.RETRY_ATTEMPTS_ENV] = "2"
    rows = [
        flaky(args.runs, expected, rng),
        outage(args.runs, expected, len(base.prompts), rng),
        kills(args.kills, rng),
    ]
    print(
        f"{'scenario':34} {'trials':>6} {'finished':>8} {'wrong release':>13} "
        f"{'miscounted':>10} {'redone calls':>12} {'s':>6}"
    )
    for r in rows:
        print(
            f"{r.scenario:34} {r.trials:>6} {r.finished:>8} {r.wrong_release:>13} "
            f"{r.miscounted:>10} {r.redone_calls:>12} {r.seconds:>6.1f}"
        )


if __name__ == "__main__":
    main()
