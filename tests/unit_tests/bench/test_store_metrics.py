"""The results store (keys, torn lines, manifest) and the aggregation behind the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from learnact_langgraph.bench import metrics
from learnact_langgraph.bench.store import BenchError, ResultStore, settings_hash


def episode(method: str, task: str, repeat: int, success: bool, progress: float) -> dict[str, Any]:
    return {
        "method": method,
        "domain": task.split("/")[0],
        "task_id": task,
        "split": "test",
        "repeat": repeat,
        "settings_hash": "h1",
        "success": success,
        "progress": progress,
        "steps": 4,
        "valid_share": 0.5,
        "seconds": 1.0,
        "usage": {"calls": 2, "input_tokens": 100, "output_tokens": 10, "seconds": 0.5},
    }


def test_settings_hash_ignores_key_order_and_sees_values() -> None:
    assert settings_hash({"a": 1, "b": 2}) == settings_hash({"b": 2, "a": 1})
    assert settings_hash({"a": 1}) != settings_hash({"a": 2})


def test_store_keeps_first_record_per_key_and_skips_a_torn_line(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    store.add_episode(episode("act", "gripper/0", 0, True, 1.0))
    store.add_episode(episode("act", "gripper/0", 0, False, 0.0))  # a duplicate key
    store.add_episode(episode("act", "gripper/1", 0, False, 0.5))
    with (tmp_path / "episodes.jsonl").open("a") as fh:
        fh.write('{"method": "act", "domain": "gri')  # killed mid-write
    eps = store.episodes()
    assert len(eps) == 2
    assert {e["task_id"]: e["success"] for e in eps} == {"gripper/0": True, "gripper/1": False}
    assert ("act", "gripper/1", "gripper/1", 0, "h1") not in store.episode_keys()
    assert ("act", "gripper", "gripper/1", 0, "h1") in store.episode_keys()


def test_manifest_records_each_invocation_and_the_latest_run(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    with pytest.raises(BenchError, match="No bench results"):
        store.latest_settings()
    store.record_run("aaa", {"settings": {"k": 1}}, {"argv": ["bench"]})
    store.record_run("aaa", {"settings": {"k": 1}}, {"argv": ["bench", "again"]})
    store.record_run("bbb", {"settings": {"k": 2}}, {"argv": ["bench"]})
    runs = json.loads((tmp_path / "manifest.json").read_text())["runs"]
    assert [i["argv"] for i in runs["aaa"]["invocations"]] == [["bench"], ["bench", "again"]]
    assert store.latest_settings() in {"aaa", "bbb"}
    assert runs["bbb"]["settings"] == {"k": 2}


def test_cells_average_tasks_within_a_repeat_then_repeats() -> None:
    records = [
        episode("act", "gripper/0", 0, True, 1.0),
        episode("act", "gripper/1", 0, False, 0.5),
        episode("act", "gripper/0", 1, False, 0.0),
        episode("act", "gripper/1", 1, False, 0.25),
        episode("act", "blockworld/0", 0, True, 1.0),
    ]
    cells = metrics.table(records)
    grip = cells[("act", "gripper")]
    # repeat 0: success 0.5, progress 0.75; repeat 1: success 0, progress 0.125
    assert grip.repeats == 2 and grip.episodes == 4
    assert grip.mean["success"] == pytest.approx(0.25)
    assert grip.std["success"] == pytest.approx(0.25)
    assert grip.mean["progress"] == pytest.approx(0.4375)
    assert metrics.macro_average(cells, "act", "success") == pytest.approx((0.25 + 1.0) / 2)
    cost = metrics.costs(records, [{"method": "act", "usage": {"calls": 7}, "seconds": 3.0}])
    assert cost["act"]["test_calls"] == 10 and cost["act"]["learn_calls"] == 7
    assert cost["act"]["tokens"] == 5 * 110


def test_learning_curves_pad_runs_that_stopped_early() -> None:
    artifacts = [
        {
            "method": "learnact",
            "domain": "gripper",
            "rounds": [{"round": 0, "success": 0.0}, {"round": 1, "success": 1.0}],
        },
        {"method": "learnact", "domain": "gripper", "rounds": [{"round": 0, "success": 0.5}]},
    ]
    curves = metrics.learning_curves(artifacts)
    assert curves["learnact"]["gripper"] == [pytest.approx(0.25), pytest.approx(0.75)]
