"""Run LLM-written code safely: a locked-down worker process, limits and rollback.

``Sandbox(env)`` runs agent lines (``sb.run("carry(...)")``) and learned actions
(``sb.call("carry", ...)``) away from the host interpreter; base actions are the only
door to the environment. :mod:`~learnact_langgraph.sandbox.gate` decides what code may
load and run (``check_action``, ``check_actions``, ``check_code``). See
``docs/sandbox.md`` for the threat model and numbers.
"""

from learnact_langgraph.sandbox import gate
from learnact_langgraph.sandbox.backend import BaseReply, Job, RawOutcome, SandboxBackend, StopCall
from learnact_langgraph.sandbox.gate import (
    ALLOWED_MODULES,
    check_action,
    check_actions,
    check_code,
)
from learnact_langgraph.sandbox.sandbox import BACKENDS, Sandbox, register_backend
from learnact_langgraph.sandbox.subprocess_backend import SubprocessBackend
from learnact_langgraph.sandbox.types import (
    ErrorKind,
    ExecResult,
    LearnedCodeError,
    Limits,
    OnError,
    PolicyViolation,
    SandboxError,
    SubStep,
)

__all__ = [
    "ALLOWED_MODULES",
    "BACKENDS",
    "BaseReply",
    "ErrorKind",
    "ExecResult",
    "Job",
    "LearnedCodeError",
    "Limits",
    "OnError",
    "PolicyViolation",
    "RawOutcome",
    "Sandbox",
    "SandboxBackend",
    "SandboxError",
    "StopCall",
    "SubStep",
    "SubprocessBackend",
    "check_action",
    "check_actions",
    "check_code",
    "gate",
    "register_backend",
]
