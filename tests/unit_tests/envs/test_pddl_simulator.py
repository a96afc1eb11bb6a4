"""The STRIPS core: text repairs, parsing errors and the join-based valid-action listing."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from learnact_langgraph.envs.pddl import DOMAINS, Simulator, load_env, parse_domain
from learnact_langgraph.envs.pddl.parsing import (
    State,
    _parsers,
    repair_domain_text,
    repair_problem_text,
)
from learnact_langgraph.errors import PDDLError


def _naive_valid(sim: Simulator, state: State) -> list[tuple[str, tuple[str, ...]]]:
    """Try every typed combination of objects: slow but obviously right."""
    out = []
    for op in sim.domain.operators.values():
        pools = [sim.of_type[t] for t in op.types]
        for args in itertools.product(*pools):
            if sim.check(op.name, args, state) is None:
                out.append((op.name, args))
    return out


@pytest.mark.parametrize("domain", DOMAINS)
def test_join_listing_equals_naive_enumeration(domain: str, data_dir: Path) -> None:
    env = load_env(domain, data_dir=data_dir)
    rng = random.Random(1)
    for index in (0, len(env.tasks()) // 2):
        sim = env.simulator(index)
        state = sim.initial_state
        for _ in range(15):
            valid = sim.valid_actions(state)
            assert valid == _naive_valid(sim, state)
            state = sim.apply(*rng.choice(valid), state)


def test_raw_tyreworld_needs_the_repairs(data_dir: Path) -> None:
    raw = (data_dir / "agentboard_pddl" / "tyreworld.pddl").read_text()
    with pytest.raises(Exception):  # noqa: B017 - any parser error proves the point
        _parsers()[0](raw)
    fixed = repair_domain_text(raw)
    assert "(:requirements :strips :typing)" in fixed
    assert fixed.index("(:constants") < fixed.index("(:predicates")
    assert "(in ?x - obj ?y - container)" in fixed
    domain = parse_domain(raw, "tyreworld.pddl")
    assert domain.constants == {"wrench": "tool", "jack": "tool", "pump": "tool"}
    assert parse_domain(raw, "tyreworld.pddl") is domain  # cached


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


def test_invalid_action_leaves_state_unchanged(data_dir: Path) -> None:
    sim = load_env("blockworld", data_dir=data_dir).simulator(0)
    state = sim.initial_state
    assert sim.check("pickup", ("b1",), state) == "precondition"  # b1 is covered
    assert sim.check("stack", ("b1", "b1"), state) == "distinct"
    assert sim.check("stack", ("b1",), state) == "arity"
    assert sim.check("unstack", ("b2", "b3"), state) is None
    after = sim.apply("unstack", ("b2", "b3"), state)
    assert ("holding", "b2") in after and ("arm-empty",) not in after
    assert ("arm-empty",) in state  # states are immutable values
