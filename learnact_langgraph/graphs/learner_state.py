"""State and run settings of the learner graph, with the reducers that merge branch writes."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from langgraph.runtime import Runtime
from pydantic import ConfigDict
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypedDict

from learnact_langgraph.envs.defaults import ScoreTerm
from learnact_langgraph.errors import GraphInputError
from learnact_langgraph.executors import ExecutorSettings
from learnact_langgraph.graphs.durable import RUN_THREADS
from learnact_langgraph.models import (
    ChatModel,
    ModelSettings,
    Usage,
    at_temperature,
    resolve_model,
)
from learnact_langgraph.sandbox.types import ON_ERROR_CHOICES, OnError
from learnact_langgraph.validation import SettingError, require_at_least, require_choice

#: The smallest allowed value of each number of a :class:`LearnerContext`.
_MINIMA: dict[str, float] = {
    "k": 1,
    "rounds": 0,
    "max_attempts": 1,
    "sample_concurrency": 1,
    "temperature": 0.0,
}


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


def merge_usage(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    total = Usage()
    for part in (left, right):
        if part:
            total.merge(part)
    return total.to_dict()


def add_seconds(left: dict[str, float] | None, right: dict[str, float] | None) -> dict[str, float]:
    out = dict(left or {})
    for k, v in (right or {}).items():
        out[k] = round(out.get(k, 0.0) + v, 6)
    return out


class LearnerInput(TypedDict, total=False):
    """What a caller (a parent graph, a middleware) may ask the learner to learn from.

    ``learnact_tasks`` are training task ids of the environment (else the context's);
    ``learnact_trajectories`` are an agent's own episodes
    (:meth:`Trajectory.to_dict <learnact_langgraph.episode.Trajectory.to_dict>`): their
    tasks are the training tasks when none are given, and a failed call of a released
    action in them is revised first, instead of writing new actions from scratch.
    """

    learnact_tasks: list[str]
    learnact_trajectories: list[dict[str, Any]]


class LearnerOutput(TypedDict, total=False):
    """What the learner hands back to a parent graph: how it ended and the release."""

    learnact_status: str
    learnact_release: dict[str, Any] | None


class LearnerState(LearnerInput, LearnerOutput, total=False):
    run_id: str
    round: int
    candidates: list[dict[str, Any]]
    results: Annotated[dict[str, dict[str, Any]], merge_dicts]
    scores: dict[str, dict[str, float]]
    best: dict[str, Any] | None
    failure: dict[str, Any] | None
    log: Annotated[list[dict[str, Any]], operator.add]
    usage: Annotated[dict[str, Any], merge_usage]
    node_seconds: Annotated[dict[str, float], add_seconds]
    release: dict[str, Any] | None
    status: str
    started_at: float


@dataclass
class LearnerContext:
    """Settings of one learning run (LangGraph ``context_schema``).

    ``env`` names a built-in environment (a PDDL domain); ``env_factory`` takes any
    :class:`~learnact_langgraph.envs.Environment` instead. Models are
    ``init_chat_model`` strings or chat model objects; learner and agent may differ.
    Numbers are checked when the context is made (:class:`SettingError`) so a bad value
    fails before any model call: ``rounds=0`` learns without revision rounds and
    ``memory_steps=0`` shows the agent its whole history. ``max_tokens``, ``timeout``
    and ``base_url`` apply to models given by name (:class:`ModelSettings`). The learner
    samples at ``temperature`` whichever model learns. ``train_steps``, ``memory_steps``
    and ``score_terms`` left at ``None`` take the environment's defaults (the paper's
    protocol for its benchmark: :attr:`Environment.defaults`). ``on_error`` is what a failed
    learned call leaves behind during evaluation: ``"restore"`` undoes its sub-steps,
    ``"keep"`` keeps them (the paper's behaviour, the bench's default).
    ``tool_agent`` (``tools -> agent``, say ``lambda tools: create_agent(model, tools)``)
    evaluates candidates with that tool-calling agent instead of the text agent.
    """

    __pydantic_config__ = ConfigDict(use_attribute_docstrings=True)

    env: str = "gripper"
    """A built-in environment (gripper, blocksworld, barman, tyreworld, alfworld_put,
    ...) or an import string "package.module:factory" of a function returning one."""
    tasks: Literal["benchmark", "generated"] = "benchmark"
    """The paper's tasks (needs the data directory) or generated ones (planning only)."""
    data_dir: str | None = None
    """Where the benchmark data is (default: $LEARNACT_DATA_DIR, else the user cache)."""
    learner_model: Any = None
    """The model that writes and revises actions: an init_chat_model string such as
    "openai:gpt-4o", "local" for the local server, or "scripted" (offline, no key)."""
    agent_model: Any = None
    """The model that acts while candidates are evaluated (default: the learner's)."""
    k: int = 4
    """Candidate sets sampled per creation or revision step (the paper's K)."""
    rounds: int = 2
    """Revision rounds after the first evaluation (0: create and select only)."""
    train_steps: int | None = None
    """Step limit of a training episode (default: the environment's)."""
    memory_steps: int | None = None
    """Past steps the agent sees (0: all; default: the environment's)."""
    max_attempts: int = 4
    """Repair turns per sample when code does not pass its checks."""
    sample_concurrency: int = 4
    """Samples drawn at the same time."""
    temperature: float = 0.7
    """The learner's sampling temperature."""
    max_tokens: int | None = None
    """Output cap per model call, for models given by name."""
    timeout: float | None = None
    """Seconds per model call, for models given by name."""
    base_url: str | None = None
    """An OpenAI-compatible server for models given by name."""
    seed: int = 0
    """Seed of the first sample (each sample records its own)."""
    score_terms: tuple[ScoreTerm, ...] | None = None
    """Terms of the selection score (default: the environment's)."""
    train_task_ids: list[str] | None = None
    """Training tasks (default: the environment's train split)."""
    require_approval: bool = False
    """Stop before publishing and ask a person (docs/approval.md)."""
    sandbox_backend: str = "subprocess"
    """Where learned code runs: "subprocess" (the default) or "monty"."""
    on_error: OnError = "restore"
    """What a failed learned call leaves behind in evaluation: undone or kept."""
    env_factory: SkipJsonSchema[Callable[[], Any] | None] = None
    """Python only: a function returning the Environment (wins over env)."""
    library: SkipJsonSchema[Any] = None
    """Python only: the ActionLibrary to publish to (default: the graph's store)."""
    tool_agent: SkipJsonSchema[Callable[[list[Any]], Any] | None] = None
    """Python only: tools -> agent, to score candidates with a tool-calling agent."""
    executor: Literal["local", "ray"] = "local"
    """Where evaluation episodes run: "local" (this process's threads) or "ray" (actors
    of a Ray cluster, docs/scaling.md)."""
    ray_address: str | None = None
    """The Ray head for executor="ray": host:port, ray://host:10001 or "auto" (default:
    $RAY_ADDRESS, else a Ray instance started on this machine)."""
    ray_workers: int = 2
    """Ray actors that play evaluation episodes, each with warm environments."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Free-form settings carried with the run."""

    def __post_init__(self) -> None:
        for name, minimum in _MINIMA.items():
            require_at_least("LearnerContext", name, getattr(self, name), minimum)
        require_at_least("LearnerContext", "train_steps", self.train_steps, 1, optional=True)
        require_at_least("LearnerContext", "memory_steps", self.memory_steps, 0, optional=True)
        if self.score_terms is not None and not self.score_terms:
            raise SettingError("LearnerContext.score_terms must name at least one term.")
        require_choice("LearnerContext", "tasks", self.tasks, ("benchmark", "generated"))
        require_choice("LearnerContext", "on_error", self.on_error, ON_ERROR_CHOICES)
        self.model_settings()
        self.executor_settings()

    def model_settings(self) -> ModelSettings:
        return ModelSettings(self.max_tokens, self.timeout, self.base_url)

    def executor_settings(self) -> ExecutorSettings:
        """The executor of evaluation episodes; as many at once as the run has threads."""
        try:
            return ExecutorSettings(self.executor, RUN_THREADS, self.ray_address, self.ray_workers)
        except SettingError as exc:
            text = str(exc).replace("ExecutorSettings.kind", "LearnerContext.executor")
            text = text.replace("ExecutorSettings.workers", "LearnerContext.ray_workers")
            raise SettingError(text.replace("ExecutorSettings.", "LearnerContext.")) from None


