"""The `learnact` command line: help, version, `data path`, and how user errors look."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from learnact_langgraph import __version__
from learnact_langgraph.cli import USER_ERROR_EXIT, app
from learnact_langgraph.errors import DataDirError, LearnActError
from tests.conftest import make_own_data_dir

runner = CliRunner()


def test_help_lists_data() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "data" in result.output and "learn new actions" in result.output


def test_no_args_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "Usage" in result.output and "data" in result.output


def test_data_help() -> None:
    result = runner.invoke(app, ["data", "--help"])
    assert result.exit_code == 0
    assert "fetch" in result.output and "path" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"learnact-langgraph {__version__}"


def test_data_path_reports_completeness(tmp_path: Path, pddl_data: Path) -> None:
    empty = runner.invoke(app, ["data", "path", "--data-dir", str(tmp_path)])
    assert empty.exit_code == 0
    assert empty.output.splitlines()[0] == str(tmp_path)
    assert "robotic-planning: incomplete (0/64 files)" in empty.output
    assert "splits: packaged copy" in empty.output

    full = runner.invoke(app, ["data", "path", "--data-dir", str(pddl_data)])
    assert full.exit_code == 0 and full.output.splitlines()[0] == str(pddl_data)
    assert f"robotic-planning: complete ({pddl_data / 'agentboard_pddl'})" in full.output
    splits = pddl_data / "splits.json"
    assert f"splits: {splits if splits.is_file() else 'packaged copy'}" in full.output


def test_data_path_names_a_local_splits_file_and_an_incomplete_set(tmp_path: Path) -> None:
    make_own_data_dir(tmp_path)
    (tmp_path / "splits.json").write_text('{"train": {"gripper": [0, 1, 2]}}')
    (tmp_path / "agentboard_pddl" / "tyreworld" / "p07.pddl").unlink()
    result = runner.invoke(app, ["data", "path", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "robotic-planning: incomplete (63/64 files)" in result.output
    assert f"splits: {tmp_path / 'splits.json'}" in result.output


def test_data_path_follows_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEARNACT_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["data", "path"])
    assert result.output.splitlines()[0] == str(tmp_path)


def test_unknown_dataset_is_one_red_line_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich colours only terminals unless forced
    result = runner.invoke(app, ["data", "fetch", "alfred"])
    assert result.exit_code == USER_ERROR_EXIT == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "Unknown dataset 'alfred'" in lines[0] and "\x1b[31m" in lines[0]  # red
    assert "Traceback" not in result.output


def test_user_errors_from_any_subcommand_are_caught() -> None:
    """A sub-app registered later (like cli/library.py will be) gets the same handling."""
    extra = typer.Typer()

    @extra.command()
    def boom() -> None:
        raise DataDirError(
            "A long message that must stay on one line even in narrow terminals " * 3
        )

    @extra.command()
    def bug() -> None:
        raise RuntimeError("a real bug")

    app.add_typer(extra, name="extra-test")
    try:
        result = runner.invoke(app, ["extra-test", "boom"])
        assert result.exit_code == 2
        assert len(result.stderr.strip().splitlines()) == 1
        crashed = runner.invoke(app, ["extra-test", "bug"])
        assert isinstance(crashed.exception, RuntimeError)
        assert not isinstance(crashed.exception, LearnActError)
    finally:
        app.registered_groups.pop()


def test_serve_mcp_refuses_a_bad_transport_in_one_sentence() -> None:
    result = runner.invoke(app, ["library", "serve-mcp", "--transport", "pigeon"])
    assert result.exit_code == USER_ERROR_EXIT
    assert "Unknown MCP transport 'pigeon'; choose stdio or http." in result.output
    assert "Traceback" not in result.output


def test_export_names_the_mcp_format_among_the_choices(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["library", "export", "-f", "yaml", "--store", str(tmp_path / "none.db")]
    )
    assert result.exit_code == USER_ERROR_EXIT
    assert "choose json, python, openai or mcp" in result.output
