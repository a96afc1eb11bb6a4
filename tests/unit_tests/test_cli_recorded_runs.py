"""``--record`` / ``--replay`` through the CLI, and reports without the plotting extra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from learnact_langgraph.bench import plots
from learnact_langgraph.cli import app

runner = CliRunner()
SMALL_LEARN = ["learn", "-d", "gripper", "--tasks", "generated", "--k", "2", "--rounds", "1"]
SMALL_EVAL = ["eval", "-d", "gripper", "--tasks", "generated", "--tasks-per-domain", "1"]


def _published(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("published "))


def test_learn_replays_a_recorded_run_without_any_model(tmp_path: Path) -> None:
    rec = tmp_path / "run.jsonl"
    live = runner.invoke(
        app,
        [
            *SMALL_LEARN,
            "--model",
            "scripted",
            "--store",
            str(tmp_path / "a.db"),
            "--record",
            str(rec),
        ],
    )
    assert live.exit_code == 0, live.output
    calls = [json.loads(line) for line in rec.read_text().splitlines()]
    assert calls and {c["role"] for c in calls} == {"learner", "agent"}
    again = runner.invoke(
        app, [*SMALL_LEARN, "--store", str(tmp_path / "b.db"), "--replay", str(rec)]
    )
    assert again.exit_code == 0, again.output
    assert _published(again.output).split(" to ")[0] == _published(live.output).split(" to ")[0]
    assert rec.read_text().count("\n") == len(calls)  # replay never writes


def test_a_changed_setting_fails_the_replay_naming_the_difference(tmp_path: Path) -> None:
    rec = tmp_path / "run.jsonl"
    live = runner.invoke(
        app, [*SMALL_EVAL, "--model", "scripted", "-o", str(tmp_path / "a"), "--record", str(rec)]
    )
    assert live.exit_code == 0, live.output
    changed = runner.invoke(
        app,
        [*SMALL_EVAL, "--memory-steps", "1", "-o", str(tmp_path / "b"), "--replay", str(rec)],
    )
    assert changed.exit_code in (1, 2), changed.output
    text = " ".join(changed.output.split())
    assert "matches no recorded call" in text and "differs at character" in text
    assert "record again with --record" in text
    assert "Traceback" not in changed.output


def test_replayed_eval_keeps_the_recorded_model_in_the_manifest(tmp_path: Path) -> None:
    rec = tmp_path / "run.jsonl"
    args = [*SMALL_EVAL, "--max-steps", "3"]
    assert (
        runner.invoke(
            app, [*args, "--model", "scripted", "-o", str(tmp_path / "a"), "--record", str(rec)]
        ).exit_code
        == 0
    )
    again = runner.invoke(app, [*args, "-o", str(tmp_path / "b"), "--replay", str(rec)])
    assert again.exit_code == 0, again.output
    live = json.loads((tmp_path / "a" / "manifest.json").read_text())
    replayed = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert live["runs"] and replayed["runs"]
    first = next(iter(live["runs"].values()))["models"]
    assert next(iter(replayed["runs"].values()))["models"] == first


def test_eval_finishes_with_its_report_without_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plots, "available", lambda: False)
    out = tmp_path / "res"
    result = runner.invoke(
        app, [*SMALL_EVAL, "--model", "scripted", "--max-steps", "2", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    assert "Plots were not drawn" in report and "learnact-langgraph[bench]" in report
    assert "plots were not drawn" in result.output
    assert not list(out.glob("*.png"))
