"""The acting agent as a LangGraph graph (Act and ReAct variants).

::

    start -> decide -> execute -> decide ... -> END (goal reached or step limit)

``decide`` asks the model for one line of Python; ``execute`` runs it in the sandbox
against the live environment. The environment session is kept per run in this
process; a run resumed elsewhere rebuilds it by replaying its recorded steps, so the
graph state holds only plain data.
"""

from __future__ import annotations

import functools
import operator
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from learnact_langgraph import prompts
from learnact_langgraph.envs.defaults import pick
from learnact_langgraph.episode import (
    AgentSettings,
    SimpleAction,
    Step,
    Trajectory,
    build_agent_prompt,
    execute_line,
)
from learnact_langgraph.errors import GraphInputError
from learnact_langgraph.graphs.sessions import Session, open_session
from learnact_langgraph.models import Usage, invoke_text, resolve_model
from learnact_langgraph.sandbox.types import OnError


class AgentState(TypedDict, total=False):
    task: str
    session_id: str
    goal: str
    initial_observation: str
    steps: Annotated[list[dict[str, Any]], operator.add]
    pending: str
    done: bool
    success: bool
    progress: float
    usage: dict[str, Any]
    #: The learned actions this run offers (from the context, else the store's newest
    #: release), fixed at its start so a resumed run rebuilds the same session.
    actions: list[dict[str, Any]]


@dataclass
class AgentContext:
    """Settings of an agent run. ``actions`` are learned actions (dicts or objects with
    ``name``, ``source``, ``signature``, ``description``, ``notes``); ``on_error`` says
    whether a failed call's sub-steps are undone (``"restore"``) or kept (``"keep"``).
    Step limits left at ``None`` take the environment's defaults. With no ``actions``,
    a run on a LangGraph server uses the newest release in the server's store (the
    library the learner graph publishes to, ``learnact/<env>``)."""

    env: str = "gripper"
    tasks: str = "benchmark"
    data_dir: str | None = None
    model: Any = None
    react: bool = False
    max_steps: int | None = None
    memory_steps: int | None = None
    actions: list[Any] = field(default_factory=list)
    reflections: list[str] = field(default_factory=list)
    sandbox_backend: str = "subprocess"
    on_error: OnError = "restore"
    env_factory: Any = None


def _views(actions: Sequence[Any]) -> list[SimpleAction]:
    out = []
    for a in actions:
        data = a if isinstance(a, dict) else {k: getattr(a, k, None) for k in _FIELDS}
        out.append(
            SimpleAction(
                str(data["name"]),
                str(data["source"]),
                str(data["signature"]),
                str(data.get("description") or ""),
                tuple(data.get("notes") or ()),
            )
        )
    return out


def _actions(state: AgentState, ctx: AgentContext) -> list[SimpleAction]:
    return _views(state["actions"] if "actions" in state else ctx.actions)


def _released(store: Any, ctx: AgentContext) -> list[dict[str, Any]]:
    """The newest release in ``store`` for the context's environment, as plain data."""
    from learnact_langgraph.graphs.sessions import make_env
    from learnact_langgraph.library import ActionLibrary, default_prefix

    name = ctx.env if ctx.env_factory is None else make_env(ctx).name
    library = ActionLibrary(store, prefix=default_prefix(str(name)))
    return [
        {
            "name": a.name,
            "source": a.source,
            "signature": a.signature,
            "description": a.full_description(),
            "notes": list(a.notes),
        }
        for a in library.actions()
    ]


_FIELDS = ("name", "source", "signature", "description", "notes")


class _Sessions:
    """Live sessions of running agent graphs, keyed by ``session_id``.

    A session is closed when its run finishes, when a node of the run fails
    (:func:`_closing`), and, for runs that simply stop (a cancelled or abandoned
    run), when it has been idle for ``idle_seconds``: each ``get`` closes those.
    """

    def __init__(self, idle_seconds: float = 600.0) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, tuple[Any, Session, float]] = {}
        self.idle_seconds = idle_seconds

    def __len__(self) -> int:
        return len(self._open)

    def get(self, state: AgentState, ctx: AgentContext) -> Session:
        sid = state["session_id"]
        self._reap()
        with self._lock:
            if sid in self._open:
                manager, session, _ = self._open[sid]
                self._open[sid] = (manager, session, time.monotonic())
                return session
        manager = open_session(ctx, sources={a.name: a.source for a in _actions(state, ctx)})
        session = manager.__enter__()
        try:
            session.env.reset(state["task"])
            for step in state.get("steps", []):
                if step["kind"] not in ("think", "unparsable"):
                    session.sandbox.run(step["action"])
        except BaseException:
            manager.__exit__(None, None, None)
            raise
        with self._lock:
            self._open[sid] = (manager, session, time.monotonic())
        return session

    def _reap(self) -> None:
        cutoff = time.monotonic() - self.idle_seconds
        with self._lock:
            idle = [sid for sid, (_, _, used) in self._open.items() if used < cutoff]
        for sid in idle:
            self.close(sid)

    def close(self, sid: str) -> None:
        with self._lock:
            entry = self._open.pop(sid, None)
        if entry:
            entry[0].__exit__(None, None, None)


