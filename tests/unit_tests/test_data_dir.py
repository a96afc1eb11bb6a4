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
from learnact_langgraph.envs.pddl.generate import domain_text
from learnact_langgraph.errors import DataDirError
from tests.conftest import (
    DATA_SKIP_PREFIX,
    OWN_DATA,
    REQUIRE_DATA_ENV,
    benchmark_data_dir,
    make_own_data_dir,
    missing_data_reason,
    no_data,
)

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


def test_require_incomplete_dir(tmp_path: Path) -> None:
    root = tmp_path / "agentboard_pddl"
    (root / "gripper").mkdir(parents=True)
    # our own files under benchmark names: require() checks presence, not checksums
    (root / "gripper.pddl").write_text(domain_text("gripper"))
    (root / "gripper/prob01.pddl").write_text((OWN_DATA / "gripper-four-balls.pddl").read_text())
    with pytest.raises(DataDirError) as err:
        require("robotic-planning", tmp_path)
    message = str(err.value)
    _one_sentence(message)
    assert "is incomplete (62 file(s)" in message and FETCH_HINT in message
    assert len(missing_files("robotic-planning", tmp_path)) == 62


def test_require_complete_dir(pddl_data: Path) -> None:
    assert require("robotic-planning", pddl_data) == pddl_data / "agentboard_pddl"
    assert missing_files("robotic-planning", pddl_data) == []


def test_unknown_dataset() -> None:
    with pytest.raises(DataDirError, match="choose one of: alfworld, robotic-planning"):
        get_dataset("alfred")


def test_alfworld_checksums_list_the_134_games_in_six_types() -> None:
    from learnact_langgraph.envs.alfworld.games import game_order

    sums = get_dataset("alfworld").checksums()
    assert len(sums) == 134
    assert all(rel.startswith("json_2.1.1/valid_unseen/") for rel in sums)
    assert all(rel.endswith("/game.tw-pddl") for rel in sums)
    sizes = {key: len(games) for key, games in game_order().items()}
    assert sizes == {"put": 24, "clean": 31, "heat": 23, "cool": 21, "examine": 18, "puttwo": 17}


def test_checksums_cover_four_domains_and_sixty_problems() -> None:
    sums = get_dataset("robotic-planning").checksums()
    assert len(sums) == 64
    assert sum("/" not in rel for rel in sums) == 4
    assert all(len(digest) == 64 for digest in sums.values())
    assert DATASETS["robotic-planning"].source_url.startswith("https://")


def test_packaged_splits_match_the_shared_copy(tmp_path: Path, data_dir: Path) -> None:
    shared = data_dir / "splits.json"
    if not shared.is_file():  # `learnact data fetch` has no splits.json to fetch
        no_data(f"{DATA_SKIP_PREFIX}in {data_dir} has no splits.json (the shared copy has one)")
    packaged = load_splits(tmp_path)  # no splits.json there: the packaged copy is used
    assert packaged == json.loads(shared.read_text())
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


# ----- the test suite's own rule for benchmark data (tests/conftest.py) --------------------
HINT = (
    "set LEARNACT_DATA_DIR to a directory with it (learnact data fetch robotic-planning); "
    "CI has it in ../shared/data"
)


def test_missing_benchmark_data_skips_with_one_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REQUIRE_DATA_ENV, raising=False)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "none"))
    with pytest.raises(pytest.skip.Exception) as skipped:
        benchmark_data_dir()
    assert str(skipped.value) == f"benchmark data not found in {tmp_path / 'none'}: {HINT}"

    make_own_data_dir(tmp_path / "some")
    (tmp_path / "some" / "agentboard_pddl" / "barman" / "p03.pddl").unlink()
    reason = missing_data_reason(tmp_path / "some")
    assert reason == f"benchmark data incomplete (1/64 missing) in {tmp_path / 'some'}: {HINT}"


def test_the_default_data_dir_is_the_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without LEARNACT_DATA_DIR the tests look where `learnact data fetch` puts the data."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_dir() == tmp_path / "cache" / "learnact" / "data"
    assert str(tmp_path / "cache" / "learnact" / "data") in str(missing_data_reason())
    make_own_data_dir(data_dir())
    assert missing_data_reason() is None
    assert benchmark_data_dir() == data_dir()


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_required_data_fails_instead_of_skipping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(REQUIRE_DATA_ENV, value)
    with pytest.raises(pytest.fail.Exception, match="benchmark data not found in .*is set"):
        benchmark_data_dir(tmp_path)
    monkeypatch.setenv(REQUIRE_DATA_ENV, "0")
    with pytest.raises(pytest.skip.Exception):
        benchmark_data_dir(tmp_path)


DATA_TEST = """
from tests.conftest import DATA_SKIP_PREFIX

def test_needs_data(data_dir):
    assert (data_dir / "agentboard_pddl" / "gripper.pddl").is_file()

def test_needs_nothing():
    assert DATA_SKIP_PREFIX
"""


def test_the_data_dir_fixture_skips_fails_or_serves(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """End to end: one skip with the reason in the summary, an error when required, a pass."""
    pytester.makepyfile(test_data_user=DATA_TEST)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "none"))
    monkeypatch.delenv(REQUIRE_DATA_ENV, raising=False)
    args = ["-p", "tests.conftest", "-p", "no:cacheprovider", "-p", "no:asyncio", "-q"]

    skipped = pytester.runpytest(*args)
    skipped.assert_outcomes(passed=1, skipped=1)
    skipped.stdout.fnmatch_lines(
        [f"1 test(s) skipped: benchmark data not found in {tmp_path / 'none'}: {HINT}"]
    )

    monkeypatch.setenv(REQUIRE_DATA_ENV, "1")
    required = pytester.runpytest(*args)
    required.assert_outcomes(passed=1, errors=1)
    assert "LEARNACT_REQUIRE_DATA is set, so this is an error" in required.stdout.str()

    monkeypatch.setenv(ENV_VAR, str(make_own_data_dir(tmp_path / "own")))
    pytester.runpytest(*args).assert_outcomes(passed=2)
