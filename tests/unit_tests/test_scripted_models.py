"""``model="scripted"``: the offline stand-in reached by name, and how it plays each role."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from learnact_langgraph import resolve_model
from learnact_langgraph.testing import ScriptedRoles, scripted_model
from learnact_langgraph.testing.roles import GRIPPER_DRAFT, repair_room, revise

FEEDBACK = """Robby carries balls.

You wrote the higher-level actions below to help reach goals like this one: ball1 is in rooma.
```python
def carry_ball(ball, from_room, to_room, gripper):
    \"\"\"Carry ball from from_room to to_room in gripper.\"\"\"
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    return drop(ball, from_room, gripper)
```
The action `carry_ball` was called after this observation:
Ball1 is in roomb. Robby is in roomb. Rooma is a room. Roomb is a room.
Action: carry_ball('ball1', 'roomb', 'rooma', 'left')
It failed (invalid_action): base action drop('ball1', 'roomb', 'left') was not valid.
What happened inside the call, step by step:
Action: pick('ball1', 'roomb', 'left')
Observation: Gripper left is holding ball1. Robby is in roomb. Rooma is a room. Roomb is a room.
Action: move('roomb', 'rooma')
Observation: Gripper left is holding ball1. Robby is in rooma. Rooma is a room. Roomb is a room.
Action: drop('ball1', 'roomb', 'left')
Observation: The action is not valid and therefore takes no effect.

Improve the actions in one of two ways:
"""


def test_scripted_is_a_model_name() -> None:
    model = resolve_model("scripted")
    assert isinstance(model, ScriptedRoles)
    assert resolve_model("scripted") is not model  # a fresh one each time


def test_the_revision_comes_from_the_feedback() -> None:
    reason, code = repair_room(FEEDBACK) or ("", "")
    assert "return drop(ball, to_room, gripper)" in code
    assert "pick(ball, from_room, gripper)" in code  # the rest is untouched
    assert "Robby is in to_room" in reason
    assert "Improve: Update: carry_ball" in revise(FEEDBACK)
    # The same prompt with a failure the rule cannot read gets a Plan note instead.
    other = FEEDBACK.replace("Observation: The action is not valid", "Observation: Fine")
    assert repair_room(other) is None
    assert "Improve: Plan: carry_ball" in revise(other)


def test_the_learner_role_writes_the_gripper_draft() -> None:
    prompt = (
        "Robby is in rooma.\nYour job now is to write new, higher-level actions for this world"
        "\n- ... arguments that fit this state of a task: Ball1 is in rooma. Robby is in rooma."
        " Rooma is a room. Roomb is a room.\n"
    )
    reply = str(scripted_model().invoke([HumanMessage(prompt)]).content)
    # The draft, then its example call on the state the prompt gives (for the dry run).
    assert reply.startswith(GRIPPER_DRAFT.removesuffix("```"))
    assert reply.endswith("\ncarry_ball('ball1', 'rooma', 'roomb', 'left')\n```")


def test_the_tool_role_calls_bound_tools_by_their_parameter_names() -> None:
    @tool
    def carry_ball(ball: str, from_room: str, to_room: str, gripper: str) -> str:
        """Carry a ball."""
        return ""

    @tool
    def move(room1: str, room2: str) -> str:
        """Move Robby."""
        return ""

    model = scripted_model().bind_tools([carry_ball, move])
    goal = (
        "The goal is to satisfy the following conditions: ball1 is in roomb.\n"
        "Ball1 is in rooma. Robby is in roomb. Gripper left is free."
    )
    first = model.invoke([HumanMessage(goal)])
    assert isinstance(first, AIMessage)
    assert first.tool_calls[0]["name"] == "move"
    assert first.tool_calls[0]["args"] == {"room1": "roomb", "room2": "rooma"}
    after = "Ball1 is in rooma. Robby is in rooma. Gripper left is free."
    second = model.invoke([HumanMessage(goal), first, ToolMessage(after, tool_call_id="x")])
    assert second.tool_calls[0]["name"] == "carry_ball"  # type: ignore[union-attr]
    assert second.tool_calls[0]["args"] == {  # type: ignore[union-attr]
        "ball": "ball1",
        "from_room": "rooma",
        "to_room": "roomb",
        "gripper": "left",
    }
    done = model.invoke(
        [HumanMessage(goal), ToolMessage("The goal is satisfied.", tool_call_id="y")]
    )
    assert not done.tool_calls  # type: ignore[union-attr]


def test_binding_tools_leaves_the_model_itself_untouched() -> None:
    """One stand-in plays every role: a tool-calling agent binding its tools must not
    turn the learner's text replies into tool calls (it used to bind in place)."""

    @tool
    def move(room1: str, room2: str) -> str:
        """Move Robby."""
        return ""

    model = scripted_model()
    bound = model.bind_tools([move])
    assert bound is not model and model.bound_tools == [] and model.bindings == [[move]]
    goal = (
        "The goal is to satisfy the following conditions: ball1 is in roomb.\n"
        "Ball1 is in rooma. Robby is in roomb. Gripper left is free."
    )
    assert bound.invoke([HumanMessage(goal)]).tool_calls  # the bound copy calls tools
    assert not model.invoke([HumanMessage(goal)]).tool_calls  # the model still writes text
    assert len(model.calls) == 2  # both calls recorded on the model


def test_what_a_call_serializes_does_not_grow_with_the_calls_before_it() -> None:
    """langchain-core serializes a chat model on each call it makes with a new copy (a
    tool-calling agent binds its tools before every call), through ``repr`` for a
    model that is not serializable. The repr held every prompt and every binding so
    far, so each step of an agent cost more than the last (223-1,676 ms a step in a
    short run of ``bench_middleware.py``, against about 2 ms)."""
    from langchain_core.load import dumpd

    @tool
    def move(room1: str, room2: str) -> str:
        """Move Robby."""
        return ""

    model = scripted_model()
    first = len(str(dumpd(model.bind_tools([move]))))
    for i in range(20):
        model.bind_tools([move]).invoke([HumanMessage(f"Step {i}: ball1 is in rooma.")])
    assert len(model.calls) == 20 and len(model.bindings) == 21
    assert len(str(dumpd(model.bind_tools([move])))) == first
    assert "Step 0" not in repr(model) and "bindings" not in repr(model)