SESSIONS = _Sessions()


def _closing(node: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``node`` that closes its run's session when it fails, so no worker is left."""

    @functools.wraps(node)
    def run(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        try:
            return node(state, runtime)
        except BaseException:
            if state.get("session_id"):
                SESSIONS.close(state["session_id"])
            raise

    return run


def start(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    task = state.get("task")
    if task is None or task == "":
        raise GraphInputError(
            "The agent graph needs the task to play in its input, for example "
            "{'task': 'gripper/gen-0-4-0'} (a task id, or a task index, of the context's "
            "environment)."
        )
    ctx = runtime.context
    if "actions" in state:
        actions = list(state["actions"])
    elif not ctx.actions and runtime.store is not None:
        actions = _released(runtime.store, ctx)
    else:
        actions = [asdict(a) for a in _views(ctx.actions)]
    sid = state.get("session_id") or uuid.uuid4().hex
    session = SESSIONS.get(
        {"session_id": sid, "task": task, "steps": [], "actions": actions}, runtime.context
    )
    env = session.env
    try:
        out = {
            "actions": actions,
            "session_id": sid,
            "goal": env.goal,
            "initial_observation": env.observation,
            "done": env.done,
            "success": env.done,
            "progress": env.progress,
        }
    except BaseException:
        SESSIONS.close(sid)
        raise
    if env.done:
        SESSIONS.close(sid)
    return out


def decide(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = runtime.context
    session = SESSIONS.get(state, ctx)
    settings = AgentSettings(ctx.max_steps, ctx.memory_steps, ctx.react)
    traj = Trajectory(
        state["task"],
        state.get("goal", ""),
        state.get("initial_observation", ""),
        [Step.from_dict(s) for s in state.get("steps", [])],
    )
    prompt = build_agent_prompt(
        session.env,
        _actions(state, ctx),
        traj,
        settings=settings,
        examples=session.examples,
        reflections=ctx.reflections,
    )
    usage = Usage()
    usage.merge(state.get("usage") or {})
    system = prompts.REACT_SYSTEM if ctx.react else prompts.AGENT_SYSTEM
    reply = invoke_text(
        resolve_model(ctx.model, temperature=0)
        if isinstance(ctx.model, str) or ctx.model is None
        else ctx.model,
        prompt,
        usage=usage,
        node="decide",
        system=system,
        stop=prompts.AGENT_STOP,
    )
    return {"pending": reply, "usage": usage.to_dict()}


def execute(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = runtime.context
    session = SESSIONS.get(state, ctx)
    learned = {a.name for a in _actions(state, ctx)}
    step = execute_line(
        session.sandbox, session.env, state.get("pending", ""), learned, allow_think=ctx.react
    )
    env = session.env
    limit = pick(ctx.max_steps, env.defaults.max_steps)
    finished = env.done or len(state.get("steps", [])) + 1 >= limit
    if finished:
        SESSIONS.close(state["session_id"])
    return {
        "steps": [step.to_dict()],
        "pending": "",
        "done": finished,
        "success": env.done,
        "progress": env.progress,
    }


def route(state: AgentState) -> str:
    return END if state.get("done") else "decide"


def build_agent_graph(
    context_schema: type[AgentContext] = AgentContext,
) -> StateGraph[Any, Any, Any, Any]:
    """The uncompiled Act/ReAct agent graph (``react=True`` in the context for ReAct).

    ``context_schema`` may be a subclass of :class:`AgentContext` with other defaults
    (for example a deployment's model).
    """
    g: StateGraph[Any, Any, Any, Any] = StateGraph(AgentState, context_schema=context_schema)
    g.add_node("start", start)
    g.add_node("decide", _closing(decide))
    g.add_node("execute", _closing(execute))
    g.add_edge(START, "start")
    g.add_conditional_edges("start", route, ["decide", END])
    g.add_edge("decide", "execute")
    g.add_conditional_edges("execute", route, ["decide", END])
    return g


def agent_graph(
    checkpointer: Any = None, store: Any = None
) -> CompiledStateGraph[AgentState, AgentContext, AgentState, AgentState]:
    return build_agent_graph().compile(
        checkpointer=checkpointer, store=store, name="learnact_agent"
    )


def create_tool_agent(
    model: Any,
    library: Any,
    session: Any,
    *,
    instruction: str | None = None,
    extra_tools: Sequence[Any] = (),
    **kwargs: Any,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The tool-calling variant: learned and base actions as native tools in ``create_agent``.

    For models that call tools well. ``session`` is a :class:`~learnact_langgraph.sandbox.Sandbox`
    bound to a live environment; every tool call runs there. Extra keyword arguments go
    to ``langchain.agents.create_agent`` (checkpointer, middleware, ...).
    """
    from langchain.agents import create_agent

    env = getattr(session, "env", None)
    text = instruction if instruction is not None else getattr(env, "instruction", "")
    chat = resolve_model(model) if isinstance(model, str) or model is None else model
    return create_agent(
        chat,  # type: ignore[arg-type]
        tools=[*library.as_tools(session), *extra_tools],
        system_prompt=prompts.TOOL_AGENT_SYSTEM.format(instruction=text),
        **kwargs,
    )
