"""The README's quick start, run exactly as written (its models are the scripted stand-in)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage

from learnact_langgraph.testing import ScriptedRoles

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_code() -> str:
    text = README.read_text()
    section = text[text.index("## Quick start") :]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]


def test_quickstart_runs_verbatim_learns_and_the_agent_uses_the_learned_tool(
    capsys: Any, monkeypatch: Any
) -> None:
    made: list[ScriptedRoles] = []
    original = ScriptedRoles.model_post_init

    def remember(self: ScriptedRoles, context: Any) -> None:
        original(self, context)
        made.append(self)

    monkeypatch.setattr(ScriptedRoles, "model_post_init", remember)
    code = quickstart_code()
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})  # the README, not learned code
    out = capsys.readouterr().out
    assert "published ['carry_ball']" in out
    assert "solved: True" in out
    # The tool-calling agent reached the goal through the learned tool, not base moves only.
    called = [
        c["name"]
        for model in made
        for call in model.calls
        for m in call
        if isinstance(m, AIMessage)
        for c in m.tool_calls
    ]
    assert "carry_ball" in called


def test_the_middleware_section_runs_verbatim_and_prints_what_it_says(capsys: Any) -> None:
    text = README.read_text()
    section = text[text.index("## Learning inside an agent you already have") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})  # the README itself
    out = capsys.readouterr().out
    assert "first run solved: False | learned: ['carry_ball']" in out
    assert "second run solved: True" in out
