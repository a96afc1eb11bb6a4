"""The paper's baselines as LangGraph graphs: Reflexion training and Code-as-Policy.

Act and ReAct are the acting agent itself (``graphs/agent.py``, ``episode.run_episode``
with ``react`` off or on). The two baselines that add something are here:

* **Reflexion** (Act+Reflexion, ReAct+Reflexion): the agent tries the training tasks
  with a short step limit; while some stay unsolved, the reflection model (the
  learner model when one is set, as in the paper) writes a plan for the first unsolved
  one, shown one worked example of the domain, and the tasks are tried again with the
  latest ``max_reflections`` plans (2, as in the paper) in the prompt. At test time
  those plans are injected the same way::

      attempt -> (all solved or rounds spent) -> END
              -> reflect -> attempt ...

* **Code-as-Policy**: one model call writes a whole program for the task, which runs
  once in the sandbox (a failure keeps or undoes its effects as ``on_error`` says).
  No learning::

      write_program -> run_program -> END

Both reuse the agent's environment sessions, sandbox and prompt prefix, so the only
difference from LearnAct is the method, not the plumbing.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from langchain_core.runnables import Runnable
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from learnact_langgraph import prompts
from learnact_langgraph.envs.defaults import pick
from learnact_langgraph.episode import (
    AgentSettings,
    Step,
    Trajectory,
    environment_prefix,
    prompt_steps,
    run_episode,
)
from learnact_langgraph.graphs.learner_state import merge_usage
from learnact_langgraph.graphs.sessions import examples_for, make_env, open_session, training_tasks
from learnact_langgraph.models import ChatModel, Usage, invoke_text, resolve_model
from learnact_langgraph.parsing import extract_code_blocks
from learnact_langgraph.sandbox import Limits, Sandbox
from learnact_langgraph.sandbox.types import ON_ERROR_CHOICES, OnError
from learnact_langgraph.validation import require_at_least, require_choice


@dataclass
class BaselineContext:
    """Settings of a baseline run (LangGraph ``context_schema``).

    ``env``/``tasks``/``data_dir`` name a built-in environment; ``env_factory`` takes
    any :class:`~learnact_langgraph.envs.Environment` instead. ``model`` is an
    ``init_chat_model`` string or a chat model object. Step limits left at ``None`` take
    the environment's defaults.
    """

    env: str = "gripper"
    tasks: str = "benchmark"
    data_dir: str | None = None
    model: Any = None
    reflection_model: Any = None
    react: bool = False
    rounds: int = 2
    max_reflections: int = 2
    train_steps: int | None = None
    memory_steps: int | None = None
    train_task_ids: list[str] | None = None
    max_program_calls: int = 200
    sandbox_backend: str = "subprocess"
    on_error: OnError = "restore"
    env_factory: Callable[[], Any] | None = None

    def __post_init__(self) -> None:
        require_choice("BaselineContext", "on_error", self.on_error, ON_ERROR_CHOICES)
        require_at_least("BaselineContext", "max_reflections", self.max_reflections, 1)


def _model(ctx: BaselineContext) -> ChatModel:
    if isinstance(ctx.model, Runnable):
        return ctx.model
    return resolve_model(ctx.model, temperature=0)


def _reflection_model(ctx: BaselineContext) -> ChatModel:
    """Who writes the reflections: the learner model when one is set (as in the paper,
    where the stronger learner writes them), else the acting model."""
    if ctx.reflection_model is None:
        return _model(ctx)
    if isinstance(ctx.reflection_model, Runnable):
        return ctx.reflection_model
    return resolve_model(ctx.reflection_model, role="learner", temperature=0)


# ----- Reflexion ---------------------------------------------------------------------------
class ReflexionState(TypedDict, total=False):
    round: int
    reflections: list[str]
    trajectories: list[dict[str, Any]]
    trials: Annotated[list[dict[str, Any]], operator.add]
    usage: Annotated[dict[str, Any], merge_usage]
    status: str


def attempt(state: ReflexionState, runtime: Runtime[BaselineContext]) -> dict[str, Any]:
    """Try every training task once with the plans written so far."""
    ctx = runtime.context
    model = _model(ctx)
    usage = Usage()
    reflections = list(state.get("reflections", []))
    trajs: list[Trajectory] = []
    with open_session(ctx) as session:
        train_steps = pick(ctx.train_steps, session.env.defaults.train_steps)
        settings = AgentSettings(train_steps, ctx.memory_steps, ctx.react)
        for task_id in training_tasks(ctx):
            trajs.append(
                run_episode(
                    session.env,
                    session.sandbox,
                    model,
                    task_id,
                    settings=settings,
                    examples=session.examples,
                    reflections=reflections,
                    usage=usage,
                    node="attempt",
                )
            )
    round_ = state.get("round", 0)
    return {
        "round": round_,
        "trajectories": [t.to_dict() for t in trajs],
        "usage": usage.to_dict(),
        "trials": [
            {
                "round": round_,
                "tasks": [t.task_id for t in trajs],
                "success": [t.success for t in trajs],
                "progress": [t.progress for t in trajs],
                "reflections": len(reflections),
            }
        ],
    }


def after_attempt(state: ReflexionState, runtime: Runtime[BaselineContext]) -> str:
    solved = all(t["success"] for t in state.get("trajectories", []))
    if solved or state.get("round", 0) >= runtime.context.rounds:
        return END
    return "reflect"


def reflect(state: ReflexionState, runtime: Runtime[BaselineContext]) -> dict[str, Any]:
    """Ask for a plan for the first unsolved training task and add it to the list."""
    ctx = runtime.context
    failed = next(
        Trajectory.from_dict(t) for t in state.get("trajectories", []) if not t["success"]
    )
    env = make_env(ctx)
    prompt = prompts.reflect_prompt(
        prefix=environment_prefix(env, examples_for(env)),
        example=env.reflection_example(),
        goal=failed.goal,
        history=prompts.history_lines(failed.initial_observation, prompt_steps(failed.steps)),
    )
    usage = Usage()
    text = invoke_text(_reflection_model(ctx), prompt, usage=usage, node="reflect")
    text = prompts.strip_plan_label(text)
    kept = [*state.get("reflections", []), text][-ctx.max_reflections :]
    return {
        "reflections": kept,
        "round": state.get("round", 0) + 1,
        "usage": usage.to_dict(),
    }


def build_reflexion_graph() -> StateGraph[Any, Any, Any, Any]:
    """The uncompiled Reflexion training graph; the result's ``reflections`` go to test."""
    g: StateGraph[Any, Any, Any, Any] = StateGraph(ReflexionState, context_schema=BaselineContext)
    g.add_node("attempt", attempt)
    g.add_node("reflect", reflect)
    g.add_edge(START, "attempt")
    g.add_conditional_edges("attempt", after_attempt, ["reflect", END])
    g.add_edge("reflect", "attempt")
    return g


