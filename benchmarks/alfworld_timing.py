"""AlfWorld timings for ``bench_env.py``: resets, steps, restores and a scripted learning
run, each with game reuse and without it (plain TextWorld: every reset loads the game)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from learnact_langgraph.pyast import literal_call

TASK = "alfworld_put/14"


def _modes() -> Iterator[tuple[str, Callable[[], AbstractContextManager[Any]]]]:
    from learnact_langgraph.envs.alfworld.engine import no_reuse

    yield "no reuse (plain TextWorld)", no_reuse
    yield "reuse (ours)", nullcontext


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _episode_lines(env: Any) -> list[str]:
    from learnact_langgraph.envs.alfworld.scripted import Player

    room = env.reset(TASK)
    player = Player(env.goal, room)
    actions: list[str] = []
    observations: list[str] = []
    while not env.done and len(actions) < 40:
        line = player.next_action(actions, observations)
        call = literal_call(line)
        assert call is not None, line
        observations.append(env.call(call[0], *call[1]).observation)
        actions.append(line)
    return actions


def env_costs(data_dir: str | None) -> dict[str, dict[str, float]]:
    from learnact_langgraph.envs.alfworld import engine, load_env

    out: dict[str, dict[str, float]] = {}
    for label, mode in _modes():
        with mode():
            engine.clear_caches()
            env = load_env("alfworld_put", data_dir=data_dir)
            first = _timed(lambda env=env: env.reset(TASK))
            same = statistics.median(_timed(lambda env=env: env.reset(TASK)) for _ in range(3))
            fresh = statistics.median(
                _timed(lambda: load_env("alfworld_put", data_dir=data_dir).reset(TASK))
                for _ in range(3)
            )
            env.reset(TASK)
            start = time.perf_counter()
            lines = _episode_lines(env)
            steps = len(lines)
            per_step = (time.perf_counter() - start) / max(steps, 1)
            snap = env.snapshot()
            env.reset(TASK)
            restore = _timed(lambda env=env, snap=snap: env.restore(snap))
            out[label] = {
                "first reset": first,
                "reset, same env": same,
                "reset, new env": fresh,
                "step": per_step,
                f"restore ({steps} cmds)": restore,
            }
    return out


def learning_rate(data_dir: str | None) -> dict[str, tuple[int, float]]:
    """Training episodes and seconds of one scripted learning run per mode."""
    from learnact_langgraph.envs.alfworld import engine
    from learnact_langgraph.graphs.learner import LearnerContext, build_learner_graph
    from learnact_langgraph.testing.roles import scripted_model

    out = {}
    for label, mode in _modes():
        with mode():
            engine.clear_caches()
            ctx = LearnerContext(
                env="alfworld_put",
                data_dir=data_dir,
                learner_model=scripted_model(),
                agent_model=scripted_model(),
                k=2,
                rounds=1,
            )
            start = time.perf_counter()
            result = build_learner_graph().compile().invoke({}, context=ctx)
            out[label] = (len(result.get("results", {})), time.perf_counter() - start)
    return out


def alfworld_section(data_dir: str | None) -> None:
    from learnact_langgraph.data import missing_files
    from learnact_langgraph.envs.alfworld import EngineMissing, require_engine

    try:
        require_engine()
    except EngineMissing as exc:
        print(f"\nAlfWorld skipped: {exc}")
        return
    if missing_files("alfworld", data_dir):
        print("\nAlfWorld skipped: no games; run `learnact data fetch alfworld`.")
        return
    costs = env_costs(data_dir)
    (base, base_row), (ours, ours_row) = costs.items()
    print(f"\nAlfWorld, game {TASK} (seconds; ratio = without / with reuse)")
    print(f"{'':<24}{base:>28}{ours:>16}{'ratio':>9}")
    for key in base_row:
        b, o = base_row[key], ours_row.get(key, 0.0)
        print(f"{key:<24}{b:>28.3f}{o:>16.3f}{b / o if o else 0.0:>8.1f}x")
    runs = learning_rate(data_dir)
    print("\nScripted learning run on alfworld_put (K=2, 1 revision round, 3 training games)")
    print(f"{'':<28}{'episodes':>9}{'seconds':>9}{'episodes/min':>14}")
    rates = []
    for label, (episodes, seconds) in runs.items():
        rate = episodes / seconds * 60
        rates.append(rate)
        print(f"{label:<28}{episodes:>9}{seconds:>9.1f}{rate:>14.1f}")
    print(f"{'speed-up':<28}{'':>18}{rates[1] / rates[0]:>13.1f}x")
