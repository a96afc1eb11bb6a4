"""The LearnAct learning loop as a LangGraph state machine.

::

    create_actions -> act (Send: candidate x training task) -> evaluate -> select
        -> detect_failure -> update_actions -> act ... (until no failure or rounds spent)
        -> publish (optional human approval) -> END

Nodes are small functions of the state; the work is done by plain functions in
``learning.py``, ``episode.py`` and ``scoring.py``. Run settings live in
:class:`LearnerContext` (``context_schema``), so LangGraph Studio can set them.
Evaluation branches write their trajectories through a reducer, so a run resumed from
its checkpoint does not redo finished episodes. The previous best candidate keeps its
recorded evaluation instead of being re-run.
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from learnact_langgraph.dry_run import runner_for
from learnact_langgraph.episode import Step, Trajectory
from learnact_langgraph.graphs.candidates import result_key, run_id_for, sample_k
from learnact_langgraph.graphs.durable import RUN_THREADS
from learnact_langgraph.graphs.evaluation import act, fan_out, timed
from learnact_langgraph.graphs.from_trajectories import revise_library, route_start
from learnact_langgraph.graphs.learner_state import (
    LearnerContext,
    LearnerInput,
    LearnerOutput,
    LearnerState,
    models_for,
    with_context,
)
from learnact_langgraph.graphs.publishing import finish
from learnact_langgraph.graphs.sessions import (
    Session,
    dry_run_sessions,
    make_env,
    open_session,
    reference_env,
    tasks_of,
)
from learnact_langgraph.learning import (
    Candidate,
    Dropped,
    create_candidate,
    revise_candidate,
)
from learnact_langgraph.models import Usage, model_id
from learnact_langgraph.models.tracing import trace_scope
from learnact_langgraph.sandbox import zygote_client
from learnact_langgraph.scoring import (
    Failure,
    analyze,
    find_failure,
    select_best,
)
from learnact_langgraph.usage_examples import merge_examples, usage_examples_from


def create_actions(state: LearnerState, runtime: Runtime[LearnerContext]) -> dict[str, Any]:
    """Sample K candidate action sets, each checked and repaired (paper step A)."""
    start = time.perf_counter()
    ctx = runtime.context
    learner, _ = models_for(ctx)
    usage = Usage()
    tasks = tasks_of(state, ctx)  # once per run: later nodes read them from the state
    task = tasks[0]
    with open_session(ctx, pooled=True) as session:
        start_state = session.env.reset(task)
        runner = runner_for(
            lambda: make_env(ctx),
            task,
            backend=ctx.sandbox_backend,
            sessions=dry_run_sessions(ctx),
        )

        def sample(k: int, part: Usage) -> Candidate | Dropped:
            with trace_scope(round=0, candidate=f"r0c{k}", task=task, seed=ctx.seed + k):
                return _create(k, part)

        def _create(k: int, part: Usage) -> Candidate | Dropped:
            return create_candidate(
                learner,
                session.env,
                candidate_id=f"r0c{k}",
                examples=session.examples,
                action_example=session.action_example,
                tool_example=session.tool_example,
                check=session.sandbox.check,
                seed=ctx.seed + k,
                max_attempts=ctx.max_attempts,
                usage=part,
                state=start_state,
                dry_run=runner,
            )

        kept, dropped = sample_k(ctx, sample, usage, "sample_actions")
        candidates = [c.to_dict() for c in kept]
    return {
        "run_id": run_id_for(state),
        "learnact_tasks": tasks,
        "round": 0,
        "started_at": state.get("started_at") or time.time(),
        "candidates": candidates,
        "usage": usage.to_dict(),
        "node_seconds": timed("create_actions", start),
        "log": [
            {
                "node": "create_actions",
                "sampled": ctx.k,
                "kept": len(candidates),
                "dropped": dropped,
                "model": model_id(learner),
            }
        ],
        "status": "created" if candidates else "no_candidates",
    }


def _trajectories(
    state: LearnerState, round_: int, cand_id: str, tasks: list[str]
) -> list[Trajectory]:
    results = state.get("results", {})
    return [
        Trajectory.from_dict(results[result_key(round_, cand_id, t)])
        for t in tasks
        if result_key(round_, cand_id, t) in results
    ]


def evaluate(state: LearnerState, runtime: Runtime[LearnerContext]) -> dict[str, Any]:
    """Score every candidate of this round from its training trajectories (paper step B)."""
    start = time.perf_counter()
    ctx = runtime.context
    tasks = tasks_of(state, ctx)
    round_ = state.get("round", 0)
    best = state.get("best")
    terms = ctx.score_terms or reference_env(ctx).defaults.score_terms
    scores = {}
    for cand in state.get("candidates", []):
        if best and cand["id"] == best["id"]:
            scores[cand["id"]] = best["stats"]
            continue
        stats = analyze(_trajectories(state, round_, cand["id"], tasks))
        scores[cand["id"]] = stats.to_dict(terms)
    return {"scores": scores, "node_seconds": timed("evaluate", start)}


def select(state: LearnerState, runtime: Runtime[LearnerContext]) -> dict[str, Any]:
    """Keep the highest-scoring candidate; ties go to the incumbent."""
    start = time.perf_counter()
    cands = state.get("candidates", [])
    scores = state.get("scores", {})
    idx = select_best([scores[c["id"]]["score"] for c in cands])
    chosen = dict(cands[idx])
    best = state.get("best")
    round_ = state.get("round", 0)
    if best and chosen["id"] == best["id"]:
        chosen = dict(best)
    else:
        trajs = _trajectories(state, round_, chosen["id"], tasks_of(state, runtime.context))
        seen = usage_examples_from(trajs)
        # Real calls from evaluation first; the dry run's examples for actions never used.
        chosen["usage_examples"] = merge_examples(seen, chosen.get("usage_examples", []))
        chosen["stats"] = scores[chosen["id"]]
        chosen["eval_round"] = round_
    return {
        "best": chosen,
        "node_seconds": timed("select", start),
        "log": [
            {
                "node": "select",
                "round": round_,
                "best": chosen["id"],
                "scores": {c["id"]: scores[c["id"]]["score"] for c in cands},
            }
        ],
    }


def detect_failure(state: LearnerState, runtime: Runtime[LearnerContext]) -> dict[str, Any]:
    """Find the first failed learned-action call in the best candidate's episodes."""
    best = state["best"] or {}
    trajs = _trajectories(
        state, best.get("eval_round", 0), best["id"], tasks_of(state, runtime.context)
    )
    failure = find_failure(trajs)
    return {
        "failure": None
        if failure is None
        else {
            "task_id": failure.task_id,
            "goal": failure.goal,
            "step_index": failure.step_index,
            "step": failure.step.to_dict(),
        }
    }


