"""The Environment protocol: what every environment gives the rest of the system.

Learned actions, the sandbox, the agent and the learner only ever talk to an
environment through this class. A subclass supplies tasks, a reset, a state that can
be copied, the goal test and its *base actions*; everything the learning loop needs
on top (structured step results, progress tracking, snapshots, the call-by-name
door used by the sandbox) lives here once.

A custom environment in a few lines (see ``docs/custom-environment.md``)::

    class Counter(Environment):
        name = "counter"
        instruction = "Reach the target number."

        def tasks(self) -> list[Task]:
            return [Task(id="counter/0", domain="counter", index=0, split="test")]

        def _reset(self, task: Task) -> str:
            self.state = {"value": 0, "target": 3}
            return "The counter shows 0."

        @base_action
        def add(self, n: int) -> StepResult:
            \"\"\"Add n (1 to 3) to the counter.\"\"\"
            ...
"""

from __future__ import annotations

import copy
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal, TypeVar

from learnact_langgraph.envs.defaults import EnvDefaults
from learnact_langgraph.errors import EnvironmentError_

Split = Literal["train", "test"]
StepErrorKind = Literal["unknown_action", "bad_arguments", "precondition", "unparsable"]

#: The message every environment uses for an action it cannot parse or does not know.
INVALID_UNKNOWN = (
    "The action is not valid and therefore takes no effect. "
    "Please check that the action and its arguments exist."
)
#: The message for a known action whose preconditions do not hold.
INVALID_PRECONDITION = (
    "The action is not valid and therefore takes no effect. "
    "Please remember to satisfy the restriction of actions."
)
GOAL_SATISFIED = "The goal is satisfied."


@dataclass(frozen=True)
class Task:
    """One problem instance of an environment.

    ``index`` is the position used by the paper's split files; ``split`` is ``None``
    for tasks outside any fixed split (for example generated ones).
    """

    id: str
    domain: str
    index: int
    split: Split | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Param:
    name: str
    annotation: str = "str"


@dataclass(frozen=True)
class BaseAction:
    """A base action as the agent and learned code see it: a Python function."""

    name: str
    params: tuple[Param, ...]
    description: str

    @property
    def arity(self) -> int:
        return len(self.params)

    @property
    def signature(self) -> str:
        """``name(a, b)``: the form used in prompts."""
        return f"{self.name}({', '.join(p.name for p in self.params)})"


@dataclass(frozen=True, init=False)
class StepResult:
    """The structured outcome of one base-action call.

    ``error`` says why an invalid step was refused, so callers never have to look for
    substrings in ``observation``.
    """

    action: str
    valid: bool
    observation: str
    progress: float
    done: bool
    error: StepErrorKind | None = None

    def __init__(
        self,
        action: str,
        valid: bool,
        observation: str,
        progress: float,
        done: bool,
        error: StepErrorKind | None = None,
    ) -> None:
        """Written out: the generated ``__init__`` of a frozen dataclass sets each field
        through ``object.__setattr__``, which took twice as long, and one is made per
        base call (``tests/unit_tests/test_value_types.py`` keeps the two alike)."""
        d = self.__dict__
        d["action"], d["valid"], d["observation"] = action, valid, observation
        d["progress"], d["done"], d["error"] = progress, done, error

    def __str__(self) -> str:
        return self.observation


@dataclass(frozen=True)
class Snapshot:
    """An opaque copy of an environment's full state (picklable)."""

    env_name: str
    task_id: str | None
    state: Any
    bookkeeping: tuple[float, bool, int, str]


class BadObservation(EnvironmentError_):
    """A base action gave back something that is not an observation (``None``, a dict).

    The environment's fault, never the learned code's: the sandbox reports it as an
    ``environment_error``.
    """


