"""Learning that starts from an agent's own trajectories.

When the caller hands the learner episodes of its own agent
(``learnact_trajectories``) and one of them has a failed call of a released
action, the loop starts where the paper's step C does: the library's current
actions are the incumbent, scored on those episodes, and the first failure is sent
to the Update/Plan revision. Without such a failure the loop writes new actions as
usual, on the tasks of those episodes.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from learnact_langgraph.episode import SimpleAction, Trajectory
from learnact_langgraph.graphs.candidates import result_key, run_id_for
from learnact_langgraph.graphs.learner_state import LearnerContext, LearnerState
from learnact_langgraph.graphs.sessions import reference_env, tasks_of
from learnact_langgraph.learning import Candidate
from learnact_langgraph.scoring import analyze, find_failure

#: The candidate id of the library's current actions when a run starts from them.
LIBRARY_CANDIDATE = "library"


def library_for(ctx: Any, store: Any) -> Any:
    """The library a run reads and publishes to: ``ctx.library``, else the graph's store
    at ``learnact/<env>`` (the one a LangGraph server supplies), else ``None``."""
    library = getattr(ctx, "library", None)
    if library is None and store is not None:
        from learnact_langgraph.library import ActionLibrary, default_prefix

        library = ActionLibrary(store, prefix=default_prefix(str(ctx.env)))
    return library


def user_trajectories(state: LearnerState) -> list[Trajectory]:
    return [Trajectory.from_dict(t) for t in state.get("learnact_trajectories") or ()]


def route_start(state: LearnerState, runtime: Runtime[LearnerContext]) -> str:
    """Revise the library from a failure in the given trajectories, else create."""
    failure = find_failure(user_trajectories(state))
    if failure is None or failure.step.learned_call is None:
        return "create_actions"
    library = library_for(runtime.context, runtime.store)
    if library is None or failure.step.learned_call not in library.names():
        return "create_actions"
    return "revise_library"


def revise_library(state: LearnerState, runtime: Runtime[LearnerContext]) -> dict[str, Any]:
    """The library's actions as the incumbent, scored on the given trajectories."""
    ctx = runtime.context
    library = library_for(ctx, runtime.store)
    trajs = user_trajectories(state)
    failure = find_failure(trajs)
    assert failure is not None and library is not None  # route_start checked both
    actions = {
        a.name: SimpleAction(a.name, a.source, a.signature, a.description, tuple(a.notes))
        for a in library.actions()
    }
    tasks = tasks_of(state, ctx)
    kept = {t.task_id: t for t in trajs if t.task_id in tasks}
    kept[failure.task_id] = next(t for t in trajs if t.task_id == failure.task_id)
    terms = ctx.score_terms or reference_env(ctx).defaults.score_terms
    best = Candidate(LIBRARY_CANDIDATE, actions, origin="library").to_dict()
    best.update(stats=analyze(list(kept.values())).to_dict(terms), eval_round=0)
    return {
        "run_id": run_id_for(state),
        "learnact_tasks": tasks,
        "round": 0,
        "started_at": state.get("started_at") or time.time(),
        "candidates": [best],
        "best": best,
        "results": {result_key(0, LIBRARY_CANDIDATE, t): tr.to_dict() for t, tr in kept.items()},
        "failure": {
            "task_id": failure.task_id,
            "goal": failure.goal,
            "step_index": failure.step_index,
            "step": failure.step.to_dict(),
        },
        "status": "revising",
        "log": [
            {
                "node": "revise_library",
                "actions": sorted(actions),
                "failed_call": failure.step.action,
                "task": failure.task_id,
            }
        ],
    }
