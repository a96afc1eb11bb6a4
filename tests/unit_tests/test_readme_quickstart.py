"""The README's quick start, run as written with scripted models in place of OpenAI."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from learnact_langgraph.envs.pddl.scripted import gripper_policy
from learnact_langgraph.testing import scripted

from .learner.scripts import agent, learner

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_code() -> str:
    text = README.read_text()
    section = text[text.index("## Quick start") :]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]


def tool_agent(messages: list[BaseMessage]) -> AIMessage:
    """Calls the learned tools from the goal and the latest observation it was sent."""
    goal = next(str(m.content) for m in messages if isinstance(m, HumanMessage))
    tool_results = [str(m.content) for m in messages if isinstance(m, ToolMessage)]
    latest = tool_results[-1] if tool_results else goal
    if "goal is satisfied" in latest:
        return AIMessage(content="All balls are where they belong.")
    line = gripper_policy(f"Your goal: {goal}\nObservation: {latest}\ncarry_ball(")
    name, _, rest = line.partition("(")
    values = ast.literal_eval(f"({rest[:-1]},)")
    params = {
        "carry_ball": ["ball", "from_room", "to_room", "gripper"],
        "move": ["room1", "room2"],
    }[name]
    call = {"name": name, "args": dict(zip(params, values, strict=True)), "id": f"c{len(messages)}"}
    return AIMessage(content="", tool_calls=[call])


def test_quickstart_learns_and_the_agent_uses_the_learned_tool(capsys: Any) -> None:
    code = quickstart_code()
    code = code.replace('learner_model="openai:gpt-4o"', "learner_model=LEARNER")
    code = code.replace('agent_model="openai:gpt-4o-mini"', "agent_model=AGENT")
    code = code.replace('create_agent("openai:gpt-4o-mini"', "create_agent(TOOL_AGENT")
    assert "openai:" not in code
    tool_model = scripted(tool_agent)
    namespace = {"LEARNER": scripted(learner()), "AGENT": scripted(agent), "TOOL_AGENT": tool_model}
    exec(compile(code, str(README), "exec"), namespace)  # the README's own code, not learned code
    out = capsys.readouterr().out
    assert "published ['carry_ball']" in out
    assert "solved: True" in out
    called = [
        c["name"] for m in tool_model.calls[-1] if isinstance(m, AIMessage) for c in m.tool_calls
    ]
    assert "carry_ball" in called
