"""``learnact library``: ls, show, history, diff, rollback, releases, export, import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langgraph.store.sqlite import SqliteStore
from typer.testing import CliRunner

from learnact_langgraph.cli import app
from learnact_langgraph.library import ActionLibrary

from .conftest import BASE, CARRY, GO

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lib.db"
    monkeypatch.setenv("LEARNACT_LIBRARY", str(path))
    monkeypatch.delenv("LEARNACT_LIBRARY_PREFIX", raising=False)  # learnact/gripper by default
    with SqliteStore.from_conn_string(str(path)) as store:
        store.setup()
        lib = ActionLibrary(store, ("learnact", "gripper"), base_actions=BASE)
        lib.add(GO, description="Walk Robby.")
        lib.add(CARRY, description="Carry one ball.")
        lib.revise(
            "go",
            source="def go(src, dst):\n    move(src, dst)\n    return 'moved'\n",
            note="Returns a fixed word.",
        )
    return path


def _run(*args: str) -> str:
    result = runner.invoke(app, ["library", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_ls_and_show(db: Path) -> None:
    out = _run("ls")
    assert "release 3, 2 actions" in out and "carry" in out and "Walk Robby." in out
    records = json.loads(_run("ls", "--json"))
    assert [(r["name"], r["version"]) for r in records] == [("carry", 1), ("go", 2)]
    assert [r["name"] for r in json.loads(_run("ls", "--json", "--release", "1"))] == ["go"]
    shown = _run("show", "go")
    assert "go(src, dst)  v2 (latest v2)" in shown and "note: Returns a fixed word." in shown
    assert "return 'moved'" in shown
    assert "return move(src, dst)" in _run("show", "go", "--version", "1")


def test_history_diff_rollback_releases(db: Path) -> None:
    hist = _run("history", "go")
    assert "2 versions" in hist and "2 *" in hist
    diff = _run("diff", "go", "1", "2")
    assert "-    return move(src, dst)" in diff and "+    return 'moved'" in diff
    assert "(no difference)" in _run("diff", "go", "2")
    assert "v3 published with the content of v1" in _run("rollback", "go", "--to", "1")
    assert "return move(src, dst)" in _run("show", "go")
    assert "release 5 now equals release 1" in _run("rollback", "--release", "1")
    assert [r["name"] for r in json.loads(_run("ls", "--json"))] == ["go"]
    last = json.loads(_run("releases", "--json"))[-1]
    assert (last["message"], last["changes"]) == ("rollback to release 1", {"carry": None, "go": 1})
    assert "rollback" in _run("releases")


def test_export_import_round_trip(db: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "lib.json"
    _run("export", "--format", "json", "--output", str(manifest))
    other = tmp_path / "other.db"
    out = _run("import", str(manifest), "--store", str(other), "--prefix", "team/gripper")
    assert f"imported 2 actions into {other} at prefix team/gripper" in " ".join(out.split())
    again = _run("export", "--store", str(other), "--prefix", "team/gripper")
    assert again == manifest.read_text()
    assert "def bind(env)" in _run("export", "-f", "python")
    tools = json.loads(_run("export", "-f", "openai"))
    assert {t["function"]["name"] for t in tools} == {"move", "pick", "drop", "go", "carry"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "nope"], "no action named 'nope'"),
        (["diff", "go", "7"], "has no version 7"),
        (["rollback", "go"], "Give either NAME --to VERSION"),
        (["export", "-f", "yaml"], "Unknown export format 'yaml'"),
        (["import", "/does/not/exist.json"], "Cannot read"),
    ],
)
def test_errors_are_one_line_and_exit_2(db: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["library", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_import_refuses_a_non_empty_library(db: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "lib.json"
    _run("export", "-o", str(manifest))
    result = runner.invoke(app, ["library", "import", str(manifest)])
    assert result.exit_code == 2 and "not empty" in result.output
    assert "imported 2 actions" in _run("import", str(manifest), "--replace")


def test_domain_picks_the_library_learn_writes_and_prefix_overrides(db: Path) -> None:
    assert "learnact/gripper (release 3, 2 actions)" in _run("ls", "-d", "gripper")
    missing = runner.invoke(app, ["library", "ls", "-d", "barman"])
    assert missing.exit_code == 2
    assert "has no library at learnact/barman; it holds learnact/gripper" in missing.output
    assert "release 3, 2 actions" in _run("ls", "-d", "barman", "--prefix", "learnact/gripper")


def test_reads_never_lock_and_writes_need_an_existing_library(db: Path, tmp_path: Path) -> None:
    Path(f"{db}.lock").unlink(missing_ok=True)
    before = db.read_bytes()
    for args in (["ls"], ["show", "go"], ["history", "go"], ["releases"], ["export"]):
        _run(*args)
    assert db.read_bytes() == before and not Path(f"{db}.lock").exists()
    missing = tmp_path / "nowhere" / "lib.db"
    result = runner.invoke(app, ["library", "rollback", "--release", "1", "--store", str(missing)])
    assert result.exit_code == 2 and "No action library at" in result.output
    assert not missing.parent.exists()
