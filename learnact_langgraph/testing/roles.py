"""``model="scripted"``: one offline stand-in for every model role, with no network or key.

It reads the prompt it is sent, works out which role it is asked to play, and answers by
rule. It is not smart, and results made with it measure the pipeline, never a method:

* **learner, creating:** on gripper it writes a first draft of ``carry_ball`` with a
  slip a model might make (it drops the ball in the room it came from); elsewhere it
  copies the example function its prompt shows;
* **learner, revising:** it reads the failed sub-step in the error feedback and, when
  a base call used a room Robby is no longer in, rewrites that argument to the parameter
  that holds Robby's room (an Update); otherwise it writes a usage note (a Plan);
* **acting agent** (text or tool calls): plays gripper well through
  :func:`~learnact_langgraph.envs.pddl.scripted.gripper_policy`, using ``carry_ball``
  when it is offered, and AlfWorld (text) through
  :func:`~learnact_langgraph.envs.alfworld.scripted.alfworld_policy`, searching with
  ``find_and_take`` when it is offered; in other domains it calls listed actions on
  objects named in the latest observation, so it mostly fails there;
* **Reflexion and Code-as-Policy:** a fixed plan sentence; a straight-line program.

So a learning run with it is real: the draft fails on training tasks in the sandbox,
the loop finds the failure, the revision comes from the feedback and scores better.
"""

from __future__ import annotations

import ast
import hashlib
import re
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

from learnact_langgraph import pyast
from learnact_langgraph.envs.alfworld.scripted import alfworld_policy
from learnact_langgraph.envs.pddl.scripted import gripper_policy
from learnact_langgraph.testing.chat import ScriptedChatModel

SCRIPTED_SPEC = "scripted"
T = TypeVar("T")

#: What each learner prompt says, so the stand-in knows which role it plays.
CREATE_MARK = "write new, higher-level actions"
REVISE_MARK = "Improve the actions in one of two ways"
DESCRIBE_MARK = "Answer with the description only"
REFLECT_MARK = "write a plan for your next attempt"
PROGRAM_MARK = "Write one Python program"

#: The gripper first draft: right idea, one argument wrong (the room of the drop).
GRIPPER_DRAFT = '''```python
def carry_ball(ball, from_room, to_room, gripper):
    """Carry ball from from_room to to_room in gripper."""
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    return drop(ball, from_room, gripper)
```'''

#: A correct ``carry_ball``, for tests and benchmarks that need a learned action without
#: running the loop first (the loop itself reaches the same code from the draft).
CARRY_BALL = '''def carry_ball(ball, from_room, to_room, gripper):
    """Carry ball from from_room to to_room in gripper; Robby must start in from_room."""
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    return drop(ball, to_room, gripper)'''

_ACTION = re.compile(r"^\s+([A-Za-z_]\w*)\(([^)]*)\):", re.MULTILINE)
_OBJECT = re.compile(r"\b([A-Z]?[a-z]+\d+)\b")
_GOAL_BALL = re.compile(r"(ball\w*) is in (\w+)", re.IGNORECASE)
_CODE = re.compile(r"```python\n(.*?)```", re.DOTALL)
_ROBBY = re.compile(r"Robby is in (\w+)", re.IGNORECASE)
_INVALID = "The action is not valid"


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
    robby = _ROBBY.search(state)
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


def repair_room(prompt: str) -> tuple[str, str] | None:
    """(reason, fixed code) when the feedback shows a base call in a room Robby left.

    Reads the revision prompt only: the code, the learned call and its sub-steps.
    """
    code_m = _CODE.search(prompt.split(REVISE_MARK, 1)[0].split("You wrote", 1)[-1])
    called = re.search(r"was called after this observation:\n.*\nAction: (.+)\n", prompt)
    inside = prompt.split("step by step:\n", 1)[-1].split(f"\n\n{REVISE_MARK}", 1)[0]
    if not code_m or not called:
        return None
    learned = pyast.literal_call(called.group(1))
    pairs = re.findall(r"Action: (.+)\nObservation: (.*)", inside)
    failed = next((i for i, (_, obs) in enumerate(pairs) if obs.startswith(_INVALID)), None)
    if learned is None or failed is None or failed == 0:
        return None
    base = pyast.literal_call(pairs[failed][0])
    robby = _ROBBY.search(pairs[failed - 1][1])
    source = code_m.group(1)
    tree = pyast.parse(source)
    func = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
    if base is None or robby is None or func is None or func.name != learned[0]:
        return None
    params = [a.arg for a in func.args.args]
    holder = {value: p for p, value in zip(params, learned[1], strict=False)}
    here = robby.group(1).lower()
    if here not in holder:
        return None
    rooms = set(re.findall(r"(\w+) is a room", pairs[failed - 1][1], re.IGNORECASE))
    rooms = {r.lower() for r in rooms}
    for node in ast.walk(func):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == base[0]):
            continue
        for arg, value in zip(node.args, base[1], strict=False):
            if isinstance(arg, ast.Name) and value in rooms and value != here:
                lines = source.splitlines()
                row = lines[arg.lineno - 1]
                col, end = arg.col_offset, arg.end_col_offset
                lines[arg.lineno - 1] = f"{row[:col]}{holder[here]}{row[end:]}"
                reason = (
                    f"{base[0]} used {arg.id}, but by then Robby is in {holder[here]}, "
                    f"so {base[0]} must use {holder[here]}."
                )
                return reason, "\n".join(lines) + "\n"
    return None


