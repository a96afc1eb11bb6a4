"""The bench commands on the command line: help, settings precedence, learn -> eval, report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from learnact_langgraph.cli import USER_ERROR_EXIT, app

runner = CliRunner()
SMALL = ["-m", "act", "-d", "gripper", "--tasks-per-domain", "1", "--max-steps", "3"]


@pytest.mark.parametrize("command", ["bench", "report", "learn", "eval", "library", "data", "demo"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output and "--help" in result.output


def _models(out: Path) -> dict[str, str]:
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    return next(iter(runs.values()))["models"]


def use_tasks(
    source: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> list[str]:
    """CLI flags for generated tasks (no data), or point at the benchmark (skips without)."""
    if source == "generated":
        monkeypatch.setenv("LEARNACT_DATA_DIR", str(tmp_path / "no-data-here"))
        return ["--tasks", "generated"]
    monkeypatch.setenv("LEARNACT_DATA_DIR", str(request.getfixturevalue("data_dir")))
    return []


@pytest.mark.parametrize("source", ["generated", "benchmark"])
def test_flags_win_over_environment_over_config_file(
    tmp_path: Path, source: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = use_tasks(source, request, monkeypatch, tmp_path)
    monkeypatch.delenv("LEARNACT_MODEL", raising=False)
    config = tmp_path / "learnact.toml"
    config.write_text('[bench]\nmodel = "nosuchprovider:model"\nmax-steps = 2\n')
    base = ["--config", str(config), "bench", *SMALL[:-2], *tasks, "--no-report"]

    # config only: its model is used (and fails with one clear line)
    result = runner.invoke(app, [*base, "-o", str(tmp_path / "a")])
    assert result.exit_code == USER_ERROR_EXIT and "nosuchprovider:model" in result.output

    # the environment variable wins over the config file; max-steps still comes from it
    monkeypatch.setenv("LEARNACT_MODEL", "scripted")
    result = runner.invoke(app, [*base, "-o", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "b" / "episodes.jsonl").read_text().splitlines()[0])
    assert record["steps"] <= 2
    runs = json.loads((tmp_path / "b" / "manifest.json").read_text())["runs"]
    assert next(iter(runs.values()))["settings"]["max_steps"] == 2
    assert next(iter(runs.values()))["settings"]["tasks"] == source

    # a flag wins over both
    monkeypatch.setenv("LEARNACT_MODEL", "nosuchprovider:other")
    result = runner.invoke(app, [*base, "--model", "scripted", "--max-steps", "3",
                                 "-o", str(tmp_path / "c")])  # fmt: skip
    assert result.exit_code == 0, result.output
    runs = json.loads((tmp_path / "c" / "manifest.json").read_text())["runs"]
    assert next(iter(runs.values()))["settings"]["max_steps"] == 3


def test_missing_model_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEARNACT_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["bench", *SMALL, "-o", str(tmp_path / "r")])
    assert result.exit_code == USER_ERROR_EXIT
    assert "No agent model is configured" in result.output


@pytest.mark.parametrize("source", ["generated", "benchmark"])
def test_learn_then_eval_the_stored_library_then_report(
    tmp_path: Path, source: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = use_tasks(source, request, monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "lib.db")
    learned = runner.invoke(
        app, ["learn", "--model", "scripted", "-d", "gripper", "--store", db, "--k", "1",
              "--rounds", "1", "--train-steps", "20", *tasks],
    )  # fmt: skip
    assert learned.exit_code == 0, learned.output
    assert "carry_ball" in learned.output and "library generation 1" in learned.output

    out = tmp_path / "eval"
    evaluated = runner.invoke(
        app, ["eval", "--model", "scripted", "-d", "gripper", "--store", db,
              "--tasks-per-domain", "2", "-o", str(out), *tasks],
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    records = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    assert [r["extra"]["learned_actions"] for r in records] == [["carry_ball"], ["carry_ball"]]
    assert all(r["method"] == "learnact" for r in records)
    assert all(("/gen-" in r["task_id"]) == (source == "generated") for r in records)
    assert "lib.db#learnact/gripper@1" in json.dumps(
        json.loads((out / "manifest.json").read_text())
    )

    reported = runner.invoke(app, ["report", str(out), "--no-plots", "-o", str(tmp_path / "rep")])
    assert reported.exit_code == 0, reported.output
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "| LearnAct |" in text and "scripted models" in text


def test_on_error_comes_from_flag_or_config_and_lands_in_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEARNACT_DATA_DIR", str(tmp_path / "no-data-here"))
    base = ["bench", *SMALL, "--tasks", "generated", "--model", "scripted", "--no-report"]

    def recorded(out: Path) -> tuple[str, str]:
        run = next(iter(json.loads((out / "manifest.json").read_text())["runs"].values()))
        return run["on_error"], run["settings"]["on_error"]

    result = runner.invoke(app, [*base, "-o", str(tmp_path / "default")])
    assert result.exit_code == 0, result.output
    assert recorded(tmp_path / "default") == ("keep", "keep")  # the paper's behaviour
    report = runner.invoke(app, ["report", str(tmp_path / "default"), "--no-plots"])
    assert "on_error=keep" in report.output and "reflections by" in report.output

    config = tmp_path / "learnact.toml"
    config.write_text('[defaults]\non-error = "restore"\n')
    result = runner.invoke(app, ["--config", str(config), *base, "-o", str(tmp_path / "toml")])
    assert result.exit_code == 0, result.output
    assert recorded(tmp_path / "toml") == ("restore", "restore")

    bad = runner.invoke(app, [*base, "--on-error", "undo", "-o", str(tmp_path / "bad")])
    assert bad.exit_code == USER_ERROR_EXIT
    assert "keep" in bad.output and "restore" in bad.output and "Traceback" not in bad.output
