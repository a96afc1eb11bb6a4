"""Environment speed: planning steps per second vs pddlgym, and AlfWorld's reset/step costs.

Part 1, planning: our STRIPS simulator vs pddlgym (the engine AgentBoard/LearnAct use).

One step = list the valid actions in the current state + apply one of them. Both engines
replay the same seeded random walks over all 60 benchmark problems (the walk is drawn
once with our simulator; pddlgym must offer the same number of valid actions at every
step, which the script checks). Each figure is the fastest of ``--repeat`` runs.
"ours env" adds what an agent pays on top: listing valid actions as Python call strings,
the call layer, and rendering the full state as text after every action.

Part 2, AlfWorld (when the ``alfworld`` extra and the games are there): what a reset, a
step and a snapshot restore cost, and how many training episodes per minute a scripted
learning run gets, each with game reuse (translation and command-text caches, a pool of
loaded games) and without it (every reset loads the game as plain TextWorld does), side
by side in one run.

Run: ``python benchmarks/bench_env.py [--steps 30] [--data-dir DIR] [--skip-planning]``.
pddlgym is in the ``reference`` extra: ``pip install -e '.[reference]'``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import random
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from learnact_langgraph.data import require
from learnact_langgraph.envs.pddl import DOMAINS, load_env

#: One random walk: (operator, arguments, how many actions were valid before it).
Walk = list[tuple[str, tuple[str, ...], int]]


def draw_walks(domain: str, data_dir: str | None, steps: int, seed: int) -> list[Walk]:
    env = load_env(domain, data_dir=data_dir)
    walks = []
    for task in env.tasks():
        rng = random.Random(f"{seed}:{task.id}")
        sim = env.simulator(task.index)
        state, walk = sim.initial_state, []
        for _ in range(steps):
            valid = sim.valid_actions(state)
            if not valid:
                break
            op, args = rng.choice(valid)
            walk.append((op, args, len(valid)))
            state = sim.apply(op, args, state)
        walks.append(walk)
    return walks


def time_simulator(domain: str, data_dir: str | None, walks: list[Walk]) -> tuple[float, int]:
    env = load_env(domain, data_dir=data_dir)
    sims = [env.simulator(i) for i in range(len(walks))]
    total, n = 0.0, 0
    for sim, walk in zip(sims, walks, strict=True):
        state = sim.initial_state
        start = time.perf_counter()
        for op, args, _ in walk:
            valid = set(sim.valid_actions(state))
            assert (op, args) in valid
            state = sim.apply(op, args, state)
        total += time.perf_counter() - start
        n += len(walk)
    return total, n


def time_env(domain: str, data_dir: str | None, walks: list[Walk]) -> tuple[float, int]:
    env = load_env(domain, data_dir=data_dir)
    py_name = {a.operator: a.name for a in env.spec.actions}
    total, n = 0.0, 0
    for i, walk in enumerate(walks):
        env.reset(i)
        start = time.perf_counter()
        for op, args, _ in walk:
            env.valid_actions()
            result = env.call(py_name[op], *args)
            assert result.valid, result.observation
        total += time.perf_counter() - start
        n += len(walk)
    return total, n


def best_of(repeat: int, run: Callable[[], tuple[float, int]]) -> tuple[float, int]:
    """The fastest of ``repeat`` runs (the machine is shared; slow runs are noise)."""
    runs = []
    for _ in range(max(1, repeat)):
        gc.collect()
        runs.append(run())
    return min(runs)


def load_pddlgym() -> Any | None:
    try:  # gym prints an "unmaintained" notice on import; keep the table readable
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            from pddlgym.core import PDDLEnv
    except ImportError:
        return None
    return PDDLEnv


def time_pddlgym(pddl_env: Any, root: Path, domain: str, walks: list[Walk]) -> tuple[float, int]:
    env = pddl_env(
        str(root / f"{domain}.pddl"),
        str(root / domain),
        operators_as_actions=True,
        dynamic_action_space=True,
        raise_error_on_invalid_action=False,
    )
    total, n = 0.0, 0
    for i, walk in enumerate(walks):
        env.fix_problem_index(i)
        obs, _ = env.reset()
        start = time.perf_counter()
        for op, args, count in walk:
            lits = env.action_space.all_ground_literals(obs)
            by_key = {
                (lit.predicate.name, tuple(v.name for v in lit.variables)): lit for lit in lits
            }
            assert len(by_key) == count, f"pddlgym disagrees on {domain} #{i}"
            obs = env.step(by_key[(op, args)])[0]
        total += time.perf_counter() - start
        n += len(walk)
    return total, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="steps per problem")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="keep the fastest of N runs")
    parser.add_argument("--data-dir", default=None, help="defaults to $LEARNACT_DATA_DIR")
    parser.add_argument("--skip-planning", action="store_true", help="only the AlfWorld part")
    parser.add_argument("--skip-alfworld", action="store_true", help="only the planning part")
    opts = parser.parse_args()
    if not opts.skip_planning:
        planning(opts)
    if not opts.skip_alfworld:
        from alfworld_timing import alfworld_section

        alfworld_section(opts.data_dir)


def planning(opts: argparse.Namespace) -> None:
    root = require("robotic-planning", opts.data_dir)
    pddl_env = load_pddlgym()
    if pddl_env is None:
        print("pddlgym is not installed; for the comparison run: pip install -e '.[reference]'")
    header = f"{'domain':<11}{'steps':>7}{'ours sim/s':>13}{'ours env/s':>13}"
    header += f"{'pddlgym/s':>12}{'sim/pddlgym':>13}{'env/pddlgym':>13}" if pddl_env else ""
    print(header)
    sums = [0.0, 0.0, 0.0, 0.0]
    for domain in DOMAINS:
        walks = draw_walks(domain, opts.data_dir, opts.steps, opts.seed)
        t_sim, n = best_of(opts.repeat, partial(time_simulator, domain, opts.data_dir, walks))
        t_env, _ = best_of(opts.repeat, partial(time_env, domain, opts.data_dir, walks))
        sums[0] += t_sim
        sums[1] += t_env
        sums[3] += n
        row = f"{domain:<11}{n:>7}{n / t_sim:>13,.0f}{n / t_env:>13,.0f}"
        if pddl_env:
            t_gym, _ = best_of(opts.repeat, partial(time_pddlgym, pddl_env, root, domain, walks))
            sums[2] += t_gym
            row += f"{n / t_gym:>12,.0f}{t_gym / t_sim:>12.1f}x{t_gym / t_env:>12.1f}x"
        print(row)
    t_sim, t_env, t_gym = sums[:3]
    n = int(sums[3])
    row = f"{'all 60':<11}{n:>7}{n / t_sim:>13,.0f}{n / t_env:>13,.0f}"
    if pddl_env:
        row += f"{n / t_gym:>12,.0f}{t_gym / t_sim:>12.1f}x{t_gym / t_env:>12.1f}x"
    print(row)


if __name__ == "__main__":
    main()
