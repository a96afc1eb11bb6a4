"""A scripted stand-in for every model role of a bench: no network, no API key.

``learnact bench --model scripted`` and the test suite use it to run the whole
pipeline (every method, every Robotic Planning domain) offline. It is not smart:
it plays gripper well (via :func:`gripper_policy`), answers the learner with the
example function its prompt already shows, and in the other domains calls listed
actions on objects named in the latest observation, so it mostly fails there. Results
made with it measure the pipeline, never a method.
"""

from __future__ import annotations

import hashlib
import re
from typing import TypeVar

from langchain_core.messages import BaseMessage

from learnact_langgraph.envs.pddl.scripted import gripper_policy
from learnact_langgraph.testing import ScriptedChatModel, scripted

SCRIPTED_SPEC = "scripted"
T = TypeVar("T")

_ACTION = re.compile(r"^\s+([A-Za-z_]\w*)\(([^)]*)\):", re.MULTILINE)
_OBJECT = re.compile(r"\b([A-Z]?[a-z]+\d+)\b")
_GOAL_BALL = re.compile(r"(ball\w*) is in (\w+)", re.IGNORECASE)


def _text(messages: list[BaseMessage]) -> str:
    return "\n".join(str(m.content) for m in messages)


def _pick(options: list[T], salt: str) -> T:
    digest = int(hashlib.sha256(salt.encode()).hexdigest(), 16)
    return options[digest % len(options)]


def generic_action(prompt: str) -> str:
    """A plausible call: a listed action on objects from the latest observation."""
    actions = [
        (n, [a for a in args.split(",") if a.strip()]) for n, args in _ACTION.findall(prompt)
    ]
    observations = re.findall(r"(?:Observation|The current state): (.*)", prompt)
    latest = observations[-1] if observations else ""
    objects = list(dict.fromkeys(o.lower() for o in _OBJECT.findall(latest)))
    if not actions or not objects:
        return "look()"
    salt = f"{len(observations)}|{prompt[-400:]}"
    name, params = _pick(actions, salt + "a")
    args = [_pick(objects, f"{salt}{i}") for i in range(len(params))]
    return f"{name}({', '.join(repr(a) for a in args)})"


def _gripper_program(prompt: str) -> str:
    goal = prompt.rsplit("Your goal:", 1)[-1].split("\n", 1)[0]
    state = prompt.split("The current state:", 1)[-1].split("\n", 1)[0]
    robby = re.search(r"Robby is in (\w+)", state, re.IGNORECASE)
    room = robby.group(1).lower() if robby else "rooma"
    start = {b.lower(): r for b, r in _GOAL_BALL.findall(state)}
    lines = []
    for ball, target in _GOAL_BALL.findall(goal):
        src = start.get(ball.lower(), room)
        if src == target:
            continue
        if room != src:
            lines.append(f"move('{room}', '{src}')")
        lines += [f"pick('{ball}', '{src}', 'left')", f"move('{src}', '{target}')"]
        lines.append(f"drop('{ball}', '{target}', 'left')")
        room = target
    return "\n".join(lines) or "move('rooma', 'roomb')"


def respond(messages: list[BaseMessage]) -> str:
    """The reply of every role, chosen from what the prompt asks for."""
    prompt = _text(messages)
    gripper = "Robby" in prompt
    if "write new, higher-level actions" in prompt:
        example = re.search(r"example of a good answer:\n(```python.*?```)", prompt, re.DOTALL)
        return example.group(1) if example else "```python\n```"
    if "Improve the actions in one of two ways" in prompt:
        target = re.search(r"The action `(\w+)` was called", prompt)
        return (
            "Failed reason: the action was called in the wrong situation.\n"
            f"Improve: Plan: {target.group(1) if target else 'action'}\n"
            "Content: Check the current state before calling this action."
        )
    if "say what `" in prompt and "Answer with the description only" in prompt:
        return "Runs the base actions of the example in order."
    if "write a plan for your next attempt" in prompt:
        return "Take one object at a time to where the goal wants it, checking each step."
    if "Write one Python program" in prompt:
        body = _gripper_program(prompt) if gripper else generic_action(prompt)
        return f"```python\n{body}\n```"
    if gripper:
        return "Action: " + gripper_policy(str(messages[-1].content))
    return "Action: " + generic_action(str(messages[-1].content))


def scripted_model(name: str = "scripted-player") -> ScriptedChatModel:
    """A fresh scripted model for every role of a bench."""
    return scripted(respond, name=name)