def failure_prefix(state: LearnerState, failure: Failure) -> list[Step]:
    """The steps of the failing episode before the failed call (to replay its state)."""
    best = state.get("best") or {}
    key = result_key(best.get("eval_round", 0), best.get("id", ""), failure.task_id)
    data = state.get("results", {}).get(key)
    if not data:
        return []
    return Trajectory.from_dict(data).steps[: failure.step_index]


def after_failure(state: LearnerState, runtime: Runtime[LearnerContext]) -> str:
    if state.get("failure") and state.get("round", 0) < runtime.context.rounds:
        return "update_actions"
    return "publish"


def update_actions(state: LearnerState, runtime: Runtime[LearnerContext]) -> dict[str, Any]:
    """Sample K Update/Plan revisions of the best set from its failure (paper step C)."""
    start = time.perf_counter()
    ctx = runtime.context
    learner, _ = models_for(ctx)
    usage = Usage()
    best = Candidate.from_dict(
        {
            k: v
            for k, v in state["best"].items()  # type: ignore[union-attr]
            if k in Candidate.__dataclass_fields__
        }
    )
    f = state["failure"] or {}
    failure = Failure(f["task_id"], f["goal"], f["step_index"], Step.from_dict(f["step"]))
    round_ = state.get("round", 0) + 1
    earlier = [
        s.action for s in failure_prefix(state, failure) if s.kind not in ("think", "unparsable")
    ]
    runner = runner_for(
        lambda: make_env(ctx),
        failure.task_id,
        existing=best.sources(),
        setup=earlier,
        backend=ctx.sandbox_backend,
        sessions=dry_run_sessions(ctx),
    )
    with open_session(ctx, pooled=True) as session:

        def sample(k: int, part: Usage) -> Candidate | Dropped:
            seed = ctx.seed + 1000 * round_ + k
            with trace_scope(
                round=round_, candidate=f"r{round_}c{k}", task=failure.task_id, seed=seed
            ):
                return _revise(k, part)

        def _revise(k: int, part: Usage) -> Candidate | Dropped:
            return revise_candidate(
                learner,
                session.env,
                best,
                failure,
                candidate_id=f"r{round_}c{k}",
                round_=round_,
                examples=session.examples,
                check=session.sandbox.check,
                seed=ctx.seed + 1000 * round_ + k,
                max_attempts=ctx.max_attempts,
                usage=part,
                dry_run=runner,
            )

        kept, dropped = sample_k(ctx, sample, usage, "sample_revisions")
        revised = [c.to_dict() for c in kept]
    return {
        "round": round_,
        "candidates": [state["best"], *revised],
        "usage": usage.to_dict(),
        "node_seconds": timed("update_actions", start),
        "log": [
            {
                "node": "update_actions",
                "round": round_,
                "kept": len(revised),
                "dropped": dropped,
                "kinds": [c["origin"] for c in revised],
            }
        ],
    }


