"""``learnact demo``: a real learning run you can watch, offline by default."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from langchain_core.messages import BaseMessage
from rich.console import Console
from typer.testing import CliRunner

from learnact_langgraph.cli import app
from learnact_langgraph.cli.demo import FULL, run_demo
from learnact_langgraph.testing import scripted
from learnact_langgraph.testing.roles import GRIPPER_DRAFT

from .learner.scripts import CREATE_MARK, PLAN, REVISE_MARK, agent, learner, text_of

runner = CliRunner()


def _in_order(text: str, *parts: str) -> None:
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} missing (or out of order) in:\n{text}"
        at = found + len(part)


def test_scripted_demo_runs_offline_and_shows_the_loop(tmp_path: Path) -> None:
    export = tmp_path / "lib.json"
    result = runner.invoke(
        app,
        ["demo", "--scripted", "--size", "3", "--export", str(export)],
        env={"LEARNACT_MODEL": "", "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "scripted" in out and "not an LLM" in out and "--model openai:" in out
    _in_order(
        out,
        "Goal of gripper/gen-0-3-0:",
        "Start state: ",
        "Round 0: the learner writes candidate actions",
        "return drop(ball, from_room, gripper)",  # the draft drawn
        "failed 0.00",  # it fails on the training tasks
        "A learned action failed on gripper/gen-0-3-",
        "Error feedback (invalid_action): base action drop(",
        "Round 1: the learner revises",
        "Update of carry_ball",
        "+    return drop(ball, to_room, gripper)",  # the revision, as a diff
        "solved 1.00",
        "Published release 1 of demo/gripper",
        "Score of the best set: 0.00 after round 0 (0/3 solved) -> ",
        "(3/3 solved)",
        "Exported the library",
        "Held-out task gripper/gen-0-3-3",
        "learned",
        "gripper/gen-0-3-3: solved",
    )
    assert "Traceback" not in out
    assert '"carry_ball"' in export.read_text(encoding="utf-8")


def test_demo_model_scripted_is_accepted_by_name(tmp_path: Path) -> None:
    out = str(tmp_path / "lib.json")
    result = runner.invoke(
        app, ["demo", "--model", "scripted", "--k", "1", "--size", "2", "--export", out]
    )
    assert result.exit_code == 0, result.output
    assert "Published release" in result.output


def test_demo_publishes_the_revision_not_the_draft() -> None:
    out = Console(file=io.StringIO(), width=200)
    result = run_demo(plan=replace(FULL, k=2, rounds=2, size=3), out=out)
    release = result.learning["release"]
    source = release["actions"]["carry_ball"]["source"]
    assert "drop(ball, to_room, gripper)" in source
    assert "drop(ball, from_room, gripper)" in GRIPPER_DRAFT
    assert release["round"] == 1
    first, last = result.view.round_best[0], result.view.round_best[-1]
    assert first[2] < last[2] and last[3] == 3
    assert result.held_out is not None and result.held_out.success
    assert any(s.kind == "learned" for s in result.held_out.steps)


def test_demo_with_another_model_shows_a_plan_revision() -> None:
    learner_part = learner(revision=PLAN)

    def both_roles(messages: list[BaseMessage]) -> str:
        text = text_of(messages)
        if CREATE_MARK in text or REVISE_MARK in text:
            return learner_part(messages)
        return agent(messages)

    buf = io.StringIO()
    plan = replace(FULL, k=1, rounds=1, size=3)
    result = run_demo(scripted(both_roles), plan=plan, out=Console(file=buf, width=200))
    text = buf.getvalue()
    assert "Model: " in text and "not an LLM" not in text
    assert "Plan of carry_ball" in text and "note on carry_ball:" in text
    # A note does not fix the code: every call still fails, so the set is withheld.
    assert result.learning["status"] == "withheld" and result.held_out is None
