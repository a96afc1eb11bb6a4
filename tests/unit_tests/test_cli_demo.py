"""``learnact demo``: offline without a model, a real learning run with one."""

from __future__ import annotations

from langchain_core.messages import BaseMessage
from typer.testing import CliRunner

from learnact_langgraph.cli import app
from learnact_langgraph.cli.demo import learning_demo
from learnact_langgraph.testing import scripted

from .learner.scripts import CREATE_MARK, REVISE_MARK, agent, learner, text_of


def test_demo_without_a_model_says_how_to_set_one_and_plays_offline() -> None:
    result = CliRunner().invoke(app, ["demo", "--size", "3"], env={"LEARNACT_MODEL": ""})
    assert result.exit_code == 0, result.output
    assert "LEARNACT_MODEL" in result.output
    assert "solved" in result.output and "not solved" not in result.output
    assert "carry_ball(" in result.output


def test_demo_with_a_model_learns_then_solves_a_held_out_task() -> None:
    learner_part = learner()

    def both_roles(messages: list[BaseMessage]) -> str:
        text = text_of(messages)
        return (
            learner_part(messages)
            if CREATE_MARK in text or REVISE_MARK in text
            else agent(messages)
        )

    traj = learning_demo(scripted(both_roles), k=2, rounds=2, size=3)
    assert traj is not None
    assert traj.success
    assert any(s.kind == "learned" for s in traj.steps)
