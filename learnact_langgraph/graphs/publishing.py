"""Turning the learner's best candidate into a library release.

The whole set is published as one release, so agents reading the library see either
the previous set or the new one. Each action version records where it came from:
the run, round, candidate, the training task and failure that led to it, the models
and the candidate's scores.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from langgraph.runtime import Runtime

from learnact_langgraph.actions import Provenance
from learnact_langgraph.graphs.from_trajectories import LIBRARY_CANDIDATE
from learnact_langgraph.graphs.learner_state import LearnerContext, LearnerState
from learnact_langgraph.library_release import release_of_run
from learnact_langgraph.models import model_id


def _candidate_index(candidate_id: str) -> int | None:
    m = re.search(r"c(\d+)$", candidate_id)
    return int(m.group(1)) if m else None


def publish_release(
    ctx: Any, best: dict[str, Any], state: dict[str, Any], store: Any = None
) -> dict[str, Any]:
    """Write ``best`` to the library and describe the release.

    The library is ``ctx.library`` when given, else one on the graph's store (the
    store a LangGraph server supplies) at :func:`default_prefix` of the env
    (``learnact/<env>``, where ``learnact library`` looks too), else none.
    Publishing is idempotent per run: the release carries the run's id, and a resumed
    run whose release was written before it stopped finds that release instead of
    writing a second one.
    """
    from learnact_langgraph.graphs.learner_state import models_for

    learner, agent = models_for(ctx)
    models = {"learner": model_id(learner), "agent": model_id(agent)}
    run_id = str(state.get("run_id") or uuid.uuid4().hex)
    revision = best.get("revision") or {}
    stats = {k: float(v) for k, v in (best.get("stats") or {}).items()}
    provenance = Provenance(
        run_id=run_id,
        round=int(best.get("round", 0)),
        candidate=_candidate_index(best["id"]),
        task_id=revision.get("task"),
        failure=(
            f"{revision.get('error_kind')}: {revision.get('reason', '')}".strip()
            if revision
            else None
        ),
        models=models,
        extra={"origin": best.get("origin", "create"), "seed": best.get("seed")},
    )
    actions = {
        name: {**a, "notes": list(a.get("notes", ()))} for name, a in best["actions"].items()
    }
    generation = None
    library = getattr(ctx, "library", None)
    if library is None and store is not None:
        from learnact_langgraph.library import ActionLibrary, default_prefix

        library = ActionLibrary(store, prefix=default_prefix(str(ctx.env)))
    if library is not None:
        if not library.base_actions:
            from learnact_langgraph.graphs.sessions import reference_env

            library.set_base_actions(reference_env(ctx))
        done = release_of_run(library, run_id)
        if done is None:
            existing = set(library.names())
            with library.release(run_id=run_id, message=f"learnact run {run_id}") as rel:
                for name, a in actions.items():
                    fields = {
                        "description": a.get("description", ""),
                        "notes": a["notes"],
                        "provenance": provenance,
                        "scores": stats,
                    }
                    if name in existing:
                        rel.revise(name, source=a["source"], **fields)
                    else:
                        rel.add(a["source"], name=name, **fields)
            done = release_of_run(library, run_id)
        generation = done.generation if done is not None else library.generation
    return {
        "run_id": run_id,
        "candidate": best["id"],
        "round": best.get("round", 0),
        "stats": stats,
        "actions": actions,
        "usage_examples": list(best.get("usage_examples", [])),
        "models": models,
        "library_generation": generation,
        "library_prefix": list(library.prefix) if library is not None else None,
        "usage": state.get("usage", {}),
        "node_seconds": state.get("node_seconds", {}),
        "run_seconds": round(time.time() - float(state.get("started_at") or time.time()), 3),
    }


def every_call_failed(best: dict[str, Any]) -> str:
    """Why ``best`` must not be published unattended, or ``""``.

    A set whose every learned call failed in training (a ``NameError`` in each, say)
    would only teach agents to fail; a person may still approve it.
    """
    stats = best.get("stats") or {}
    calls, failed = int(stats.get("learned_calls", 0)), int(stats.get("failed_calls", 0))
    if calls and failed >= calls:
        return (
            f"every one of its {calls} learned-action call(s) failed on the training tasks; "
            "it is published only with a person's approval (require_approval=True)"
        )
    return ""


def apply_edits(best: dict[str, Any], edits: dict[str, str]) -> dict[str, Any]:
    """``best`` with the person's edited sources (already through the gate)."""
    from learnact_langgraph.learning import signature_of

    actions = dict(best["actions"])
    for name, source in edits.items():
        old = actions.get(name, {"description": "", "notes": ()})
        actions[name] = {
            **old,
            "name": name,
            "source": source,
            "signature": signature_of(source, name),
        }
    return {**best, "actions": actions, "edited_by_human": sorted(edits)}


def edit_problems(edits: Any, ctx: Any) -> list[str]:
    """Why a person's edits can't be published: the same gate as learned code."""
    from learnact_langgraph.graphs.sessions import reference_env
    from learnact_langgraph.sandbox.gate import check_action

    if not edits:
        return []
    if not isinstance(edits, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in edits.items()
    ):
        return ["edit must map action names to their new source code"]
    base = [a.name for a in reference_env(ctx).base_actions()]
    return [
        p for name, source in edits.items() for p in check_action(name, source, base_actions=base)
    ]


def publish(state: LearnerState, runtime: Runtime[LearnerContext]) -> dict[str, Any]:
    """Publish the best set as one library release (after approval when asked)."""
    best = state.get("best")
    if not best:
        return {"release": None, "status": "no_candidates"}
    ctx = runtime.context
    failing = every_call_failed(best)
    if failing and not ctx.require_approval:
        return {
            "release": None,
            "status": "withheld",
            "log": [{"node": "publish", "withheld": best["id"], "reason": failing}],
        }
    if ctx.require_approval:
        # LangChain's HITL format; edits pass the gate and a dry run (docs/approval.md).
        # Imported here: LangChain's agents package costs 0.1 s to import, and only a
        # run that asks for approval needs it.
        from learnact_langgraph.graphs.approval import review

        approved, status = review(best, ctx, warning=failing)
        if approved is None:
            return {"release": None, "status": status}
        best = approved
    release = publish_release(ctx, best, dict(state), runtime.store)
    return {"release": release, "status": "published"}


def finish(state: LearnerState, runtime: Runtime[LearnerContext]) -> dict[str, Any]:
    """Publish (see :func:`publish`) and hand the outcome to a parent graph.

    A run that started from the library's own actions and found nothing better
    publishes nothing (status ``unchanged``).
    """
    if (state.get("best") or {}).get("id") == LIBRARY_CANDIDATE:
        out: dict[str, Any] = {"release": None, "status": "unchanged"}
    else:
        out = publish(state, runtime)
    return {**out, "learnact_status": out["status"], "learnact_release": out.get("release")}