def reflexion_graph(checkpointer: Any = None) -> Any:
    return build_reflexion_graph().compile(checkpointer=checkpointer, name="reflexion")


# ----- Code-as-Policy ----------------------------------------------------------------------
class CodeAsPolicyState(TypedDict, total=False):
    task: str
    program: str
    trajectory: dict[str, Any]
    error: str
    usage: Annotated[dict[str, Any], merge_usage]


def write_program(state: CodeAsPolicyState, runtime: Runtime[BaselineContext]) -> dict[str, Any]:
    """One model call: the whole program for the task."""
    ctx = runtime.context
    env = make_env(ctx)
    observation = env.reset(state["task"])
    prompt = prompts.CODE_AS_POLICY.format(
        prefix=environment_prefix(env, examples_for(env)),
        goal=env.goal,
        observation=observation,
    )
    usage = Usage()
    reply = invoke_text(_model(ctx), prompt, usage=usage, node="write_program")
    blocks = extract_code_blocks(reply)
    return {"program": blocks[0] if blocks else reply.strip(), "usage": usage.to_dict()}


def run_program(state: CodeAsPolicyState, runtime: Runtime[BaselineContext]) -> dict[str, Any]:
    """Run the program once; each base action it takes is one step of the episode."""
    ctx = runtime.context
    start = time.perf_counter()
    env = make_env(ctx)
    initial = env.reset(state["task"])
    traj = Trajectory(env.task.id, env.goal, initial, progress=env.progress)
    limits = Limits(base_calls=ctx.max_program_calls)
    with Sandbox(env, backend=ctx.sandbox_backend, limits=limits, on_error=ctx.on_error) as sandbox:
        result = sandbox.run(state.get("program", ""))
    before = initial
    for sub in result.substeps:
        call = f"{sub.name}({', '.join(repr(a) for a in sub.args)})"
        traj.steps.append(
            Step(call, sub.observation, "base", sub.valid, before, error_kind=sub.error)
        )
        if sub.valid:
            before = sub.observation
    traj.success = env.done
    traj.progress = env.progress
    traj.seconds = time.perf_counter() - start
    error = "" if result.ok else f"{result.error_kind}: {result.message}"
    return {"trajectory": traj.to_dict(), "error": error}


def build_code_as_policy_graph() -> StateGraph[Any, Any, Any, Any]:
    """The uncompiled Code-as-Policy graph: write a program, run it once."""
    g: StateGraph[Any, Any, Any, Any] = StateGraph(
        CodeAsPolicyState, context_schema=BaselineContext
    )
    g.add_node("write_program", write_program)
    g.add_node("run_program", run_program)
    g.add_edge(START, "write_program")
    g.add_edge("write_program", "run_program")
    g.add_edge("run_program", END)
    return g


def code_as_policy_graph(checkpointer: Any = None) -> Any:
    return build_code_as_policy_graph().compile(checkpointer=checkpointer, name="code_as_policy")


__all__ = [
    "BaselineContext",
    "build_code_as_policy_graph",
    "build_reflexion_graph",
    "code_as_policy_graph",
    "reflexion_graph",
]
