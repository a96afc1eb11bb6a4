"""Data directory resolution, `require` errors and the packaged splits (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from learnact_langgraph.data import (
    DATASETS,
    ENV_VAR,
    data_dir,
    get_dataset,
    load_splits,
    missing_files,
    require,
)
from learnact_langgraph.errors import DataDirError

FETCH_HINT = "learnact data fetch robotic-planning"


def _one_sentence(message: str) -> None:
    assert "\n" not in message
    assert message.endswith(".")


def test_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "from-env"))
    assert data_dir() == tmp_path / "from-env"
    assert data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv(ENV_VAR)
    assert data_dir().name == "data" and "learnact" in str(data_dir())


def test_require_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(DataDirError) as err:
        require("robotic-planning", tmp_path / "nothing-here")
    message = str(err.value)
    _one_sentence(message)
    assert "is missing" in message and FETCH_HINT in message and ENV_VAR in message


def test_require_incomplete_dir(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "agentboard_pddl"
    (root / "gripper").mkdir(parents=True)
    for rel in ("gripper.pddl", "gripper/prob01.pddl"):
        (root / rel).write_bytes((data_dir / "agentboard_pddl" / rel).read_bytes())
    with pytest.raises(DataDirError) as err:
        require("robotic-planning", tmp_path)
    message = str(err.value)
    _one_sentence(message)
    assert "is incomplete (62 file(s)" in message and FETCH_HINT in message
    assert len(missing_files("robotic-planning", tmp_path)) == 62


def test_require_complete_dir(data_dir: Path) -> None:
    assert require("robotic-planning", data_dir) == data_dir / "agentboard_pddl"
    assert missing_files("robotic-planning", data_dir) == []


def test_unknown_dataset() -> None:
    with pytest.raises(DataDirError, match="choose one of: robotic-planning"):
        get_dataset("alfred")


def test_checksums_cover_four_domains_and_sixty_problems() -> None:
    sums = get_dataset("robotic-planning").checksums()
    assert len(sums) == 64
    assert sum("/" not in rel for rel in sums) == 4
    assert all(len(digest) == 64 for digest in sums.values())
    assert DATASETS["robotic-planning"].source_url.startswith("https://")


def test_packaged_splits_match_the_shared_copy(tmp_path: Path, data_dir: Path) -> None:
    packaged = load_splits(tmp_path)  # no splits.json there: the packaged copy is used
    assert packaged == json.loads((data_dir / "splits.json").read_text())
    assert packaged["train"]["blockworld"] == [4, 6, 8]


def test_local_splits_file_wins(tmp_path: Path) -> None:
    (tmp_path / "splits.json").write_text(json.dumps({"train": {"gripper": [0, 1, 2]}}))
    assert load_splits(tmp_path)["train"] == {"gripper": [0, 1, 2]}


@pytest.mark.parametrize("content", ["{not json", '{"about": "no train"}'])
def test_broken_local_splits_file(tmp_path: Path, content: str) -> None:
    (tmp_path / "splits.json").write_text(content)
    with pytest.raises(DataDirError, match="splits.json") as err:
        load_splits(tmp_path)
    _one_sentence(str(err.value))