def after_create(state: LearnerState, runtime: Runtime[LearnerContext]) -> list[Send] | str:
    if not state.get("candidates"):
        return "publish"
    return fan_out(state, runtime)


def build_learner_graph(
    context: LearnerContext | None = None, *, io_schemas: bool = False
) -> StateGraph[Any, Any, Any, Any]:
    """The uncompiled learner graph (compile it with your checkpointer and store).

    It takes :class:`LearnerInput` (what to learn from; Studio's input form). With
    ``context`` every node uses it instead of the run's context, so the graph can be a
    node of a graph with a context of its own. With ``io_schemas`` it returns
    :class:`LearnerOutput` only (the ``learnact_*`` keys), keeping its working state to
    itself.
    """
    zygote_client.prestart()  # sandbox workers come soon: start their template now
    schemas: dict[str, Any] = {"input_schema": LearnerInput}
    if io_schemas:
        schemas["output_schema"] = LearnerOutput
    g: StateGraph[Any, Any, Any, Any] = StateGraph(
        LearnerState, context_schema=LearnerContext, **schemas
    )

    def node(fn: Any) -> Any:
        return with_context(fn, context)

    g.add_node("create_actions", node(create_actions))
    g.add_node("revise_library", node(revise_library))
    g.add_node("act", node(act))
    g.add_node("evaluate", node(evaluate))
    g.add_node("select", node(select))
    g.add_node("detect_failure", node(detect_failure))
    g.add_node("update_actions", node(update_actions))
    g.add_node("publish", node(finish))
    g.add_conditional_edges(START, node(route_start), ["create_actions", "revise_library"])
    g.add_conditional_edges("create_actions", node(after_create), ["act", "evaluate", "publish"])
    g.add_edge("revise_library", "update_actions")
    g.add_edge("act", "evaluate")
    g.add_edge("evaluate", "select")
    g.add_edge("select", "detect_failure")
    g.add_conditional_edges("detect_failure", node(after_failure), ["update_actions", "publish"])
    g.add_conditional_edges("update_actions", node(fan_out), ["act", "evaluate"])
    g.add_edge("publish", END)
    return g


def learner_graph(
    checkpointer: Any = None, store: Any = None
) -> CompiledStateGraph[LearnerState, LearnerContext, LearnerState, LearnerState]:
    """The compiled learner graph (no checkpointer by default: servers supply one).

    The Studio entry: settings come from the run's context. It runs on up to
    :data:`~.durable.RUN_THREADS` threads, so that evaluation branches can each keep
    their episode's steps durable. To embed learning in your own graph, use
    :func:`~learnact_langgraph.graphs.create_learner`.
    """
    compiled = build_learner_graph().compile(
        checkpointer=checkpointer, store=store, name="learnact_learner"
    )
    return compiled.with_config(max_concurrency=RUN_THREADS)


__all__ = [
    "LearnerContext",
    "LearnerInput",
    "LearnerOutput",
    "LearnerState",
    "Session",
    "build_learner_graph",
    "learner_graph",
]
