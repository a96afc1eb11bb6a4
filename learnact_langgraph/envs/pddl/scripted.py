"""Scripted gripper players for demos and tests: they read the prompt, not a fixed list.

``gripper_policy(prompt)`` returns the next action line for a gripper task from the goal
and the latest state in the prompt, using ``carry_ball`` when the prompt lists it.
It stands in for an LLM in the offline demo and in tests, so it only relies on the
text an agent would see.
"""

from __future__ import annotations

import re

_STATE = re.compile(r"Observation: (.*Robby is in \w+.*)", re.IGNORECASE)


def _latest_state(prompt: str) -> str:
    states = _STATE.findall(prompt)
    if states:
        return str(states[-1])
    found = re.findall(r"[^\n]*Robby is in \w+[^\n]*", prompt)
    return str(found[-1]) if found else ""


def gripper_policy(prompt: str, *, learned: str = "carry_ball") -> str:
    """Next action line for a gripper prompt (ball by ball, left gripper)."""
    goals = re.findall(r"Your goal: .*?conditions:(.*)", prompt)
    if not goals:
        return "move('rooma', 'roomb')"
    targets = dict(re.findall(r"(\w+) is in (\w+)", goals[-1]))
    state = _latest_state(prompt)
    robby_m = re.search(r"Robby is in (\w+)", state, re.IGNORECASE)
    robby = robby_m.group(1) if robby_m else "rooma"
    at = {b.lower(): r for b, r in re.findall(r"(ball\w*) is in (\w+)", state, re.IGNORECASE)}
    held = re.search(r"Gripper left is holding (\w+)", state, re.IGNORECASE)
    if held:
        ball = held.group(1).lower()
        goal_room = targets.get(ball, robby)
        if robby != goal_room:
            return f"move('{robby}', '{goal_room}')"
        return f"drop('{ball}', '{robby}', 'left')"
    use_learned = f"{learned}(" in prompt
    for ball, room in targets.items():
        src = at.get(ball)
        if src is None or src == room:
            continue
        if robby != src:
            return f"move('{robby}', '{src}')"
        if use_learned:
            return f"{learned}('{ball}', '{src}', '{room}', 'left')"
        return f"pick('{ball}', '{src}', 'left')"
    return "move('rooma', 'roomb')"
