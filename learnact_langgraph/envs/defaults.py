"""Run settings that belong to an environment: the paper's protocol for its benchmark.

The paper runs each benchmark with its own limits and score: Robotic Planning gives
the agent 30 test steps and scores candidates by step correction + call ratio +
success; AlfWorld gives 20 test steps, keeps the whole episode in the prompt and scores
by call ratio + success. An environment states these as :attr:`Environment.defaults`,
and every setting left unset (``None``) in the learner, the agent, the baselines and the
bench takes the environment's value, so no part of the loop special-cases a benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ScoreTerm = Literal["step_correction", "call_ratio", "success"]
#: Robotic Planning in the paper sums all three; AlfWorld uses call_ratio + success.
DEFAULT_SCORE: tuple[ScoreTerm, ...] = ("step_correction", "call_ratio", "success")


@dataclass(frozen=True)
class EnvDefaults:
    """An environment's episode limits and learning score.

    ``max_steps`` caps a test episode, ``train_steps`` a training episode of the learner;
    ``memory_steps`` is how many recent steps the agent's prompt shows (0 = all);
    ``score_terms`` are summed to rank candidate action sets.
    """

    max_steps: int = 30
    train_steps: int = 10
    memory_steps: int = 10
    score_terms: tuple[ScoreTerm, ...] = DEFAULT_SCORE

    def __post_init__(self) -> None:
        for name in ("max_steps", "train_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"EnvDefaults.{name} must be at least 1.")
        if self.memory_steps < 0:
            raise ValueError("EnvDefaults.memory_steps must be at least 0.")
        if not self.score_terms:
            raise ValueError("EnvDefaults.score_terms must name at least one term.")


def pick(value: int | None, default: int) -> int:
    """``value`` when set, else the environment's ``default``."""
    return default if value is None else value
