"""What one learning run costs outside the model: the training tasks are looked up once."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from learnact_langgraph.graphs import sessions
from learnact_langgraph.graphs.learner import learner_graph
from learnact_langgraph.testing import scripted

from .scripts import agent, learner
from .test_learner_graph import context, gripper_env


def test_the_training_tasks_are_looked_up_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[Any] = []
    made: list[Any] = []
    real_lookup = sessions.training_tasks

    def lookup(ctx: Any) -> list[str]:
        lookups.append(ctx)
        return real_lookup(ctx)

    def counted_env() -> Any:
        made.append(1)
        return gripper_env()

    monkeypatch.setattr(sessions, "training_tasks", lookup)
    ctx = replace(context(scripted(learner()), scripted(agent), k=4), env_factory=counted_env)
    out = learner_graph().invoke({}, context=ctx)
    assert out["status"] == "published"
    assert len(lookups) == 1  # was 15, each building an environment: 63 -> 49 made in all
    assert len(made) < 63
    assert out["learnact_tasks"] == [t.id for t in gripper_env().tasks()[:3]]
