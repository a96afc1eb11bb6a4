"""The ground, incremental valid-action listing against a from-scratch recomputation.

``Simulator.valid_actions`` keeps the applicable set of the last state and moves it along
(``applicable.py``); ``Simulator.search_valid_actions`` joins the preconditions against
the state from scratch, as the simulator always did. They must agree exactly (same actions,
same order) on every state: along random walks, after jumps back to earlier states (a
restored snapshot), to the initial state (a reset), and on states that no walk reaches.
"""

from __future__ import annotations

import copy
import pickle
import random
from pathlib import Path

import pytest

from learnact_langgraph.envs.base import format_call
from learnact_langgraph.envs.pddl import (
    DOMAINS,
    PDDLEnvironment,
    Simulator,
    load_env,
    parse_domain,
)
from learnact_langgraph.envs.pddl import applicable as applicable_module
from learnact_langgraph.envs.pddl.parsing import State, parse_problem
from learnact_langgraph.envs.pddl.parsing import ground as ground_atom
from tests.conftest import domain_sources


def _successor(sim: Simulator, name: str, args: tuple[str, ...], state: State) -> State:
    """The textbook successor, computed straight from the operator schema."""
    op = sim.domain.operators[name]
    dele = {ground_atom(p, t, args) for p, t in op.delete}
    add = {ground_atom(p, t, args) for p, t in op.add}
    return (state - dele) | add


def _agree(sim: Simulator, state: State, where: str) -> list[tuple[str, tuple[str, ...]]]:
    valid = sim.valid_actions(state)
    assert valid == sim.search_valid_actions(state), where
    return valid


def _walk(sim: Simulator, rng: random.Random, steps: int, where: str) -> None:
    """A random walk that now and then jumps to an earlier state, to the start, or acts
    from an earlier state without listing first; every listing is compared."""
    state = sim.initial_state
    seen = [state]
    for step in range(steps):
        here = f"{where} step {step}"
        valid = _agree(sim, state, here)
        for name, args in valid:
            assert sim.check(name, args, state) is None, here
        roll = rng.random()
        if roll < 0.1:
            state = rng.choice(seen)  # restore a snapshot
            continue
        if roll < 0.15:
            state = sim.initial_state  # reset
            continue
        if not valid:
            state = rng.choice(seen)
            continue
        name, args = rng.choice(valid)
        after = sim.apply(name, args, state)
        assert after == _successor(sim, name, args, state), here
        if roll < 0.25 and len(seen) > 1:  # act from an older state, then list
            old = rng.choice(seen)
            old_valid = sim.search_valid_actions(old)
            if old_valid:
                other = sim.apply(*old_valid[0], old)
                _agree(sim, other, f"{here} (from an older state)")
        state = after
        seen.append(state)


@pytest.mark.parametrize(("domain", "pddl_data"), domain_sources(DOMAINS), indirect=["pddl_data"])
def test_incremental_listing_equals_recomputation(domain: str, pddl_data: Path) -> None:
    env = load_env(domain, data_dir=pddl_data)
    rng = random.Random(7)
    for task in env.tasks():
        _walk(env.simulator(task.index), rng, 40, task.id)


@pytest.mark.parametrize("domain", ["gripper", "blockworld"])
@pytest.mark.parametrize("distinct_args", [True, False])
def test_incremental_listing_on_generated_tasks(domain: str, distinct_args: bool) -> None:
    env = load_env(domain, tasks="generated", n=6, size=5, seed=3, distinct_args=distinct_args)
    rng = random.Random(5)
    for task in env.tasks():
        _walk(env.simulator(task.index), rng, 40, task.id)


