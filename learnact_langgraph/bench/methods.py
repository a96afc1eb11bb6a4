"""What each bench method does before testing (prepare) and on one test task (episode).

``prepare`` returns a JSON-able artifact (a LearnAct release, Reflexion plans) that the
runner stores so a resumed bench does not learn again; ``episode`` runs one test task
with it and returns the trajectory plus the LLM usage of that episode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from learnact_langgraph.episode import AgentSettings, SimpleAction, Trajectory, run_episode
from learnact_langgraph.executors import ExecutorSettings
from learnact_langgraph.graphs.resumable import invoke_resumable
from learnact_langgraph.graphs.session_pool import POOL, Held
from learnact_langgraph.graphs.sessions import examples_for
from learnact_langgraph.models import ChatModel, Usage, model_id
from learnact_langgraph.sandbox.types import OnError

#: Bench methods in the order of the paper's tables.
METHODS = ("act", "react", "act_reflexion", "react_reflexion", "code_as_policy", "learnact")
LABELS = {
    "act": "Act",
    "react": "ReAct",
    "act_reflexion": "Act+Reflexion",
    "react_reflexion": "ReAct+Reflexion",
    "code_as_policy": "Code-as-Policy",
    "learnact": "LearnAct",
}
PREPARED = ("act_reflexion", "react_reflexion", "learnact")


@dataclass(frozen=True)
class MethodSettings:
    """Everything a method needs besides the task: models, limits, data."""

    domain: str
    model: ChatModel
    learner_model: ChatModel
    tasks: str = "benchmark"
    data_dir: str | None = None
    max_steps: int | None = None
    memory_steps: int | None = None
    train_steps: int | None = None
    k: int = 4
    rounds: int = 2
    seed: int = 0
    on_error: OnError = "keep"
    learner_temperature: float = 0.7
    #: A checkpointer for learning runs (the bench's SQLite file), and the settings
    #: hash that names their threads; ``None`` runs them without checkpoints.
    checkpointer: Any = None
    run_key: str = ""
    #: Where learning runs play their evaluation episodes (``None``: here).
    executor: ExecutorSettings | None = None

    def make_env(self) -> Any:
        from learnact_langgraph.envs.registry import load_env

        return load_env(self.domain, tasks=self.tasks, data_dir=self.data_dir)


def _mean(values: list[Any]) -> float:
    return fmean(float(v) for v in values) if values else 0.0


def _learnact_rounds(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Training success of the selected action set after each learning round."""
    results = result.get("results", {})
    out = []
    for entry in (e for e in result.get("log", []) if e.get("node") == "select"):
        best = entry["best"]
        trajs = [v for k, v in results.items() if k.split("|")[1] == best]
        out.append(
            {
                "round": entry["round"],
                "success": _mean([t["success"] for t in trajs]),
                "progress": _mean([t["progress"] for t in trajs]),
                "score": entry["scores"].get(best),
            }
        )
    return out


def _executor_fields(settings: ExecutorSettings | None) -> dict[str, Any]:
    if settings is None or settings.kind == "local":
        return {}
    return {
        "executor": settings.kind,
        "ray_address": settings.ray_address,
        "ray_workers": settings.workers,
    }


def _pool_key(s: MethodSettings) -> Any:
    """The session pool's key for the method's environment: its settings, and the
    function that makes it (held, so its id is not reused while sessions are idle)."""
    make = type(s).make_env
    return ("bench", s.domain, s.tasks, str(s.data_dir), id(make), Held(make))


def thread_of(method: str, s: MethodSettings, repeat: int) -> str:
    """The checkpoint thread of a learning run: the same bench settings give the same."""
    return f"{method}/{s.domain}/{repeat}/{s.run_key}"


def _learn(builder: Any, s: MethodSettings, method: str, repeat: int, ctx: Any) -> dict[str, Any]:
    """Run a learning graph, resuming its checkpointed run when there is one."""
    if s.checkpointer is None:
        return dict(builder().compile().invoke({}, context=ctx))
    return invoke_resumable(builder(), s.checkpointer, thread_of(method, s, repeat), ctx)


