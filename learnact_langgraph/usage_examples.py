"""Usage examples: one real step of a learned action, shown to the acting agent.

The reference asked the learner to invent a usage trajectory, never executed, so its
observations could be wrong. Here every example is a step that really ran: from the dry
run before a candidate is evaluated, then from its evaluation episodes. Each is whole
steps; an observation is never cut (a cut state reads as a different state).
"""

from __future__ import annotations

from collections.abc import Sequence

from learnact_langgraph.episode import Trajectory


def format_example(before: str, call: str, after: str) -> str:
    """One usage example as a whole step."""
    return f"Observation: {before}\nAction: {call}\nObservation: {after}"


def _action_line(example: str) -> str:
    return next((ln for ln in example.splitlines() if ln.startswith("Action: ")), "")


def shows_any(example: str, names: set[str]) -> bool:
    """Whether a usage example calls one of ``names`` (it is stale once they change)."""
    action = _action_line(example)
    return any(f"{n}(" in action for n in names)


def usage_examples_from(trajectories: Sequence[Trajectory]) -> list[str]:
    """Real, successful learned-action calls from evaluation (never invented by the model).

    One per action, as a whole step.
    """
    seen: set[str] = set()
    out = []
    for traj in trajectories:
        for step in traj.steps:
            name = step.learned_call
            if name and step.valid and name not in seen:
                seen.add(name)
                out.append(format_example(step.state_before, step.action, step.observation))
    return out


def merge_examples(first: Sequence[str], then: Sequence[str]) -> list[str]:
    """``first``, then those of ``then`` whose action none of ``first`` shows already."""
    out = list(first)
    for example in then:
        name = _action_line(example).removeprefix("Action: ").split("(")[0]
        if not any(shows_any(e, {name}) for e in out):
            out.append(example)
    return out
