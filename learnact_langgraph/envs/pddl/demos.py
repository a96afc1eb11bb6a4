"""One worked example per domain for the agent's prompt, played for real.

The paper shows the agent one hand-written trajectory per domain. Ours are small
problems of our own (none is a benchmark task, so no test answer leaks into a prompt)
with a hand-written plan; the observations are produced by playing the plan on the
simulator, so the example never shows a state the world would not produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from learnact_langgraph import pyast
from learnact_langgraph.envs.base import GOAL_SATISFIED
from learnact_langgraph.envs.pddl.parsing import parse_problem
from learnact_langgraph.envs.pddl.simulator import Simulator
from learnact_langgraph.errors import PDDLError

if TYPE_CHECKING:
    from learnact_langgraph.envs.pddl.env import PDDLEnvironment


@dataclass(frozen=True)
class Demo:
    problem: str
    plan: tuple[str, ...]


DEMOS: dict[str, Demo] = {
    "gripper": Demo(
        """(define (problem demo-gripper) (:domain gripper)
  (:objects hall kitchen cup plate left right)
  (:init (room hall) (room kitchen) (ball cup) (ball plate) (gripper left) (gripper right)
         (at-robby hall) (at cup hall) (at plate hall) (free left) (free right))
  (:goal (and (at cup kitchen) (at plate kitchen))))""",
        (
            "pick('cup', 'hall', 'left')",
            "pick('plate', 'hall', 'right')",
            "move('hall', 'kitchen')",
            "drop('cup', 'kitchen', 'left')",
            "drop('plate', 'kitchen', 'right')",
        ),
    ),
    "blockworld": Demo(
        """(define (problem demo-blocks) (:domain blockworld)
  (:objects red blue)
  (:init (on red blue) (on-table blue) (clear red) (arm-empty))
  (:goal (and (on blue red))))""",
        ("Unstack('red', 'blue')", "Putdown('red')", "Pickup('blue')", "Stack('blue', 'red')"),
    ),
    "tyreworld": Demo(
        """(define (problem demo-tyre) (:domain tyreworld)
  (:objects hub7 - hub nut7 - nut boot - container flat7 spare7 - wheel)
  (:init (in jack boot) (in pump boot) (in wrench boot) (unlocked boot) (closed boot)
         (intact spare7) (in spare7 boot) (inflated spare7) (on flat7 hub7)
         (on-ground hub7) (tight nut7 hub7) (fastened hub7))
  (:goal (and (loose nut7 hub7) (have wrench))))""",
        ("open('boot')", "fetch('wrench', 'boot')", "loosen('nut7', 'hub7')"),
    ),
    "barman": Demo(
        """(define (problem demo-barman) (:domain barman)
  (:objects shaker9 - shaker left right - hand glass9 - shot gin tonic - ingredient
            fizz - cocktail tap1 tap2 - dispenser l0 l1 l2 - level)
  (:init (ontable shaker9) (ontable glass9) (dispenses tap1 gin) (dispenses tap2 tonic)
         (clean shaker9) (clean glass9) (empty shaker9) (empty glass9)
         (handempty left) (handempty right) (shaker-empty-level shaker9 l0)
         (shaker-level shaker9 l0) (next l0 l1) (next l1 l2)
         (cocktail-part1 fizz gin) (cocktail-part2 fizz tonic))
  (:goal (and (contains shaker9 gin))))""",
        (
            "grasp('left', 'glass9')",
            "fill_shot('glass9', 'gin', 'left', 'right', 'tap1')",
            "pour_shot_to_clean_shaker('glass9', 'gin', 'shaker9', 'left', 'l0', 'l1')",
        ),
    ),
}


def demo_trajectory(env: PDDLEnvironment) -> str:
    """The domain's example as ``Your goal`` / ``Observation`` / ``Action`` lines."""
    demo = DEMOS.get(env.name)
    if demo is None:
        return ""
    problem = parse_problem(demo.problem, env.domain, f"the {env.name} demo problem")
    sim = Simulator(env.domain, problem, env.distinct_args)
    state = sim.initial_state
    goal = ", ".join(sorted(env.spec.render(g) for g in problem.goal))
    lines = [
        f"Your goal: The goal is to satisfy the following conditions: {goal}.",
        f"Observation: {env.render_state(state)}",
    ]
    operators = {a.name: a.operator for a in env.spec.actions}
    for line in demo.plan:
        call = pyast.literal_call(line)
        if call is None:
            raise PDDLError(
                f"The {env.name} demo plan has a line that is not one call: fix {line!r} in DEMOS."
            )
        name, args = call[0], tuple(str(a) for a in call[1])
        problem_kind = sim.check(operators[name], args, state)
        if problem_kind is not None:
            raise PDDLError(f"The {env.name} demo plan is wrong at {line}: {problem_kind}.")
        state = sim.apply(operators[name], args, state)
        observation = env.render_state(state)
        if sim.is_goal(state):
            observation = f"{observation} {GOAL_SATISFIED}"
        lines += [f"Action: {line}", f"Observation: {observation}"]
    return "\n".join(lines)
