"""The acting agent as a LangGraph graph (Act and ReAct variants).

::

    start -> decide -> decide ... -> END (goal reached or step limit)
    start -> decide -> execute -> decide ... -> END (review: a pause before each line)

``decide`` asks the model for one line of Python and runs it in the sandbox against
the live environment: one agent step is one superstep (one checkpoint), the same
work as a step of :func:`~learnact_langgraph.episode.run_episode`. To look at (or
edit, through ``pending``) each line before it runs, compile with
``interrupt_before=["execute"]`` (or ``interrupt_after=["decide"]``), or build with
``review=True``: ``decide`` then only asks, and ``execute`` runs the line in a
superstep of its own; a run invoked with that interrupt (as Studio sends it) runs
in the review layout too. Routing is by
edges on the state (no ``Command``), so ``update_state`` as a node goes on where that
node's edges lead.

The environment session is kept per run in this process (``agent_sessions.py``, with
the run's typed trajectory); a run resumed elsewhere rebuilds it by replaying its
recorded steps, so the graph state holds only plain data. A finished run hands its
environment and sandbox to the process's session pool (``session_pool.py``), so the
next run with the same settings starts warm; a failed run's are closed.
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

from langchain_core.runnables import Runnable, RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from learnact_langgraph import prompts
from learnact_langgraph.envs.defaults import pick
from learnact_langgraph.episode import AgentSettings, build_agent_prompt, execute_line
from learnact_langgraph.errors import GraphInputError
from learnact_langgraph.graphs.agent_sessions import (
    SESSIONS,
    LiveRun,
    action_views,
    step_dict,
)
from learnact_langgraph.graphs.agent_sessions import Sessions as _Sessions
from learnact_langgraph.models import Usage, invoke_text, resolve_model
from learnact_langgraph.sandbox.types import OnError

__all__ = [
    "SESSIONS",
    "AgentContext",
    "AgentGraph",
    "AgentInput",
    "AgentState",
    "_Sessions",
    "agent_graph",
    "build_agent_graph",
    "create_tool_agent",
]


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


class AgentInput(TypedDict):
    """What a run is asked to do (Studio's input form): the task id to play."""

    task: str


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


Node = Callable[..., dict[str, Any]]


def _closing(node: Node) -> Node:
    """``node`` that closes its run's session when it fails, so no worker is left (a
    finished run's session goes back to the process's pool instead)."""

    @functools.wraps(node)
    def run(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        try:
            return node(state, runtime)
        except BaseException:
            if state.get("session_id"):
                SESSIONS.close(state["session_id"], failed=True)
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
        actions = [asdict(a) for a in action_views(ctx.actions)]
    sid = state.get("session_id") or uuid.uuid4().hex
    run = SESSIONS.live(
        {"session_id": sid, "task": task, "steps": state.get("steps", []), "actions": actions},
        ctx,
        fresh=True,
    )
    env = run.session.env
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
        SESSIONS.close(sid, failed=True)
        raise
    if env.done:
        SESSIONS.close(sid)
    return out


def _ask(run: LiveRun, state: AgentState, ctx: AgentContext) -> tuple[str, dict[str, Any]]:
    """The model's reply to the prompt for the run's next step, and the run's usage."""
    prompt = build_agent_prompt(
        run.session.env,
        run.actions,
        run.trajectory,
        settings=AgentSettings(ctx.max_steps, ctx.memory_steps, ctx.react),
        examples=run.session.examples,
        reflections=ctx.reflections,
    )
    usage = Usage()
    usage.merge(state.get("usage") or {})
    reply = invoke_text(
        run.model(ctx.model),
        prompt,
        usage=usage,
        node="decide",
        system=prompts.REACT_SYSTEM if ctx.react else prompts.AGENT_SYSTEM,
        stop=prompts.AGENT_STOP,
    )
    return reply, usage.to_dict()


def _run_line(
    run: LiveRun, state: AgentState, ctx: AgentContext, reply: str, usage: dict[str, Any] | None
) -> dict[str, Any]:
    """Run ``reply`` as the run's next step; the state update records only that step."""
    env = run.session.env
    step = execute_line(run.session.sandbox, env, reply, run.learned, allow_think=ctx.react)
    run.trajectory.steps.append(step)
    finished = env.done or len(run.trajectory.steps) >= pick(ctx.max_steps, env.defaults.max_steps)
    update: dict[str, Any] = {
        "steps": [step_dict(step)],
        "pending": "",
        "done": finished,
        "success": env.done,
        "progress": env.progress,
    }
    if usage is not None:
        update["usage"] = usage
    if finished:
        SESSIONS.close(state["session_id"])
    return update


def _decide(review: bool) -> Node:
    def decide(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        """Ask the model for the next line and, unless reviewing, run it too."""
        ctx = runtime.context
        run = SESSIONS.live(state, ctx)
        reply, usage = _ask(run, state, ctx)
        if review:
            return {"pending": reply, "usage": usage}
        return _run_line(run, state, ctx, reply, usage)

    return decide


def execute(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    """Run the line ``decide`` left in ``pending`` (review runs, and older checkpoints)."""
    ctx = runtime.context
    return _run_line(SESSIONS.live(state, ctx), state, ctx, state.get("pending", ""), None)


def route(state: AgentState) -> str:
    return END if state.get("done") else "decide"


class _Route(Runnable[AgentState, str]):
    """:func:`route` as the agent graph's edge, called directly.

    A plain function given to ``add_conditional_edges`` runs as a traced runnable:
    a child run with its callback set-up on every step, which cost about a tenth of a
    bare superstep here (``benchmarks/bench_overhead.py``). The choice is in the
    state the step wrote (``done``), so the trace loses nothing a reader needs.
    """

    name = "route"

    def invoke(self, input: AgentState, config: RunnableConfig | None = None, **_: Any) -> str:
        return route(input)

    async def ainvoke(
        self, input: AgentState, config: RunnableConfig | None = None, **_: Any
    ) -> str:
        return route(input)


_ROUTE = _Route()


_NODES = ("start", "decide", "execute")
#: The edges and branches build_agent_graph() adds (without review).
_LAYOUT = ({(START, "start")}, {"start": 1, "decide": 1, "execute": 1})


def _names(nodes: Any) -> set[str]:
    return set() if nodes is None or nodes == "*" else set(nodes)


class AgentGraph(StateGraph[Any, Any, Any, Any]):
    """The agent graph's builder: compiled with an interrupt before ``execute`` (or after
    ``decide``), it compiles the review variant, so that the interrupt still comes
    between the model's reply and its execution."""

    review: bool = False

    def compile(self, *args: Any, **kwargs: Any) -> CompiledStateGraph[Any, Any, Any, Any]:
        before, after = kwargs.get("interrupt_before"), kwargs.get("interrupt_after")
        pauses = before == "*" or after == "*" or "execute" in _names(before)
        if self.review or not (pauses or "decide" in _names(after)):
            compiled = super().compile(*args, **kwargs)
            if not self.review and self._is_built_layout():
                compiled.__class__ = _PauseAware
                compiled._review_kwargs = (self.context_schema or AgentContext, kwargs)  # type: ignore[attr-defined]
            return compiled
        if not self._is_built_layout():
            raise GraphInputError(
                "This agent graph was changed after build_agent_graph(), so it cannot be "
                "switched to review when compiled with an interrupt on execute: build it "
                "with build_agent_graph(review=True)."
            )
        graph = build_agent_graph(self.context_schema or AgentContext, review=True)
        return graph.compile(*args, **kwargs)

    def _is_built_layout(self) -> bool:
        branches = {node: len(paths) for node, paths in self.branches.items()}
        return set(self.nodes) == set(_NODES) and (set(self.edges), branches) == _LAYOUT


class _PauseAware(CompiledStateGraph[Any, Any, Any, Any]):
    """The one-superstep agent graph, which runs as the review layout when a run asks
    for a pause before ``execute`` (or after ``decide``) only when it is invoked, as
    Studio does: the one-superstep layout has no ``execute`` to stop before. Both
    layouts read each other's checkpoints."""

    _review_kwargs: tuple[type[AgentContext], dict[str, Any]]

    def __init__(self, *args: Any, _review_kwargs: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._review_kwargs = _review_kwargs

    def _runner(self, kwargs: dict[str, Any]) -> CompiledStateGraph[Any, Any, Any, Any] | None:
        before, after = kwargs.get("interrupt_before"), kwargs.get("interrupt_after")
        if not (before == "*" or after == "*" or "execute" in _names(before)):
            if "decide" not in _names(after):
                return None
        schema, compile_kwargs = self._review_kwargs
        review = build_agent_graph(schema, review=True).compile(**compile_kwargs)
        return review.with_config(self.config) if self.config else review

    def stream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        review = self._runner(kwargs)
        if review is None:
            return super().stream(input, config, **kwargs)
        return review.stream(input, config, **kwargs)

    def astream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        review = self._runner(kwargs)
        if review is None:
            return super().astream(input, config, **kwargs)
        return review.astream(input, config, **kwargs)


def build_agent_graph(
    context_schema: type[AgentContext] = AgentContext, *, review: bool = False
) -> StateGraph[Any, Any, Any, Any]:
    """The uncompiled Act/ReAct agent graph (``react=True`` in the context for ReAct).

    ``context_schema`` may be a subclass of :class:`AgentContext` with other defaults
    (for example a deployment's model). ``review=True`` runs each line in an
    ``execute`` superstep of its own (see the module's docstring).
    """
    g = AgentGraph(
        AgentState, context_schema=context_schema, input_schema=AgentInput, output_schema=AgentState
    )
    g.review = review
    g.add_node("start", start)
    g.add_node("decide", _closing(_decide(review)))
    g.add_node("execute", _closing(execute))
    g.add_edge(START, "start")
    g.add_conditional_edges("start", _ROUTE, ["decide", END])
    if review:
        g.add_edge("decide", "execute")
    else:
        g.add_conditional_edges("decide", _ROUTE, ["decide", END])
    g.add_conditional_edges("execute", _ROUTE, ["decide", END])
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