def _draft_call(prompt: str) -> str:
    """An example call of the draft on the state the creation prompt gives for tests."""
    state = prompt.split("fit this state of a task:", 1)[-1].split("\n", 1)[0]
    robby = _ROBBY.search(state)
    here = robby.group(1).lower() if robby else "rooma"
    rooms = [r.lower() for r in re.findall(r"(\w+) is a room", state, re.IGNORECASE)]
    there = next((r for r in rooms if r != here), "roomb")
    balls = [b.lower() for b, r in re.findall(r"(\w+) is in (\w+)", state) if r.lower() == here]
    ball = next((b for b in balls if b != "robby"), "ball1")
    return f"carry_ball('{ball}', '{here}', '{there}', 'left')"


def revise(prompt: str) -> str:
    """An Update when the feedback shows what to fix, else a Plan note."""
    target = re.search(r"The action `(\w+)` was called", prompt)
    name = target.group(1) if target else "action"
    fixed = repair_room(prompt) if "Robby" in prompt else None
    if fixed:
        reason, code = fixed
        called = re.search(r"was called after this observation:\n.*\nAction: (.+)\n", prompt)
        test = f"\n{called.group(1)}\n" if called else ""
        return (
            f"Failed reason: {reason}\nImprove: Update: {name}\nContent:\n"
            f"```python\n{code}{test}```"
        )
    return (
        "Failed reason: the action was called in the wrong situation.\n"
        f"Improve: Plan: {name}\n"
        "Content: Check the current state before calling this action."
    )


def respond(messages: list[BaseMessage]) -> str:
    """The reply of every text role, chosen from what the prompt asks for."""
    prompt = _text(messages)
    gripper = "Robby" in prompt
    if CREATE_MARK in prompt:
        if gripper:
            return GRIPPER_DRAFT.replace("\n```", f"\n\n{_draft_call(prompt)}\n```")
        example = re.search(r"example of a good answer:\n(```python.*?```)", prompt, re.DOTALL)
        return example.group(1) if example else "```python\n```"
    if REVISE_MARK in prompt:
        return revise(prompt)
    if "say what `" in prompt and DESCRIBE_MARK in prompt:
        return "Runs the base actions of the example in order."
    if REFLECT_MARK in prompt:
        return "Take one object at a time to where the goal wants it, checking each step."
    if PROGRAM_MARK in prompt:
        body = _gripper_program(prompt) if gripper else generic_action(prompt)
        return f"```python\n{body}\n```"
    if gripper:
        return "Action: " + gripper_policy(str(messages[-1].content))
    household = alfworld_policy(str(messages[-1].content))
    if household is not None:
        return "Action: " + household
    return "Action: " + generic_action(str(messages[-1].content))


def _parameters(tool: Any) -> list[str]:
    schema = convert_to_openai_tool(tool)["function"].get("parameters", {})
    return list(schema.get("properties", {}))


def tool_call(messages: list[BaseMessage], tools: list[Any]) -> AIMessage:
    """The acting agent as a tool caller: the next gripper move as one tool call."""
    goal = next((str(m.content) for m in messages if isinstance(m, HumanMessage)), "")
    results = [str(m.content) for m in messages if isinstance(m, ToolMessage)]
    latest = results[-1] if results else goal
    if "goal is satisfied" in latest:
        return AIMessage(content="The goal is satisfied.")
    by_name = {convert_to_openai_tool(t)["function"]["name"]: t for t in tools}
    offered = "carry_ball(" if "carry_ball" in by_name else ""
    line = gripper_policy(f"Your goal: {goal}\nObservation: {latest}\n{offered}")
    call = pyast.literal_call(line)
    if "Robby" not in goal or call is None or call[0] not in by_name:
        return AIMessage(content="I have no move to make with these tools.")
    name, values = call
    args = dict(zip(_parameters(by_name[name]), values, strict=False))
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": args, "id": f"call{len(messages)}"}]
    )


class ScriptedRoles(ScriptedChatModel):
    """The stand-in for every role: text roles by prompt, tool calls once tools are bound."""

    def reply(self, messages: list[BaseMessage]) -> str | AIMessage:
        prompt = _text(messages)
        learner = any(m in prompt for m in (CREATE_MARK, REVISE_MARK, REFLECT_MARK, PROGRAM_MARK))
        if self.bound_tools and not learner and "Action:" not in prompt:
            return tool_call(messages, self.bound_tools)
        return respond(messages)


def scripted_model(name: str = SCRIPTED_SPEC, latency: float = 0.0) -> ScriptedRoles:
    """A fresh stand-in for every role; what ``model="scripted"`` resolves to
    (``"scripted:200ms"`` sleeps 200 ms per call and answers the same)."""
    return ScriptedRoles(respond=respond, model_name=name, latency=latency)
