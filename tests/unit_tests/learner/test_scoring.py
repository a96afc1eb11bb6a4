"""Scores and failure detection are pure functions of recorded trajectories."""

from __future__ import annotations

import pytest

from learnact_langgraph.episode import Step, Trajectory
from learnact_langgraph.scoring import analyze, find_failure, select_best


def _step(kind: str, valid: bool, learned: str | None = None) -> Step:
    return Step(
        action=f"{learned or 'move'}()",
        observation="obs",
        kind=kind,  # type: ignore[arg-type]
        valid=valid,
        learned_call=learned,
    )


def test_stats_follow_the_paper_terms() -> None:
    t1 = Trajectory(
        "t1",
        "g",
        "o",
        [_step("learned", True, "carry"), _step("base", True), _step("learned", False, "carry")],
        success=True,
        progress=1.0,
    )
    t2 = Trajectory(
        "t2",
        "g",
        "o",
        [_step("learned", True, "carry"), _step("think", True)],
        success=False,
        progress=0.5,
    )
    stats = analyze([t1, t2])
    assert (stats.steps, stats.learned_calls, stats.failed_calls) == (4, 3, 1)
    assert stats.step_correction == pytest.approx(2 / 3)
    assert stats.call_ratio == pytest.approx(2 / 4)
    assert stats.success == pytest.approx(0.5)
    assert stats.score() == pytest.approx(2 / 3 + 0.5 + 0.5)
    assert stats.score(("call_ratio", "success")) == pytest.approx(1.0)
    assert stats.progress == pytest.approx(0.75)


def test_no_calls_scores_zero_not_division_error() -> None:
    stats = analyze([Trajectory("t", "g", "o", [])])
    assert stats.score() == 0.0


def test_ties_go_to_the_incumbent() -> None:
    assert select_best([1.0, 1.0, 0.5]) == 0
    assert select_best([1.0, 1.5, 1.5]) == 1
    with pytest.raises(ValueError):
        select_best([])


def test_failure_is_first_failed_learned_call_of_first_episode() -> None:
    ok = Trajectory("a", "g", "o", [_step("learned", True, "carry"), _step("base", False)])
    bad = Trajectory(
        "b",
        "g",
        "o",
        [_step("base", True), _step("learned", False, "carry"), _step("learned", False, "other")],
    )
    failure = find_failure([ok, bad])
    assert failure is not None
    assert (failure.task_id, failure.step_index, failure.step.learned_call) == ("b", 1, "carry")
    assert find_failure([ok]) is None
