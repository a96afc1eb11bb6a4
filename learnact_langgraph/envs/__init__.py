"""Environments: the protocol every environment implements, and the built-in ones."""

from learnact_langgraph.envs.base import (
    GOAL_SATISFIED,
    INVALID_PRECONDITION,
    INVALID_UNKNOWN,
    BaseAction,
    Environment,
    Param,
    Snapshot,
    StepResult,
    Task,
    base_action,
    format_call,
)

__all__ = [
    "GOAL_SATISFIED",
    "INVALID_PRECONDITION",
    "INVALID_UNKNOWN",
    "BaseAction",
    "Environment",
    "Param",
    "Snapshot",
    "StepResult",
    "Task",
    "base_action",
    "format_call",
]