def observation_text(call: str, value: Any) -> str:
    """``value`` as an observation string, or :class:`BadObservation`.

    The environment boundary: text is kept, bytes are decoded (UTF-8, bad bytes
    replaced) and plain numbers or booleans written out; anything else is refused,
    because guessing its text would hand the agent a misleading observation.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, bool | int | float):
        return str(value)
    what = "None" if value is None else f"a {type(value).__name__}"
    raise BadObservation(f"base action {call} returned {what} instead of an observation string")


F = TypeVar("F", bound=Callable[..., Any])


def base_action(fn: F) -> F:
    """Mark a method of an :class:`Environment` subclass as a base action.

    The Python name, parameters and docstring of the method become the action's
    name, signature and description. The method returns a :class:`StepResult` (use
    :meth:`Environment.ok` / :meth:`Environment.refuse`) or a plain observation string.
    """
    fn.__learnact_base_action__ = True  # type: ignore[attr-defined]
    return fn


def format_call(name: str, args: Sequence[Any]) -> str:
    """Render a call the way the agent writes it: ``pick('ball1', 'rooma', 'left')``."""
    return f"{name}({', '.join(repr(a) for a in args)})"


class Environment(ABC):
    """Base class of every environment.

    Subclasses implement :meth:`tasks`, :meth:`_reset`, :meth:`goal_progress` and
    either ``@base_action`` methods or :meth:`base_actions` + :meth:`_execute`.
    Mutable state should live in ``self.state`` so the default
    :meth:`_get_state`/:meth:`_set_state` make snapshots work; override them otherwise.
    """

    name: ClassVar[str] = "environment"
    #: Domain instruction shown to agents and to the learner: what the world is and what
    #: counts as done. Base actions are listed separately from :meth:`base_actions`.
    instruction: str = ""
    #: Episode limits and learning score used wherever a run leaves them unset.
    defaults: ClassVar[EnvDefaults] = EnvDefaults()

    state: Any = None

    def __init__(self) -> None:
        self._task: Task | None = None
        self._goal_text = ""
        self._best_progress = 0.0
        self._done = False
        self._steps = 0
        self._observation = ""

    # ----- to implement ---------------------------------------------------------
    @abstractmethod
    def tasks(self) -> Sequence[Task]:
        """Every task of this environment, in index order."""

    @abstractmethod
    def _reset(self, task: Task) -> str:
        """Set ``self.state`` for ``task`` and return the initial observation."""

    @abstractmethod
    def goal_progress(self) -> float:
        """Fraction (0..1) of the goal that holds in the current state."""

    def goal_text(self) -> str:
        """The goal in words (defaults to the task's ``meta['goal']``)."""
        return str(self.task.meta.get("goal", "")) if self._task else ""

    def reflection_example(self) -> str:
        """A worked Reflexion example: a failed attempt and the plan written after it.

        ``""`` by default: only environments with worked material of their own have one.
        """
        return ""

    def revision_examples(self) -> str:
        """Worked answers to the revision prompt (one Update, one Plan), or ``""``."""
        return ""

    def call_observation(self, observations: Sequence[str]) -> str:
        """What the agent sees after one call whose valid sub-steps showed
        ``observations`` (in order): the last of them, unless the environment shows more."""
        return observations[-1] if observations else ""

    def valid_actions(self) -> list[str]:
        """Calls that would be valid now, as Python call strings."""
        raise EnvironmentError_(
            f"Environment {self.name!r} does not list its valid actions; "
            "override valid_actions() to offer them."
        )

    # ----- tasks and reset ------------------------------------------------------
    def get_task(self, ref: Task | str | int) -> Task:
        """Resolve a task from a :class:`Task`, its id or its index."""
        if isinstance(ref, Task):
            return ref
        all_tasks = self.tasks()
        if isinstance(ref, int):
            if not 0 <= ref < len(all_tasks):
                raise EnvironmentError_(
                    f"{self.name} has tasks 0..{len(all_tasks) - 1}; index {ref} does not exist."
                )
            return all_tasks[ref]
        for t in all_tasks:
            if t.id == ref:
                return t
        known = ", ".join(t.id for t in all_tasks[:5])
        raise EnvironmentError_(
            f"Unknown task {ref!r} for {self.name}; known ids look like {known}."
        )

    def split(self, split: Split | Literal["all"] = "all") -> list[Task]:
        """Tasks of one split of the fixed train/test split, or all of them."""
        return [t for t in self.tasks() if split == "all" or t.split == split]

    def reset(self, task: Task | str | int) -> str:
        """Start ``task`` and return the initial observation."""
        self._task = self.get_task(task)
        self._observation = self._reset(self._task)
        self._goal_text = self.goal_text()
        self._steps = 0
        self._best_progress = self.goal_progress()
        self._done = self.is_success()
        return self._observation

    @property
    def task(self) -> Task:
        if self._task is None:
            raise EnvironmentError_(f"Call reset(task) on the {self.name} environment first.")
        return self._task

    @property
    def goal(self) -> str:
        return self._goal_text

    @property
    def observation(self) -> str:
        """The latest observation (initial one right after reset)."""
        return self._observation

    @property
    def progress(self) -> float:
        """Progress rate: the best fraction of the goal seen so far in this episode."""
        return self._best_progress

    @property
    def done(self) -> bool:
        return self._done

    @property
    def steps(self) -> int:
        return self._steps

    def is_success(self) -> bool:
        """All goal facts hold now."""
        return self.goal_progress() >= 1.0

    # ----- base actions -----------------------------------------------------------
    def base_actions(self) -> Sequence[BaseAction]:
        """The base actions; by default every ``@base_action`` method."""
        return [a for a, _ in self._decorated_actions().values()]

    def _decorated_actions(self) -> dict[str, tuple[BaseAction, Callable[..., Any]]]:
        cache: dict[str, tuple[BaseAction, Callable[..., Any]]] | None = getattr(
            self, "_base_action_cache", None
        )
        if cache is None:
            cache = {}
            for attr in dir(type(self)):
                fn = getattr(type(self), attr, None)
                if callable(fn) and getattr(fn, "__learnact_base_action__", False):
                    sig = inspect.signature(fn)
                    params = tuple(
                        Param(p.name, _annotation_name(p.annotation))
                        for p in list(sig.parameters.values())[1:]
                    )
                    doc = inspect.cleandoc(fn.__doc__ or "").strip()
                    # The plain function, not a bound method: a bound method here would
                    # keep the environment alive in a reference cycle.
                    cache[attr] = (BaseAction(attr, params, doc), fn)
            self._base_action_cache = cache
        return cache

    def action(self, name: str) -> BaseAction:
        for a in self.base_actions():
            if a.name == name:
                return a
        known = ", ".join(a.name for a in self.base_actions())
        raise EnvironmentError_(f"{self.name} has no base action {name!r}; it has: {known}.")

    def _spec(self, name: str) -> BaseAction | None:
        """The base action called ``name``; a dict lookup where the base actions are
        the class's ``@base_action`` methods (learned code calls them in a loop)."""
        if type(self).base_actions is Environment.base_actions:
            found = self._decorated_actions().get(name)
            return None if found is None else found[0]
        return next((a for a in self.base_actions() if a.name == name), None)

    def _execute(self, name: str, args: tuple[Any, ...]) -> StepResult | str:
        """Run a base action whose name and arity are already checked."""
        return self._decorated_actions()[name][1](self, *args)

    def call(self, name: str, *args: Any) -> StepResult:
        """Call a base action by name: the single door learned code has to the world.

        Wrong names and argument counts become invalid steps, not exceptions, so the
        agent sees them as feedback. The state never changes on an invalid step. A base
        action that returns no observation raises :class:`BadObservation`.
        """
        if self._task is None:
            self.task  # noqa: B018 - raises a clear error before reset()
        spec = self._spec(name)
        if spec is None:
            result: StepResult | str = self.refuse(format_call(name, args), "unknown_action")
        elif len(args) != spec.arity:
            result = self.refuse(
                format_call(name, args),
                "bad_arguments",
                f"{INVALID_UNKNOWN} {spec.signature} takes {spec.arity} argument(s), "
                f"got {len(args)}.",
            )
        else:
            result = self._execute(name, args)
        if not isinstance(result, StepResult):
            text = format_call(name, args)
            result = self.ok(text, observation_text(text, result))
        elif not isinstance(result.observation, str):
            text = format_call(name, args)
            result = replace(result, observation=observation_text(text, result.observation))
        self._steps += 1
        self._observation = result.observation
        return result

    # ----- helpers for subclasses ---------------------------------------------------
    def ok(self, action: str, observation: str) -> StepResult:
        """A valid step: update progress and success, add the goal line when done."""
        progress = self.goal_progress()
        self._best_progress = max(self._best_progress, progress)
        # is_success() is goal_progress() >= 1 unless a subclass says otherwise.
        plain = type(self).is_success is Environment.is_success
        self._done = progress >= 1.0 if plain else self.is_success()
        if self._done and GOAL_SATISFIED not in observation:
            observation = f"{observation} {GOAL_SATISFIED}".strip()
        return StepResult(action, True, observation, self._best_progress, self._done)

    def refuse(
        self, action: str, error: StepErrorKind, observation: str | None = None
    ) -> StepResult:
        """An invalid step: nothing changed."""
        if observation is None:
            observation = INVALID_PRECONDITION if error == "precondition" else INVALID_UNKNOWN
        return StepResult(action, False, observation, self._best_progress, self._done, error)

    # ----- snapshots -------------------------------------------------------------------
    def _get_state(self) -> Any:
        return copy.deepcopy(self.state)

    def _set_state(self, state: Any) -> None:
        self.state = copy.deepcopy(state)

    def snapshot(self) -> Snapshot:
        """Everything needed to put the episode back exactly as it is now."""
        return Snapshot(
            self.name,
            self._task.id if self._task else None,
            self._get_state(),
            (self._best_progress, self._done, self._steps, self._observation),
        )

    def restore(self, snap: Snapshot) -> None:
        """Undo everything since ``snap`` was taken (same task only)."""
        if snap.env_name != self.name or (self._task and snap.task_id != self._task.id):
            raise EnvironmentError_(
                f"This snapshot belongs to {snap.env_name}/{snap.task_id}, "
                f"not to {self.name}/{self._task.id if self._task else None}."
            )
        if self._task is None and snap.task_id is not None:
            # A fresh instance (e.g. in another process) adopts the snapshot's task.
            self._task = self.get_task(snap.task_id)
            self._goal_text = self.goal_text()
        self._set_state(snap.state)
        self._best_progress, self._done, self._steps, self._observation = snap.bookkeeping


def _annotation_name(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "str"
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", str(annotation))
