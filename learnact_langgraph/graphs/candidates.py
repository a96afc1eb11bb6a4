"""Candidates in the learner's nodes: the K samples as durable units, the run's id, and
the episode of a candidate the sandbox could not load."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from langgraph.config import get_config

from learnact_langgraph.envs.base import Environment
from learnact_langgraph.episode import Step, Trajectory
from learnact_langgraph.graphs.durable import Durable
from learnact_langgraph.graphs.learner_state import LearnerContext, LearnerState
from learnact_langgraph.learning import Candidate, Dropped
from learnact_langgraph.models import Usage
from learnact_langgraph.sandbox.types import LearnedCodeError


def sample_k(
    ctx: LearnerContext,
    sample: Callable[[int, Usage], Candidate | Dropped],
    usage: Usage,
    name: str,
) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """Draw the K samples, up to ``sample_concurrency`` at a time, in index order.

    Each sample is a durable unit (:mod:`.durable`): if one fails for good, the run
    resumes with the finished ones kept. Returns the candidates and, for the log, every
    sample that gave none and why.
    """

    def unit(k: int, part: Usage) -> dict[str, Any]:
        drawn = sample(k, part)
        if isinstance(drawn, Candidate):
            return {"candidate": drawn.to_dict()}
        return {"dropped": drawn.to_dict()}

    values = Durable(name, usage).map(unit, ctx.k, ctx.sample_concurrency)
    kept = [Candidate.from_dict(v["candidate"]) for v in values if "candidate" in v]
    return kept, [v["dropped"] for v in values if "dropped" in v]


def result_key(round_: int, candidate_id: str, task_id: str) -> str:
    """Where one episode's trajectory sits in the state's ``results``."""
    return f"{round_}|{candidate_id}|{task_id}"


def run_id_for(state: LearnerState) -> str:
    """The run's id, made once and kept in the state: a resumed run keeps it, so its
    publish finds the release it may already have written."""
    if state.get("run_id"):
        return str(state["run_id"])
    try:
        thread = get_config().get("configurable", {}).get("thread_id")
    except RuntimeError:
        thread = None
    suffix = uuid.uuid4().hex[:12]
    return f"{thread}/{suffix}" if thread else suffix


def load_failure(
    env: Environment, task_id: str, cand: Candidate, exc: LearnedCodeError
) -> Trajectory:
    """The episode of a candidate whose actions the sandbox could not load: one failed
    learned step saying why, so the candidate scores as failing (and a revision sees the
    reason) instead of ending the run."""
    initial = env.reset(task_id)
    names = sorted(cand.actions)
    step = Step(
        action=f"(loading {', '.join(names)})",
        observation=f"Error: {exc}",
        kind="learned",
        valid=False,
        state_before=initial,
        learned_call=names[0] if names else "",
        error_kind="python_exception",
        message=str(exc),
    )
    return Trajectory(env.task.id, env.goal, initial, [step], progress=env.progress)
