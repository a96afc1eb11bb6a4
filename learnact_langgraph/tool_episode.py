"""Episodes of a tool-calling agent, in the learner's trajectory format.

The learner reads :class:`~learnact_langgraph.episode.Trajectory` objects: one
:class:`~learnact_langgraph.episode.Step` per action, with the sandbox's structured
result. A ``create_agent`` agent acts through tool calls instead of text lines; this
module turns its tool calls and ``ToolMessage`` results into the same steps, so the
loop can learn from (and evaluate candidates with) the agent that will use the tools.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.errors import GraphRecursionError

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.envs.base import Environment, format_call
from learnact_langgraph.episode import ActionView, Step, StepKind, Trajectory
from learnact_langgraph.models import Usage
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.tools.learned import ToolSession, base_action_tool, learned_action_tool

#: ``tools -> agent``: how the learner builds the agent that evaluates a candidate
#: (for example ``lambda tools: create_agent(model, tools)``).
ToolAgentFactory = Callable[[list[BaseTool]], Any]

__all__ = ["ToolAgentFactory", "run_tool_episode", "step_from_tool_call", "task_message"]


def _substep(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data.get("name", ""),
        "args": list(data.get("args", ())),
        "valid": bool(data.get("valid", False)),
        "observation": str(data.get("observation", "")),
        "error": data.get("error"),
        "done": bool(data.get("done", False)),
    }


def step_from_tool_call(
    name: str,
    args: dict[str, Any],
    message: ToolMessage,
    *,
    params: Sequence[str] = (),
    learned: bool = False,
    before: str = "",
) -> Step:
    """One tool call and its result as a learner step.

    The call is written as the Python line a text agent would have sent
    (``carry_ball('ball1', 'rooma', 'roomb', 'left')``), so the learner can replay it.
    A learned call that succeeds without making any base call is invalid, as for the
    text agent.
    """
    order = [p for p in params if p in args] or list(args)
    line = format_call(name, [args[p] for p in order])
    artifact = message.artifact if isinstance(message.artifact, dict) else {}
    valid = message.status != "error" and artifact.get("ok", True) is not False
    error_kind = artifact.get("error_kind") or (None if valid else "tool_error")
    text = str(artifact.get("message") or ("" if valid else message.content))
    substeps = tuple(_substep(s) for s in artifact.get("substeps", ()) or ())
    if learned and valid and artifact and not substeps:
        valid, error_kind = False, "invalid_action"
    kind: StepKind = "learned" if learned else "base"
    return Step(
        action=line,
        observation=str(message.content),
        kind=kind,
        valid=valid,
        state_before=before,
        learned_call=name if learned else None,
        error_kind=error_kind,
        message=text,
        substeps=substeps,
        failed_substep=artifact.get("failed_substep"),
        rolled_back=bool(artifact.get("rolled_back", False)),
    )


def task_message(env: Environment) -> str:
    """What a tool-calling agent is told at the start of a task: goal, then state."""
    return f"{env.goal}\n{env.observation}"


def _steps(
    messages: Sequence[Any], tools: dict[str, BaseTool], learned: set[str], initial: str
) -> list[Step]:
    calls: dict[str, dict[str, Any]] = {}
    steps: list[Step] = []
    before = initial
    for m in messages:
        if isinstance(m, AIMessage):
            calls.update({str(c["id"]): dict(c) for c in m.tool_calls})
        elif isinstance(m, ToolMessage) and m.tool_call_id in calls:
            call = calls[m.tool_call_id]
            tool = tools.get(call["name"])
            params = list(tool.args) if tool is not None else []
            step = step_from_tool_call(
                call["name"],
                dict(call.get("args") or {}),
                m,
                params=params,
                learned=call["name"] in learned,
                before=before,
            )
            steps.append(step)
            before = step.observation
    return steps


def run_tool_episode(
    env: Environment,
    sandbox: Sandbox,
    make_agent: ToolAgentFactory,
    task: Any,
    *,
    actions: Sequence[ActionView] = (),
    max_steps: int | None = None,
    usage: Usage | None = None,
    node: str = "act",
) -> Trajectory:
    """Let the agent ``make_agent(tools)`` act on ``task`` with base and learned tools.

    ``sandbox`` is bound to ``env`` and has ``actions`` loaded. The run stops at the
    goal, when the agent stops calling tools, or after ``max_steps`` tool calls
    (default: the environment's training budget). Each of the agent's model calls is
    added to ``usage`` under ``node``, from the replies' usage metadata.
    """
    import time

    limit = max_steps or env.defaults.train_steps
    start = time.perf_counter()
    initial = env.reset(task)
    traj = Trajectory(env.task.id, env.goal, initial, progress=env.progress)
    bound = ToolSession(sandbox, {a.name: a.source for a in actions})
    tools: dict[str, BaseTool] = {b.name: base_action_tool(b, bound) for b in env.base_actions()}
    for a in actions:
        action = LearnedAction(
            name=a.name, source=a.source, description=a.description, notes=tuple(a.notes)
        )
        tools[a.name] = learned_action_tool(action, bound)
    agent = make_agent(list(tools.values()))
    learned = {a.name for a in actions}
    state: dict[str, Any] = {"messages": []}
    done_calls = 0
    inputs = {"messages": [HumanMessage(task_message(env))]}
    try:
        for state in agent.stream(
            inputs, {"recursion_limit": 4 * limit + 10}, stream_mode="values"
        ):
            done_calls = sum(isinstance(m, ToolMessage) for m in state.get("messages", []))
            if env.done or done_calls >= limit:
                break
    except GraphRecursionError:
        pass  # the agent went round without acting; what it did so far is the episode
    messages = state.get("messages", [])
    traj.steps = _steps(messages, tools, learned, initial)[:limit]
    if usage is not None:
        replies = [m for m in messages if isinstance(m, AIMessage)]
        tokens: list[Any] = [m.usage_metadata or {} for m in replies]
        usage.add(
            node,
            len(replies),
            sum(int(t.get("input_tokens", 0)) for t in tokens),
            sum(int(t.get("output_tokens", 0)) for t in tokens),
            time.perf_counter() - start,
        )
    traj.success = env.done
    traj.progress = env.progress
    traj.seconds = time.perf_counter() - start
    return traj
