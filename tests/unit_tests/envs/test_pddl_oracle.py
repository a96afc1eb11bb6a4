"""Differential test: our STRIPS simulator against pyperplan, problem by problem.

On all 60 benchmark problems (skipped without the data) and on the 30 gripper and
blocks-world problems of our own data directory (our packaged domains with our own and
generated problems, always). pyperplan (GPL, a test-only dependency) reads the raw files,
tyreworld defects included. It allows one object in two parameter slots; AgentBoard's
engine does not, so those groundings are dropped from its side before comparing.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest

from learnact_langgraph.envs.pddl import DOMAINS, load_env
from tests.conftest import domain_sources

pyperplan_parser = pytest.importorskip("pyperplan.pddl.parser")
pyperplan_grounding = pytest.importorskip("pyperplan.grounding")

STEPS = 50


def _atom_text(atom: tuple[str, ...]) -> str:
    return f"({' '.join(atom)})"


@pytest.mark.parametrize(("domain", "pddl_data"), domain_sources(DOMAINS), indirect=["pddl_data"])
def test_random_walks_agree_with_pyperplan(domain: str, pddl_data: Path) -> None:
    logging.getLogger().setLevel(logging.WARNING)  # pyperplan logs every grounding at INFO
    root = pddl_data / "agentboard_pddl"
    env = load_env(domain, data_dir=pddl_data)
    rng = random.Random(62471893)
    for task in env.tasks():
        parser = pyperplan_parser.Parser(
            str(root / f"{domain}.pddl"), str(root / domain / task.meta["file"])
        )
        problem = parser.parse_problem(parser.parse_domain())
        ref = pyperplan_grounding.ground(
            problem, remove_statics_from_initial_state=False, remove_irrelevant_operators=False
        )
        ops = {}
        for op in ref.operators:
            name, *args = op.name.strip("()").split()
            if len(set(args)) == len(args):
                ops[(name, tuple(args))] = op
        sim = env.simulator(task.index)
        state, ref_state = sim.initial_state, ref.initial_state
        for step in range(STEPS):
            where = f"{task.id} step {step}"
            assert {_atom_text(a) for a in state} == set(ref_state), where
            assert sim.is_goal(state) == ref.goal_reached(ref_state), where
            ours = sim.valid_actions(state)
            theirs = {key for key, op in ops.items() if op.applicable(ref_state)}
            assert set(ours) == theirs and len(ours) == len(theirs), where
            if not ours:
                break
            name, args = rng.choice(ours)
            state = sim.apply(name, args, state)
            ref_state = ops[(name, args)].apply(ref_state)
