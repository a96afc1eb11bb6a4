"""The small interface every sandbox backend implements.

A backend only runs code: it knows nothing of environments, snapshots or
sub-steps. For each base-action call the code makes, it asks the host through the
``on_call`` callback, which either answers with the observation or raises
:class:`StopCall` to end the call (a per-call limit was hit).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from learnact_langgraph.sandbox.types import ErrorKind, Limits


class BaseReply(NamedTuple):
    """What the host answers to one base-action call (a named tuple: one is made per
    base call, and a frozen dataclass took as long to build as the frame to send)."""

    observation: str
    valid: bool
    done: bool


class StopCall(Exception):
    """Raised by ``on_call`` to end the running call with error kind ``limit``."""


OnCall = Callable[[str, tuple[Any, ...]], BaseReply]


@dataclass(frozen=True)
class Job:
    """One unit of work: either a piece of agent code or a call of a learned action."""

    source: str = ""
    call: tuple[str, tuple[Any, ...]] | None = None
    #: Limits for this job only (``memory_mb`` excepted); the backend's own otherwise.
    limits: Limits | None = None


@dataclass(frozen=True)
class RawOutcome:
    """A backend's answer, before the host adds sub-steps and the transaction."""

    ok: bool
    value: Any = None
    error_kind: ErrorKind | None = None
    message: str = ""
    traceback: str = ""
    stdout: str = ""


class SandboxBackend(ABC):
    """Runs learned actions and agent code away from the host interpreter.

    ``load`` replaces the whole set of learned action sources (already
    policy-checked); ``execute`` runs one job with a fresh namespace holding the base
    actions and every learned action; ``close`` frees the backend's resources.
    """

    name: ClassVar[str] = "backend"

    def __init__(self, base_actions: Sequence[str], limits: Limits) -> None:
        self.base_actions = tuple(base_actions)
        self.limits = limits

    @abstractmethod
    def load(self, sources: Mapping[str, str]) -> None:
        """Make exactly these learned actions (name -> source) available."""

    @abstractmethod
    def execute(self, job: Job, on_call: OnCall) -> RawOutcome:
        """Run ``job``; never raises for anything the code does."""

    def problems(self, source: str, filename: str) -> list[str]:
        """What this backend cannot run in code the gate accepted (default: nothing)."""
        return []

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Free processes and other resources; the backend cannot be used afterwards."""
