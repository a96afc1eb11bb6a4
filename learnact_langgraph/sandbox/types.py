"""The data the sandbox hands back: limits, sub-steps, results and errors.

These are plain frozen dataclasses so that the agent, the learner and stored
trajectories can keep them without holding on to a worker process.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from learnact_langgraph.errors import LearnActError

ErrorKind = Literal[
    "python_exception",
    "invalid_action",
    "policy_violation",
    "timeout",
    "limit",
    "environment_error",
]
OnError = Literal["restore", "keep"]
#: The choices of :data:`OnError`, for settings checks and command-line options.
ON_ERROR_CHOICES: tuple[str, ...] = ("restore", "keep")


class SandboxError(LearnActError):
    """The sandbox itself could not do its job (for example its worker would not start)."""


class LearnedCodeError(LearnActError):
    """A piece of learned code cannot be loaded (syntax error or policy problem)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = problems if problems is not None else [message]


class PolicyViolation(LearnedCodeError):
    """Learned code uses something the sandbox forbids (imports, dunders, open, ...)."""


@dataclass(frozen=True)
class Limits:
    """Per-call limits; hitting one ends that call only, the next call works.

    ``wall_time_s`` covers the whole call, base actions included; ``cpu_time_s`` and
    ``memory_mb`` are enforced by the kernel on the worker process;
    ``recursion_depth`` counts Python frames of learned code (with a small margin for
    the sandbox's own frames); ``base_calls`` bounds base-action calls per call.
    """

    wall_time_s: float = 10.0
    cpu_time_s: float = 5.0
    memory_mb: int = 512
    output_chars: int = 20_000
    base_calls: int = 200
    recursion_depth: int = 200

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {value!r}.")

    def to_dict(self) -> dict[str, Any]:
        """The fields as a new dict (every field is a plain number: no deep copy,
        which was a tenth of a trivial call's host time)."""
        return {name: getattr(self, name) for name in _LIMIT_FIELDS}


_LIMIT_FIELDS = tuple(f.name for f in fields(Limits))


@dataclass(frozen=True, init=False)
class SubStep:
    """One base-action call made during a sandboxed call, in order."""

    name: str
    args: tuple[Any, ...]
    valid: bool
    observation: str
    error: str | None = None
    #: The goal held right after this sub-step.
    done: bool = False

    def __init__(
        self,
        name: str,
        args: tuple[Any, ...],
        valid: bool,
        observation: str,
        error: str | None = None,
        done: bool = False,
    ) -> None:
        """Written out: the generated ``__init__`` of a frozen dataclass sets each field
        through ``object.__setattr__``, which took twice as long, and one is made per
        base call (``tests/unit_tests/test_value_types.py`` keeps the two alike)."""
        d = self.__dict__
        d["name"], d["args"], d["valid"] = name, args, valid
        d["observation"], d["error"], d["done"] = observation, error, done

    @property
    def call(self) -> str:
        """The call as the agent would write it: ``pick('ball1', 'rooma', 'left')``."""
        return f"{self.name}({', '.join(repr(a) for a in self.args)})"


@dataclass(frozen=True)
class ExecResult:
    """The structured outcome of one sandboxed call.

    The learning loop reads ``ok``, ``error_kind`` and ``failed_substep`` instead of
    searching observations for substrings; ``observation`` is what an acting agent sees.
    """

    ok: bool
    value: Any
    error_kind: ErrorKind | None
    message: str
    traceback: str
    substeps: tuple[SubStep, ...]
    duration_s: float
    stdout: str
    observation: str
    rolled_back: bool
    failed_substep: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready) for trajectories, checkpoints and logs."""
        data = asdict(self)
        data["substeps"] = [dict(asdict(s), args=list(s.args)) for s in self.substeps]
        return data

    @property
    def last_valid_observation(self) -> str | None:
        for step in reversed(self.substeps):
            if step.valid:
                return step.observation
        return None
