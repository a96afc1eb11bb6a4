"""Scoring candidate action sets and finding the failure to learn from.

Scores are pure functions of recorded trajectories, so they are tested without a
model. The terms are the paper's: ``step_correction`` (successful learned-action calls
over all learned-action calls), ``call_ratio`` (successful learned-action calls over
all steps) and ``success`` (share of training tasks solved). A failed learned-action
call is read from the sandbox's structured result, never from observation text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from learnact_langgraph.envs.defaults import DEFAULT_SCORE, ScoreTerm
from learnact_langgraph.episode import Step, Trajectory

__all__ = ["DEFAULT_SCORE", "Failure", "ScoreTerm", "Stats", "analyze", "find_failure"]


@dataclass(frozen=True)
class Stats:
    steps: int
    learned_calls: int
    failed_calls: int
    successes: int
    episodes: int
    progress: float

    @property
    def succeeded_calls(self) -> int:
        return self.learned_calls - self.failed_calls

    @property
    def step_correction(self) -> float:
        return self.succeeded_calls / self.learned_calls if self.learned_calls else 0.0

    @property
    def call_ratio(self) -> float:
        return self.succeeded_calls / self.steps if self.steps else 0.0

    @property
    def success(self) -> float:
        return self.successes / self.episodes if self.episodes else 0.0

    def score(self, terms: Sequence[ScoreTerm] = DEFAULT_SCORE) -> float:
        return float(sum(getattr(self, t) for t in terms))

    def to_dict(self, terms: Sequence[ScoreTerm] = DEFAULT_SCORE) -> dict[str, float]:
        return {
            "steps": self.steps,
            "learned_calls": self.learned_calls,
            "failed_calls": self.failed_calls,
            "step_correction": round(self.step_correction, 6),
            "call_ratio": round(self.call_ratio, 6),
            "success": round(self.success, 6),
            "progress": round(self.progress, 6),
            "score": round(self.score(terms), 6),
        }


#: Failures that are the environment's, not the learned code's: never revised against.
NOT_THE_CODE = frozenset({"environment_error"})


def is_failed_learned_call(step: Step) -> bool:
    return step.learned_call is not None and not step.valid and step.error_kind not in NOT_THE_CODE


def analyze(trajectories: Sequence[Trajectory]) -> Stats:
    """Count steps and learned-action calls over a candidate's training episodes."""
    steps = learned = failed = 0
    for traj in trajectories:
        for step in traj.steps:
            if step.kind == "think":
                continue
            steps += 1
            if step.learned_call is not None:
                learned += 1
                failed += is_failed_learned_call(step)
    n = len(trajectories)
    return Stats(
        steps=steps,
        learned_calls=learned,
        failed_calls=failed,
        successes=sum(t.success for t in trajectories),
        episodes=n,
        progress=sum(t.progress for t in trajectories) / n if n else 0.0,
    )


def select_best(scores: Sequence[float]) -> int:
    """Index of the best score; ties go to the lower index (the incumbent is index 0)."""
    if not scores:
        raise ValueError("no candidates to select from")
    best = 0
    for i, s in enumerate(scores):
        if s > scores[best]:
            best = i
    return best


@dataclass(frozen=True)
class Failure:
    """The first failed learned-action call of the first training episode that has one."""

    task_id: str
    goal: str
    step_index: int
    step: Step


def find_failure(trajectories: Sequence[Trajectory]) -> Failure | None:
    for traj in trajectories:
        for i, step in enumerate(traj.steps):
            if is_failed_learned_call(step):
                return Failure(traj.task_id, traj.goal, i, step)
    return None
