"""One episode of the acting agent, as plain Python.

Each step the model writes one line of Python calling base or learned actions; the
sandbox runs it against the environment and the observation comes back. The agent
graph (``graphs/agent.py``) wraps these functions in nodes; the learner calls
:func:`run_episode` directly to evaluate candidate action sets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol

from learnact_langgraph import prompts
from learnact_langgraph.envs.base import Environment, format_call
from learnact_langgraph.envs.defaults import pick
from learnact_langgraph.errors import EnvironmentError_
from learnact_langgraph.models import ChatModel, Usage, invoke_text
from learnact_langgraph.parsing import called_names, parse_action, quote_names

StepKind = Literal["base", "learned", "mixed", "think", "unparsable"]


class ActionView(Protocol):
    """What the agent needs to know of a learned action."""

    @property
    def name(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def signature(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def notes(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class SimpleAction:
    """A learned action as the agent sees it (the learner's candidates use this)."""

    name: str
    source: str
    signature: str
    description: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One agent step with the structured outcome of running it."""

    action: str
    observation: str
    kind: StepKind
    valid: bool
    state_before: str = ""
    learned_call: str | None = None
    error_kind: str | None = None
    message: str = ""
    substeps: tuple[dict[str, Any], ...] = ()
    failed_substep: int | None = None
    rolled_back: bool = False
    thought: str = ""

    def to_dict(self) -> dict[str, Any]:
        """What ``asdict`` gives (containers copied), without its per-value recursion:
        a learning run turns hundreds of steps into plain data."""
        d = {name: getattr(self, name) for name in _STEP_FIELDS}
        d["substeps"] = tuple(_copied(s) for s in self.substeps)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        data = dict(data)
        data["substeps"] = tuple(data.get("substeps", ()))
        return cls(**data)


_STEP_FIELDS = tuple(f.name for f in fields(Step))


def _copied(value: Any) -> Any:
    """A copy of plain data's containers (dicts, lists, tuples), as ``asdict`` makes."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_copied(v) for v in value)
    return value


@dataclass
class Trajectory:
    task_id: str
    goal: str
    initial_observation: str
    steps: list[Step] = field(default_factory=list)
    success: bool = False
    progress: float = 0.0
    seconds: float = 0.0

    @property
    def valid_share(self) -> float:
        acts = [s for s in self.steps if s.kind != "think"]
        return sum(s.valid for s in acts) / len(acts) if acts else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = {name: getattr(self, name) for name in _TRAJECTORY_FIELDS}
        d["steps"] = [s.to_dict() for s in self.steps]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trajectory:
        data = dict(data)
        data["steps"] = [Step.from_dict(s) for s in data.get("steps", [])]
        return cls(**data)


_TRAJECTORY_FIELDS = tuple(f.name for f in fields(Trajectory))


@dataclass(frozen=True)
class AgentSettings:
    """Episode limits of the acting agent; ``None`` takes the environment's default
    (:attr:`Environment.defaults <learnact_langgraph.envs.Environment.defaults>`)."""

    max_steps: int | None = None
    memory_steps: int | None = None
    react: bool = False

    def for_env(self, env: Environment) -> AgentSettings:
        """These settings with every unset limit filled in from ``env``."""
        return AgentSettings(
            pick(self.max_steps, env.defaults.max_steps),
            pick(self.memory_steps, env.defaults.memory_steps),
            self.react,
        )


def action_lines(env: Environment) -> list[str]:
    return [f"{a.signature}: {a.description}" for a in env.base_actions()]


def environment_prefix(env: Environment, examples: Sequence[str] = ()) -> str:
    """Instruction, base actions and examples: the part every prompt starts with."""
    parts = [
        env.instruction.strip(),
        prompts.AGENT_ACTIONS_HEADER,
        prompts.bullet_lines(action_lines(env)),
    ]
    if examples:
        parts += [prompts.AGENT_EXAMPLES_HEADER, "\n\n".join(e.strip() for e in examples)]
    return "\n".join(p for p in parts if p)


def build_agent_prompt(
    env: Environment,
    actions: Sequence[ActionView],
    trajectory: Trajectory,
    *,
    settings: AgentSettings,
    examples: Sequence[str] = (),
    usage_examples: Sequence[str] = (),
    reflections: Sequence[str] = (),
) -> str:
    """The agent's prompt, laid out as in the paper; notes come before the examples."""
    settings = settings.for_env(env)
    parts = [
        env.instruction.strip(),
        prompts.AGENT_ACTIONS_HEADER,
        prompts.bullet_lines(action_lines(env)),
    ]
    if actions:
        parts.append(prompts.AGENT_LEARNED_HEADER)
        parts.append(prompts.bullet_lines(f"{a.signature}: {a.description}" for a in actions))
        noted = [a for a in actions if a.notes]
        if noted:
            parts.append(prompts.AGENT_NOTES_HEADER)
            parts.append(prompts.bullet_lines(f"{a.signature}: {' '.join(a.notes)}" for a in noted))
    shown = [*usage_examples, *examples]
    if shown:
        parts.append(prompts.AGENT_EXAMPLES_HEADER)
        parts.append("\n\n".join(e.strip() for e in shown))
    if settings.react:
        parts.append(prompts.REACT_HINT)
    if reflections:
        parts.append(prompts.REFLECTION_HEADER)
        parts.append(prompts.bullet_lines(reflections))
    parts.append(prompts.AGENT_GOAL.format(goal=trajectory.goal))
    memory = settings.memory_steps or 0
    recent = trajectory.steps[-memory:] if memory else trajectory.steps
    if len(recent) < len(trajectory.steps):
        parts.append(f"({len(trajectory.steps) - len(recent)} earlier steps are not shown.)")
        first = recent[0].state_before if recent else trajectory.initial_observation
    else:
        first = trajectory.initial_observation
    parts.append(prompts.history_lines(first, prompt_steps(recent)))
    if recent and recent[-1].kind == "unparsable":
        parts.append(recent[-1].observation)
    parts.append(prompts.AGENT_ACTION_CUE)
    return "\n".join(p for p in parts if p)


def prompt_steps(steps: Sequence[Step]) -> list[tuple[str, str]]:
    """``(action, observation)`` pairs a prompt shows for ``steps``.

    A reply that could not be parsed is never shown back as an action (a model copies
    what its history shows); the hint it earned is shown once, after the history.
    """
    pairs: list[tuple[str, str]] = []
    for step in steps:
        if step.kind == "unparsable":
            continue
        if step.thought:
            pairs.append((f"Think: {step.thought}", prompts.THINK_OBSERVATION))
        pairs.append((step.action, step.observation))
    return pairs


def _object_names(env: Environment) -> list[str]:
    """The task's object names, where the environment lists them (PDDL does)."""
    try:
        objects = getattr(env, "objects", None) or {}
    except EnvironmentError_:  # no task set yet
        return []
    return [str(name) for name in objects]


def example_call(env: Environment) -> str:
    """A call that is legal right now (or, failing that, one with distinct argument names)."""
    try:
        valid = env.valid_actions()
    except EnvironmentError_:  # the environment does not list its valid actions
        valid = []
    if valid:
        return valid[0]
    for action in env.base_actions():
        return format_call(action.name, [p.name for p in action.params])
    return "action(...)"


class Runner(Protocol):
    """What executes an agent line: the sandbox (``Sandbox.run``) or a test double."""

    def run(self, code: str) -> Any: ...


def execute_line(
    runner: Runner,
    env: Environment,
    reply: str,
    learned_names: set[str],
    *,
    allow_think: bool = False,
) -> Step:
    """Turn one model reply into a step: parse it, run it in the sandbox, classify it."""
    before = env.observation
    parsed = parse_action(reply, allow_think=allow_think)
    if parsed.kind == "think":
        return Step(f"Think: {parsed.text}", prompts.THINK_OBSERVATION, "think", True, before)
    if parsed.kind == "unparsable":
        obs = prompts.UNPARSABLE_ACTION.format(reason=parsed.reason, example=example_call(env))
        return Step(
            parsed.text,
            obs,
            "unparsable",
            False,
            before,
            error_kind="unparsable",
            message=parsed.reason,
        )
    code = quote_names(parsed.text, _object_names(env))
    names = called_names(code)
    base = {a.name for a in env.base_actions()}
    used_learned = [n for n in names if n in learned_names]
    kind: StepKind = (
        "learned"
        if used_learned and all(n in learned_names for n in names)
        else ("base" if names and all(n in base for n in names) else "mixed")
    )
    learned_call = used_learned[0] if len(names) == 1 and used_learned else None
    result = runner.run(code)
    ok, observation = bool(result.ok), result.observation
    error_kind, message = result.error_kind, result.message
    if ok and used_learned and not result.substeps:
        # As in the paper, a call that changes nothing is not valid: a learned action
        # that only returns text (say, a line of code) must not count as a success.
        ok, error_kind = False, "invalid_action"
        message = prompts.NO_ACTION_TAKEN.format(call=code)
        observation = f"Error: {message}"
    substeps = tuple(
        {
            "name": s.name,
            "args": list(s.args),
            "valid": s.valid,
            "observation": s.observation,
            "error": s.error,
            "done": getattr(s, "done", False),
        }
        for s in result.substeps
    )
    return Step(
        action=code,
        observation=observation,
        kind=kind,
        valid=ok,
        state_before=before,
        learned_call=learned_call,
        error_kind=error_kind,
        message=message,
        substeps=substeps,
        failed_substep=getattr(result, "failed_substep", None),
        rolled_back=bool(result.rolled_back),
        thought=parsed.thought if allow_think else "",
    )


def run_episode(
    env: Environment,
    runner: Runner,
    model: ChatModel,
    task: Any,
    *,
    actions: Sequence[ActionView] = (),
    settings: AgentSettings | None = None,
    examples: Sequence[str] = (),
    usage_examples: Sequence[str] = (),
    reflections: Sequence[str] = (),
    usage: Usage | None = None,
    node: str = "act",
    run_unit: Callable[[Callable[[Usage], Any]], Any] | None = None,
) -> Trajectory:
    """Reset ``env`` to ``task`` and let the model act until success or the step limit.

    ``run_unit`` runs each model call (a function of the usage to record it in); the
    learner passes :meth:`~learnact_langgraph.graphs.durable.Durable.call`, so that a
    resumed episode takes its finished steps' replies from the checkpoint.
    """
    settings = (settings or AgentSettings()).for_env(env)
    start = time.perf_counter()
    initial = env.reset(task)
    traj = Trajectory(env.task.id, env.goal, initial, progress=env.progress)
    learned = {a.name for a in actions}
    system = prompts.REACT_SYSTEM if settings.react else prompts.AGENT_SYSTEM
    while len(traj.steps) < (settings.max_steps or 0) and not env.done:
        prompt = build_agent_prompt(
            env,
            actions,
            traj,
            settings=settings,
            examples=examples,
            usage_examples=usage_examples,
            reflections=reflections,
        )

        def ask(part: Usage | None, prompt: str = prompt) -> str:
            return invoke_text(
                model, prompt, usage=part, node=node, system=system, stop=prompts.AGENT_STOP
            )

        reply = str(run_unit(ask)) if run_unit is not None else ask(usage)
        traj.steps.append(execute_line(runner, env, reply, learned, allow_think=settings.react))
    traj.success = env.done
    traj.progress = env.progress
    traj.seconds = time.perf_counter() - start
    return traj
