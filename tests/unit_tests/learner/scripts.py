"""Scripted learner and agent models for the learning-loop tests.

Each responder is a function of the prompt it receives (not a list of canned replies),
so the tests check that the loop sends the right material to the right role.
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.messages import BaseMessage

from learnact_langgraph.envs.pddl.scripted import gripper_policy

BUGGY = '''Here is my answer.
```python
def carry_ball(ball, from_room, to_room, gripper):
    """Carry ball from from_room to to_room in gripper."""
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    return drop(ball, from_room, gripper)

carry_ball('ball1', 'rooma', 'roomb', 'left')
```'''

FIXED_UPDATE = '''Failed reason: the ball is dropped in the room Robby has just left.
Improve: Update: carry_ball
Content:
```python
def carry_ball(ball, from_room, to_room, gripper):
    """Carry ball from from_room to to_room in gripper; Robby must start in from_room."""
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    return drop(ball, to_room, gripper)
```'''

PLAN_NOTE = "Only call carry_ball when Robby is already in from_room and the gripper is free."
PLAN = f"""Failed reason: Robby was elsewhere.
Improve: Plan: carry_ball
Content: {PLAN_NOTE}
"""

CREATE_MARK = "write new, higher-level actions"
REVISE_MARK = "Improve the actions in one of two ways"
REPAIR_MARK = "Your code could not be used"


def text_of(messages: list[BaseMessage]) -> str:
    return "\n".join(str(m.content) for m in messages)


def learner(
    revision: str = FIXED_UPDATE, creation: str = BUGGY
) -> Callable[[list[BaseMessage]], str]:
    """A learner that writes ``creation`` first and answers revisions with ``revision``."""

    def respond(messages: list[BaseMessage]) -> str:
        prompt = text_of(messages)
        if REVISE_MARK in prompt:
            return revision
        if CREATE_MARK in prompt:
            return creation
        return "A higher-level action."

    return respond


def agent(messages: list[BaseMessage]) -> str:
    """The acting agent: plays gripper from the goal and latest state in its prompt."""
    return "Action: " + gripper_policy(str(messages[-1].content))
