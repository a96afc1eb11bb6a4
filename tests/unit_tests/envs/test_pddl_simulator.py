"""The STRIPS core: text repairs, parsing errors and the join-based valid-action listing."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from learnact_langgraph.envs.pddl import DOMAINS, Simulator, load_env, parse_domain
from learnact_langgraph.envs.pddl.parsing import (
    State,
    parse_problem,
    repair_domain_text,
    repair_problem_text,
)
from learnact_langgraph.errors import PDDLError
from tests.conftest import domain_sources


def _naive_valid(sim: Simulator, state: State) -> list[tuple[str, tuple[str, ...]]]:
    """Try every typed combination of objects: slow but obviously right."""
    out = []
    for op in sim.domain.operators.values():
        pools = [sim.of_type[t] for t in op.types]
        for args in itertools.product(*pools):
            if sim.check(op.name, args, state) is None:
                out.append((op.name, args))
    return out


def _walk_and_compare(sim: Simulator, rng: random.Random, steps: int = 15) -> None:
    state = sim.initial_state
    for _ in range(steps):
        valid = sim.valid_actions(state)
        assert valid == _naive_valid(sim, state)
        state = sim.apply(*rng.choice(valid), state)


@pytest.mark.parametrize(("domain", "pddl_data"), domain_sources(DOMAINS), indirect=["pddl_data"])
def test_join_listing_equals_naive_enumeration(domain: str, pddl_data: Path) -> None:
    env = load_env(domain, data_dir=pddl_data)
    rng = random.Random(1)
    for index in (0, 1, 2, len(env.tasks()) // 2):
        _walk_and_compare(env.simulator(index), rng)


@pytest.mark.parametrize("domain", ["gripper", "blockworld"])
def test_join_listing_on_generated_tasks(domain: str) -> None:
    env = load_env(domain, tasks="generated", n=6, size=5, seed=11)
    rng = random.Random(2)
    for task in env.tasks():
        _walk_and_compare(env.simulator(task.index), rng, steps=10)


TYPED_DOMAIN = """(define (domain typed-rooms) (:requirements :strips :typing)
  (:types room thing - object ball - thing)
  (:predicates (at ?t - thing ?r - room) (robot-in ?r - room))
  (:action push :parameters (?b - ball ?from ?to - room)
    :precondition (and (at ?b ?from) (robot-in ?from))
    :effect (and (at ?b ?to) (robot-in ?to) (not (at ?b ?from)) (not (robot-in ?from)))))"""
TYPED_PROBLEM = """(define (problem typed-one) (:domain typed-rooms)
  (:objects hall attic - room box - thing ball1 - ball)
  (:init (robot-in hall) (at ball1 hall) (at box hall))
  (:goal (and (at ball1 attic))))"""


def test_typed_parameters_take_subtypes_and_refuse_other_types() -> None:
    domain = parse_domain(TYPED_DOMAIN, "typed.pddl")
    sim = Simulator(domain, parse_problem(TYPED_PROBLEM, domain, "typed-one.pddl"))
    state = sim.initial_state
    assert sim.objects == {"hall": "room", "attic": "room", "box": "thing", "ball1": "ball"}
    assert sim.check("push", ("box", "hall", "attic"), state) == "type"  # a thing, not a ball
    assert sim.check("push", ("ball1", "hall", "box"), state) == "type"
    assert sim.valid_actions(state) == [("push", ("ball1", "hall", "attic"))]
    assert sim.is_goal(sim.apply("push", ("ball1", "hall", "attic"), state))


def test_raw_tyreworld_needs_the_repairs(data_dir: Path) -> None:
    from pddl.parser.domain import DomainParser

    raw = (data_dir / "agentboard_pddl" / "tyreworld.pddl").read_text()
    with pytest.raises(Exception):  # noqa: B017 - any parser error proves the point
        DomainParser()(raw)  # a parser of its own: a failed parse spoils the shared one
    fixed = repair_domain_text(raw)
    assert "(:requirements :strips :typing)" in fixed
    assert fixed.index("(:constants") < fixed.index("(:predicates")
    assert "(in ?x - obj ?y - container)" in fixed
    domain = parse_domain(raw, "tyreworld.pddl")
    assert domain.constants == {"wrench": "tool", "jack": "tool", "pump": "tool"}
    assert parse_domain(raw, "tyreworld.pddl") is domain  # cached


def test_a_malformed_domain_does_not_spoil_later_parses() -> None:
    broken = TYPED_DOMAIN.replace("(robot-in ?from)))))", "(robot-in ?from))) oops))")
    with pytest.raises(PDDLError, match="oops"):
        parse_domain(broken, "broken.pddl")
    assert parse_domain(TYPED_DOMAIN + "\n", "typed.pddl").operators["push"].types == (
        "ball",
        "room",
        "room",
    )


def test_problem_repair_drops_redeclared_constants() -> None:
    text = "(define (problem p) (:domain d) (:objects wrench jack - tool b1 - hub r1) (:init))"
    fixed = repair_problem_text(text, ["wrench", "jack", "pump"])
    assert "(:objects b1 - hub r1)" in fixed and "wrench" not in fixed


def test_unsupported_formulas_are_refused() -> None:
    text = """(define (domain d) (:requirements :strips :disjunctive-preconditions)
      (:predicates (p ?x) (q ?x))
      (:action a :parameters (?x) :precondition (or (p ?x) (q ?x)) :effect (q ?x)))"""
    with pytest.raises(PDDLError, match="only conjunctions"):
        parse_domain(text, "or.pddl")


def test_invalid_action_leaves_state_unchanged(pddl_data: Path) -> None:
    sim = load_env("blockworld", data_dir=pddl_data).simulator(0)
    state = sim.initial_state
    assert sim.check("pickup", ("b1",), state) == "precondition"  # b1 is covered
    assert sim.check("stack", ("b1", "b1"), state) == "distinct"
    assert sim.check("stack", ("b1",), state) == "arity"
    assert sim.check("unstack", ("b2", "b3"), state) is None
    after = sim.apply("unstack", ("b2", "b3"), state)
    assert ("holding", "b2") in after and ("arm-empty",) not in after
    assert ("arm-empty",) in state  # states are immutable values