def test_big_jumps_recompute_from_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past a size of difference the set is rebuilt, not moved; both must agree."""
    monkeypatch.setattr(applicable_module, "_MAX_DIFF", 0)
    env = load_env("gripper", tasks="generated", n=3, size=4, seed=1)
    rng = random.Random(9)
    for task in env.tasks():
        _walk(env.simulator(task.index), rng, 30, task.id)


def test_env_snapshot_restore_and_reset_keep_listing_right() -> None:
    env = load_env("blockworld", tasks="generated", n=2, size=5, seed=4)
    py = {a.operator: a.name for a in env.spec.actions}
    rng = random.Random(3)
    first = env.reset(0)
    initial = env.valid_actions()
    snaps = [env.snapshot()]
    for _ in range(40):
        sim = env.simulator()
        assert env.valid_actions() == _expected_calls(env)
        roll = rng.random()
        if roll < 0.3:
            snap = rng.choice(snaps)
            if roll < 0.15:  # as if from another process: equal atoms, not the same objects
                snap = pickle.loads(pickle.dumps(snap))
            env.restore(snap)
            assert env.state == snap.state and env.observation == snap.bookkeeping[3]
            continue
        op, args = rng.choice(sim.valid_actions(env.state))
        result = env.call(py[op], *args)
        assert result.valid and result.observation.startswith(env.render_state())
        snaps.append(env.snapshot())
    assert env.reset(0) == first and env.valid_actions() == initial


ROADS_DOMAIN = """(define (domain roads) (:requirements :strips :typing :negative-preconditions)
  (:types place)
  (:predicates (road ?a ?b - place) (at ?p - place) (visited ?p - place) (blocked ?p - place))
  (:action drive :parameters (?a ?b - place)
    :precondition (and (at ?a) (road ?a ?b) (not (blocked ?b)))
    :effect (and (at ?b) (visited ?b) (not (at ?a))))
  (:action block :parameters (?p - place)
    :precondition (and (visited ?p) (not (at ?p)) (not (blocked ?p)))
    :effect (blocked ?p))
  (:action clear :parameters (?p - place)
    :precondition (blocked ?p)
    :effect (not (blocked ?p))))"""
ROADS_PROBLEM = """(define (problem roads-1) (:domain roads)
  (:objects p1 p2 p3 p4 - place)
  (:init (at p1) (road p1 p2) (road p2 p3) (road p3 p1) (road p2 p4) (road p4 p2))
  (:goal (and (visited p4))))"""


def _roads() -> Simulator:
    domain = parse_domain(ROADS_DOMAIN, "roads.pddl")
    return Simulator(domain, parse_problem(ROADS_PROBLEM, domain, "roads-1.pddl"))


def test_negative_preconditions_are_tracked() -> None:
    sim = _roads()
    assert sim.grounding.has_negative
    rng = random.Random(11)
    for run in range(5):
        _walk(sim, rng, 40, f"roads run {run}")


def test_states_with_other_static_facts_fall_back_to_the_join() -> None:
    """``road`` is static: the grounding only has the roads of the initial state."""
    sim = _roads()
    state = sim.initial_state | {("road", "p1", "p4")}
    assert sim.valid_ids(state) is None
    valid = sim.valid_actions(state)
    assert ("drive", ("p1", "p4")) in valid and valid == sim.search_valid_actions(state)
    assert sim.check("drive", ("p1", "p4"), state) is None
    after = sim.apply("drive", ("p1", "p4"), state)  # not a ground action: built on the spot
    assert after == _successor(sim, "drive", ("p1", "p4"), state)
    assert sim.valid_actions(after) == sim.search_valid_actions(after)
    assert sim.check("drive", ("p1", "p4"), sim.initial_state) == "precondition"
    gone = sim.initial_state - {("road", "p1", "p2")}
    assert sim.valid_actions(gone) == sim.search_valid_actions(gone) == []
    assert sim.check("drive", ("p1", "p2"), gone) == "precondition"
    # and back on ordinary states the tracked listing carries on
    assert sim.valid_actions(sim.initial_state) == [("drive", ("p1", "p2"))]


def test_arguments_may_come_as_a_list() -> None:
    sim = _roads()
    args: list[str] = ["p1", "p2"]
    assert sim.check("drive", args, sim.initial_state) is None  # type: ignore[arg-type]
    after = sim.apply("drive", args, sim.initial_state)  # type: ignore[arg-type]
    assert after == sim.apply("drive", ("p1", "p2"), sim.initial_state)
    assert sim.check("drive", ["p2", "p1"], after) == "precondition"  # type: ignore[arg-type]


def test_ground_actions_are_built_once_per_problem() -> None:
    env = load_env("gripper", tasks="generated", n=2, size=3, seed=0)
    env.reset(0)
    grounding = env.simulator().grounding
    env.call("move", "rooma", "roomb")
    env.reset(1)
    env.reset(0)
    assert env.simulator().grounding is grounding
    assert env.valid_actions()[0].startswith("move(")


def test_copies_share_the_grounding_but_track_their_own_states() -> None:
    env = load_env("gripper", tasks="generated", n=2, size=4, seed=2)
    env.reset(0)
    env.call("move", "rooma", "roomb")
    twin = copy.deepcopy(env)
    assert twin.simulator().grounding is env.simulator().grounding
    assert twin.simulator() is not env.simulator()
    assert twin.valid_actions() == env.valid_actions()
    twin.reset(0)
    py = {a.operator: a.name for a in env.spec.actions}
    for _ in range(6):  # interleaved, each on its own states
        for e in (env, twin):
            assert e.valid_actions() == _expected_calls(e)
            op, args = e.simulator().valid_actions(e.state)[-1]
            assert e.call(py[op], *args).valid


def _expected_calls(env: PDDLEnvironment) -> list[str]:
    """The valid calls, recomputed from scratch."""
    py = {a.operator: a.name for a in env.spec.actions}
    listing = env.simulator().search_valid_actions(env.state)
    return [format_call(py[op], args) for op, args in listing]
