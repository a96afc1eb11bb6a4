"""Environment speed: planning steps per second vs pyperplan and pddlgym, and AlfWorld's costs.

Part 1, planning: our STRIPS simulator vs pyperplan's successor generation and vs
pddlgym (the engine AgentBoard/LearnAct use).

One step = list the valid (applicable) actions in the current state + apply one of them.
All engines replay the same seeded random walks over all 60 benchmark problems (the walk
is drawn once with our simulator; every other engine must offer the same number of
valid actions at every step, which the script checks). Timings are interleaved (one
pass of each engine per round) and each figure is the fastest of ``--repeat`` rounds.

* "ours sim": :class:`Simulator` ``valid_actions`` + ``apply``.
* "pyperplan": the task is ground once with pyperplan's grounder (statics removed from
  the state, irrelevant operators kept, so every action stays available; groundings
  that put one object in two parameters dropped, as our and AgentBoard's semantics
  forbid them); then per step: collect the operators applicable in the state, apply one.
* Grounding is one-time work and is left out of both per-step figures; the "ground ms"
  columns give it separately (ours: building the ground actions and the first
  applicable set; pyperplan: ``ground()``; parsing excluded for both).
* "ours env" adds what an agent pays on top: listing valid actions as Python call
  strings, the call layer, and rendering the full state as text after every action.

Part 2, AlfWorld (when the ``alfworld`` extra and the games are there): what a reset, a
step and a snapshot restore cost, and how many training episodes per minute a scripted
learning run gets, each with game reuse (translation and command-text caches, a pool of
loaded games) and without it (every reset loads the game as plain TextWorld does), side
by side in one run.

Run: ``python benchmarks/bench_env.py [--steps 30] [--data-dir DIR] [--skip-planning]
[--skip-alfworld]``. pyperplan is in the ``dev`` extra; pddlgym in the ``reference``
extra: ``pip install -e '.[reference]'``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import logging
import random
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from learnact_langgraph.data import require
from learnact_langgraph.envs.pddl import DOMAINS, load_env
from learnact_langgraph.envs.pddl import simulator as simulator_module

#: One random walk: (operator, arguments, how many actions were valid before it).
Walk = list[tuple[str, tuple[str, ...], int]]


class Timing(NamedTuple):
    """Seconds spent stepping, steps taken, seconds of one-time grounding (if timed)."""

    seconds: float
    steps: int
    ground: float = 0.0


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


def time_simulator(domain: str, data_dir: str | None, walks: list[Walk]) -> Timing:
    env = load_env(domain, data_dir=data_dir)
    sims = [env.simulator(i) for i in range(len(walks))]
    ground = 0.0
    simulator_module._GROUNDINGS.clear()  # kept per process: time building them anew
    for sim in sims:  # parsing happens here; the grounding below is timed on its own
        start = time.perf_counter()
        sim.valid_actions(sim.initial_state)
        ground += time.perf_counter() - start
    total, n = 0.0, 0
    for sim, walk in zip(sims, walks, strict=True):
        state = sim.initial_state
        start = time.perf_counter()
        for op, args, count in walk:
            valid = sim.valid_actions(state)
            assert len(valid) == count
            state = sim.apply(op, args, state)
        total += time.perf_counter() - start
        n += len(walk)
    return Timing(total, n, ground)


def time_env(domain: str, data_dir: str | None, walks: list[Walk]) -> Timing:
    env = load_env(domain, data_dir=data_dir)
    py_name = {a.operator: a.name for a in env.spec.actions}
    total, n = 0.0, 0
    for i, walk in enumerate(walks):
        sim = env.simulator(i)
        sim.valid_actions(sim.initial_state)  # one-time grounding, timed in time_simulator
        env.reset(i)
        start = time.perf_counter()
        for op, args, _ in walk:
            env.valid_actions()
            result = env.call(py_name[op], *args)
            assert result.valid, result.observation
        total += time.perf_counter() - start
        n += len(walk)
    return Timing(total, n)


def interleaved(repeat: int, runs: dict[str, Callable[[], Timing]]) -> dict[str, Timing]:
    """The fastest of ``repeat`` rounds for each engine, one pass of each per round.

    Interleaving spreads the noise of a shared machine over all engines alike.
    """
    best: dict[str, Timing] = {}
    for _ in range(max(1, repeat)):
        for name, run in runs.items():
            gc.collect()
            timing = run()
            if name not in best or timing.seconds < best[name].seconds:
                best[name] = timing
    return best


def load_pyperplan() -> tuple[Any, Any] | None:
    try:
        from pyperplan.grounding import ground
        from pyperplan.pddl.parser import Parser
    except ImportError:
        return None
    logging.getLogger().setLevel(logging.WARNING)  # pyperplan logs every grounding at INFO
    return Parser, ground


def time_pyperplan(
    pyperplan: tuple[Any, Any], root: Path, domain: str, files: list[str], walks: list[Walk]
) -> Timing:
    parser_cls, ground = pyperplan
    ground_s, tasks = 0.0, []
    for name in files:
        parser = parser_cls(str(root / f"{domain}.pddl"), str(root / domain / name))
        problem = parser.parse_problem(parser.parse_domain())
        start = time.perf_counter()
        task = ground(
            problem, remove_statics_from_initial_state=True, remove_irrelevant_operators=False
        )
        ground_s += time.perf_counter() - start
        by_key = {}
        for op in task.operators:
            op_name, *args = op.name.strip("()").split()
            if len(set(args)) == len(args):  # one object in two parameters: not an action here
                by_key[(op_name, tuple(args))] = op
        tasks.append((task.initial_state, list(by_key.values()), by_key))
    total, n = 0.0, 0
    for (state, operators, by_key), walk in zip(tasks, walks, strict=True):
        start = time.perf_counter()
        for op, args, count in walk:
            applicable = [o for o in operators if o.applicable(state)]
            assert len(applicable) == count, f"pyperplan disagrees on {domain}"
            state = by_key[(op, args)].apply(state)
        total += time.perf_counter() - start
        n += len(walk)
    return Timing(total, n, ground_s)


def load_pddlgym() -> Any | None:
    try:  # gym prints an "unmaintained" notice on import; keep the table readable
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            from pddlgym.core import PDDLEnv
    except ImportError:
        return None
    return PDDLEnv


def time_pddlgym(pddl_env: Any, root: Path, domain: str, walks: list[Walk]) -> Timing:
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
    return Timing(total, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="steps per problem")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="keep the fastest of N rounds")
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
    pyperplan = load_pyperplan()
    pddl_env = load_pddlgym()
    if pyperplan is None:
        print("pyperplan is not installed; for that comparison run: pip install -e '.[dev]'")
    if pddl_env is None:
        print("pddlgym is not installed; for that comparison run: pip install -e '.[reference]'")
    cols = [("domain", 11), ("steps", 7), ("ours sim/s", 12)]
    if pyperplan:
        cols += [("pyperplan/s", 13), ("sim/pyperplan", 15)]
    cols += [("ours env/s", 12)]
    if pddl_env:
        cols += [("pddlgym/s", 11), ("sim/pddlgym", 13), ("env/pddlgym", 13)]
    cols += [("ground ms", 11)]
    if pyperplan:
        cols += [("pyperplan ms", 14)]
    print("".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in enumerate(cols)))
    sums: dict[str, list[float]] = {}
    for domain in DOMAINS:
        walks = draw_walks(domain, opts.data_dir, opts.steps, opts.seed)
        files = [str(t.meta["file"]) for t in load_env(domain, data_dir=opts.data_dir).tasks()]
        runs: dict[str, Callable[[], Timing]] = {
            "sim": partial(time_simulator, domain, opts.data_dir, walks),
            "env": partial(time_env, domain, opts.data_dir, walks),
        }
        if pyperplan:
            runs["pyperplan"] = partial(time_pyperplan, pyperplan, root, domain, files, walks)
        if pddl_env:
            runs["pddlgym"] = partial(time_pddlgym, pddl_env, root, domain, walks)
        best = interleaved(opts.repeat, runs)
        for name, timing in best.items():
            acc = sums.setdefault(name, [0.0, 0.0, 0.0])
            acc[0] += timing.seconds
            acc[1] += timing.steps
            acc[2] += timing.ground
        print(_row(domain, {k: (v.seconds, v.steps, v.ground) for k, v in best.items()}, cols))
    print(_row("all 60", {k: (v[0], int(v[1]), v[2]) for k, v in sums.items()}, cols))


def _row(label: str, t: dict[str, tuple[float, int, float]], cols: list[tuple[str, int]]) -> str:
    """One table line: rates, ratios of rates (above 1: ours is faster), grounding ms."""
    n = t["sim"][1]
    width = dict(cols)
    out = f"{label:<11}{n:>7}{n / t['sim'][0]:>12,.0f}"
    if "pyperplan" in t:
        out += f"{n / t['pyperplan'][0]:>13,.0f}{t['pyperplan'][0] / t['sim'][0]:>14.2f}x"
    out += f"{n / t['env'][0]:>12,.0f}"
    if "pddlgym" in t:
        gym = t["pddlgym"][0]
        out += f"{n / gym:>11,.0f}{gym / t['sim'][0]:>12.1f}x{gym / t['env'][0]:>12.1f}x"
    out += f"{t['sim'][2] * 1000:>{width['ground ms']},.1f}"
    if "pyperplan" in t:
        out += f"{t['pyperplan'][2] * 1000:>{width['pyperplan ms']},.1f}"
    return out


if __name__ == "__main__":
    main()