def with_context(fn: Callable[..., Any], bound: LearnerContext | None) -> Callable[..., Any]:
    """``fn`` (a node or edge of the learner) run with ``bound`` as its context.

    Without ``bound`` the run's context is used, and anything but a
    :class:`LearnerContext` there (a parent graph's own context) is one clear error.
    """

    def node(state: Any, runtime: Runtime[Any]) -> Any:
        ctx = bound if bound is not None else runtime.context
        if ctx is None:
            ctx = LearnerContext()
        if not isinstance(ctx, LearnerContext):
            raise GraphInputError(
                f"The learner needs a LearnerContext, not a {type(ctx).__name__}; to run "
                "it inside a graph with its own context, build it with "
                "create_learner(learner_model, env=...) and add that as the node."
            )
        if ctx is not runtime.context:
            runtime = runtime.override(context=ctx)
        return fn(state, runtime)

    node.__name__ = getattr(fn, "__name__", "node")
    node.__doc__ = fn.__doc__
    return node


def models_for(ctx: LearnerContext) -> tuple[ChatModel, ChatModel]:
    """The learner and agent models of a run; the agent defaults to the learner's name."""
    settings = ctx.model_settings()
    learner = resolve_model(
        ctx.learner_model, settings=settings, role="learner", temperature=ctx.temperature
    )
    learner = at_temperature(learner, ctx.temperature)
    agent_spec = ctx.agent_model if ctx.agent_model is not None else ctx.learner_model
    agent = resolve_model(agent_spec, settings=settings, role="agent", temperature=0)
    return learner, agent
