"""One data route: what `learnact data fetch` writes, `bench`, `learn` and `eval` read.

The fetch goes to a loopback HTTP server serving the upstream files; then the commands
run on the result, found both through ``--data-dir`` and through the default location
(the user cache, with nothing set), as a new user would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from learnact_langgraph.data import default_data_dir

from .test_data_fetch import _serve

runner = CliRunner()


@pytest.fixture
def upstream(data_dir: Path) -> Iterator[str]:
    yield from _serve(data_dir / "agentboard_pddl")


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user cache, and no LEARNACT_DATA_DIR: the documented default applies."""
    monkeypatch.delenv("LEARNACT_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _episodes(out: Path) -> list[dict[str, object]]:
    lines = (out / "episodes.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_fetch_to_the_default_dir_then_bench_learn_and_eval(
    upstream: str, cache_home: Path, tmp_path: Path
) -> None:
    from learnact_langgraph.cli import app

    assert default_data_dir().is_relative_to(cache_home)
    fetched = runner.invoke(app, ["data", "fetch", "robotic-planning", "--base-url", upstream])
    assert fetched.exit_code == 0, fetched.output
    assert not (default_data_dir() / "splits.json").exists()  # the split is packaged

    out = tmp_path / "bench"
    args = ["-d", "gripper", "-m", "act", "--tasks-per-domain", "2", "--max-steps", "5"]
    bench = runner.invoke(app, ["bench", "--model", "scripted", "--out", str(out), *args])
    assert bench.exit_code == 0, bench.output
    episodes = _episodes(out)
    assert [e["task_id"] for e in episodes] == ["gripper/0", "gripper/1"]
    assert {e["split"] for e in episodes} == {"test"}

    store = tmp_path / "lib.db"
    learn = runner.invoke(
        app,
        ["learn", "-d", "gripper", "--model", "scripted", "--store", str(store), "--k", "1"],
    )
    assert learn.exit_code == 0, learn.output
    assert "carry_ball" in learn.output

    evaluated = runner.invoke(
        app,
        [
            "eval",
            "--model",
            "scripted",
            "--store",
            str(store),
            "--out",
            str(tmp_path / "ev"),
            *args,
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert {e["method"] for e in _episodes(tmp_path / "ev")} == {"learnact"}


def test_fetch_to_a_chosen_dir_then_bench_with_data_dir(upstream: str, tmp_path: Path) -> None:
    from learnact_langgraph.cli import app

    target = tmp_path / "data"
    fetched = runner.invoke(
        app,
        ["data", "fetch", "robotic-planning", "--data-dir", str(target), "--base-url", upstream],
    )
    assert fetched.exit_code == 0, fetched.output
    out = tmp_path / "bench"
    bench = runner.invoke(
        app,
        [
            "bench",
            "--model",
            "scripted",
            "--data-dir",
            str(target),
            "--out",
            str(out),
            "-d",
            "tyreworld",
            "-m",
            "act",
            "--include-train",
            "--max-steps",
            "3",
        ],
    )
    assert bench.exit_code == 0, bench.output
    splits = {e["task_id"]: e["split"] for e in _episodes(out)}
    assert len(splits) == 10
    train = sorted(t for t, s in splits.items() if s == "train")
    assert train == ["tyreworld/0", "tyreworld/4", "tyreworld/8"]  # the paper's split