def prepare(method: str, s: MethodSettings, repeat: int) -> dict[str, Any]:
    """Learn what the method uses at test time (nothing for Act, ReAct, Code-as-Policy)."""
    start = time.perf_counter()
    seed = s.seed + 1000 * repeat
    if method == "learnact":
        from learnact_langgraph.graphs.learner import LearnerContext, build_learner_graph

        ctx = LearnerContext(
            env=s.domain,
            tasks=s.tasks,  # type: ignore[arg-type]
            data_dir=s.data_dir,
            learner_model=s.learner_model,
            agent_model=s.model,
            k=s.k,
            rounds=s.rounds,
            train_steps=s.train_steps,
            memory_steps=s.memory_steps,
            seed=seed,
            on_error=s.on_error,
            temperature=s.learner_temperature,
            **_executor_fields(s.executor),
        )
        result = _learn(build_learner_graph, s, method, repeat, ctx)
        release = result.get("release") or {}
        return {
            "status": result.get("status"),
            "actions": release.get("actions", {}),
            "usage_examples": release.get("usage_examples", []),
            "stats": release.get("stats", {}),
            "rounds": _learnact_rounds(result),
            "usage": result.get("usage", {}),
            "seconds": time.perf_counter() - start,
        }
    if method in ("act_reflexion", "react_reflexion"):
        from learnact_langgraph.graphs.baselines import BaselineContext, build_reflexion_graph

        bctx = BaselineContext(
            env=s.domain,
            tasks=s.tasks,
            data_dir=s.data_dir,
            model=s.model,
            reflection_model=s.learner_model,
            react=method.startswith("react"),
            rounds=s.rounds,
            train_steps=s.train_steps,
            memory_steps=s.memory_steps,
            on_error=s.on_error,
        )
        state = _learn(build_reflexion_graph, s, method, repeat, bctx)
        return {
            "status": "done",
            "reflections": state.get("reflections", []),
            "reflections_by": model_id(s.learner_model),
            "rounds": [
                {
                    "round": t["round"],
                    "success": _mean(t["success"]),
                    "progress": _mean(t["progress"]),
                }
                for t in state.get("trials", [])
            ],
            "usage": state.get("usage", {}),
            "seconds": time.perf_counter() - start,
        }
    return {"status": "none", "usage": {}, "seconds": 0.0}


def episode(
    method: str, s: MethodSettings, task_id: str, artifact: dict[str, Any] | None
) -> tuple[Trajectory, Usage, dict[str, Any]]:
    """Run ``method`` on one test task; returns trajectory, usage and method extras."""
    usage = Usage()
    if method == "code_as_policy":
        from learnact_langgraph.graphs.baselines import BaselineContext, code_as_policy_graph

        ctx = BaselineContext(
            env=s.domain, tasks=s.tasks, data_dir=s.data_dir, model=s.model, on_error=s.on_error
        )
        state = code_as_policy_graph().invoke({"task": task_id}, context=ctx)
        usage.merge(state.get("usage", {}))
        traj = Trajectory.from_dict(state["trajectory"])
        return traj, usage, {"program": state.get("program", ""), "error": state.get("error", "")}
    art = artifact or {}
    actions = [
        SimpleAction(
            a["name"],
            a["source"],
            a["signature"],
            a.get("description", ""),
            tuple(a.get("notes", ())),
        )
        for a in art.get("actions", {}).values()
    ]
    settings = AgentSettings(s.max_steps, s.memory_steps, react=method.startswith("react"))
    sources = {a.name: a.source for a in actions}
    # A warm environment and sandbox from this process's pool (a Ray actor's, when the
    # bench runs there): reset to the task and holding exactly this method's actions.
    with POOL.session(_pool_key(s), s.make_env, on_error=s.on_error, sources=sources) as (
        env,
        sandbox,
    ):
        traj = run_episode(
            env,
            sandbox,
            s.model,
            task_id,
            actions=actions,
            settings=settings,
            examples=examples_for(env),
            usage_examples=art.get("usage_examples", []),
            reflections=art.get("reflections", []),
            usage=usage,
            node=method,
        )
    return traj, usage, {"learned_actions": sorted(a.name for a in actions)}
