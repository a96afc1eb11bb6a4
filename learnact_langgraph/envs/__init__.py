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
from learnact_langgraph.envs.pddl import DOMAINS as PDDL_DOMAINS
from learnact_langgraph.envs.pddl import PDDLEnvironment
from learnact_langgraph.envs.pddl import load_env as load_pddl_env

__all__ = [
    "GOAL_SATISFIED",
    "INVALID_PRECONDITION",
    "INVALID_UNKNOWN",
    "PDDL_DOMAINS",
    "BaseAction",
    "Environment",
    "PDDLEnvironment",
    "Param",
    "Snapshot",
    "StepResult",
    "Task",
    "base_action",
    "format_call",
    "load_pddl_env",
]
