"""The learner's evaluation branches: one ``act`` per candidate and training task.

``fan_out`` sends a branch for every (candidate, task) pair not evaluated yet in this
round; ``act`` plays the episode in a sandbox with the text agent, or with the
caller's tool-calling agent (``LearnerContext.tool_agent``), and records its
trajectory under the pair's result key. With ``LearnerContext.executor="ray"`` the
episode itself runs on a Ray actor (:mod:`learnact_langgraph.executors`); the branch
waits for it and records it the same way.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from langchain_core.runnables import RunnableLambda
from langgraph.runtime import Runtime
from langgraph.types import Send

from learnact_langgraph.envs.defaults import pick
from learnact_langgraph.episode import AgentSettings, run_episode
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.executors import shared_executor
from learnact_langgraph.executors.portable import PortableModel, portable
from learnact_langgraph.graphs.candidates import load_failure, result_key
from learnact_langgraph.graphs.durable import Durable, steps_can_be_durable
from learnact_langgraph.graphs.learner_state import LearnerContext, LearnerState, models_for
from learnact_langgraph.graphs.sessions import make_env, open_session, tasks_of
from learnact_langgraph.learning import Candidate
from learnact_langgraph.models import Usage
from learnact_langgraph.models.tracing import trace_scope
from learnact_langgraph.sandbox.types import LearnedCodeError
from learnact_langgraph.tool_episode import run_tool_episode

__all__ = ["act", "fan_out", "play", "play_remote", "remote_context", "timed"]


def timed(node: str, start: float) -> dict[str, float]:
    """A node's seconds since ``start``, for the state's ``node_seconds`` (summed)."""
    return {node: time.perf_counter() - start}


def fan_out(state: LearnerState, runtime: Runtime[LearnerContext]) -> list[Send] | str:
    """One ``act`` branch per (candidate, training task) not evaluated yet."""
    sends = []
    round_ = state.get("round", 0)
    done = state.get("results", {})
    for cand in state.get("candidates", []):
        if cand["id"] == (state.get("best") or {}).get("id"):
            continue
        for task_id in tasks_of(state, runtime.context):
            if result_key(round_, cand["id"], task_id) not in done:
                sends.append(Send("act", {"candidate": cand, "task_id": task_id, "round": round_}))
    for send in sends:
        send.arg["branches"] = len(sends)
    return sends or "evaluate"


def act(payload: dict[str, Any], runtime: Runtime[LearnerContext]) -> dict[str, Any]:
    """Run the acting agent with one candidate on one training task (``train_steps``).

    In a trace the episode is a run named after its candidate and task, and each model
    call in it carries the round, candidate and task.
    """
    cand_id, task_id = payload["candidate"]["id"], payload["task_id"]
    episode: RunnableLambda[dict[str, Any], dict[str, Any]] = RunnableLambda(
        lambda p: _play(p, runtime), name=f"learnact.episode[{cand_id}|{task_id}]"
    )
    with trace_scope(round=payload["round"], candidate=cand_id, task=task_id):
        out: dict[str, Any] = episode.invoke(payload)
    return out


def _play(payload: dict[str, Any], runtime: Runtime[LearnerContext]) -> dict[str, Any]:
    """The episode, here or on the run's executor (``LearnerContext.executor``)."""
    ctx = runtime.context
    if ctx.executor == "local":
        return play(ctx, payload, steps_can_be_durable(int(payload.get("branches", 1))))
    executor = shared_executor(ctx.executor_settings())
    out: dict[str, Any] = executor.run(play_remote, (remote_context(ctx), payload))
    return out


def remote_context(ctx: LearnerContext) -> LearnerContext:
    """``ctx`` as it travels to another process: models portable, no library (episodes
    never publish), and what cannot be pickled refused with a sentence."""
    import cloudpickle

    for name in ("env_factory", "tool_agent"):
        value = getattr(ctx, name)
        if value is None:
            continue
        try:
            cloudpickle.dumps(value)
        except Exception as exc:  # whatever pickling raised, the answer is the same
            raise LearnActError(
                f"LearnerContext.{name} cannot be sent to Ray workers ({type(exc).__name__}: "
                f"{exc}); use a module-level function or the local executor."
            ) from None
    return replace(
        ctx,
        learner_model=portable(ctx.learner_model, "learner"),
        agent_model=portable(ctx.agent_model, "agent"),
        library=None,
    )


def play_remote(job: tuple[LearnerContext, dict[str, Any]]) -> dict[str, Any]:
    """An evaluation episode in a worker process (steps are not durable one by one there:
    the branch that waits for it keeps the whole episode)."""
    ctx, payload = job
    ctx = replace(
        ctx,
        learner_model=_built(ctx.learner_model),
        agent_model=_built(ctx.agent_model),
        executor="local",
        ray_address=None,
    )
    return play(ctx, payload, durable_steps=False)


def _built(model: Any) -> Any:
    return model.build() if isinstance(model, PortableModel) else model


def play(ctx: LearnerContext, payload: dict[str, Any], durable_steps: bool) -> dict[str, Any]:
    """Play one candidate on one training task; the branch's state update."""
    start = time.perf_counter()
    _, agent = models_for(ctx)
    cand = Candidate.from_dict(payload["candidate"])
    usage = Usage()
    try:
        with open_session(ctx, sources=cand.sources(), pooled=True) as session:
            steps = pick(ctx.train_steps, session.env.defaults.train_steps)
            if ctx.tool_agent is not None:
                # Evaluated with the user's own tool-calling agent.
                traj = run_tool_episode(
                    session.env,
                    session.sandbox,
                    ctx.tool_agent,
                    payload["task_id"],
                    actions=list(cand.actions.values()),
                    max_steps=steps,
                    usage=usage,
                )
            else:
                traj = run_episode(
                    session.env,
                    session.sandbox,
                    agent,
                    payload["task_id"],
                    actions=list(cand.actions.values()),
                    settings=AgentSettings(steps, ctx.memory_steps),
                    examples=session.examples,
                    usage_examples=cand.usage_examples,
                    usage=usage,
                    node="act",
                    run_unit=Durable("agent_step", usage).call if durable_steps else None,
                )
    except LearnedCodeError as exc:
        traj = load_failure(make_env(ctx), payload["task_id"], cand, exc)
    key = result_key(payload["round"], cand.id, payload["task_id"])
    return {
        "results": {key: traj.to_dict()},
        "usage": usage.to_dict(),
        "node_seconds": timed("act", start),
    }
