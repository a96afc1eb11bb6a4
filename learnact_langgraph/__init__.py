"""learnact-langgraph: agents that learn new actions from experience (LearnAct) on LangGraph.

The heavy parts (graphs, library, tools) load on first use, so importing an
environment does not pull in the learner.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from learnact_langgraph.envs import (
    BaseAction,
    Environment,
    Snapshot,
    StepResult,
    Task,
    base_action,
)
from learnact_langgraph.errors import DataDirError, EnvironmentError_, LearnActError, PDDLError

if TYPE_CHECKING:
    from learnact_langgraph.actions import LearnedAction
    from learnact_langgraph.graphs import (
        AgentContext,
        LearnerContext,
        agent_graph,
        build_agent_graph,
        build_learner_graph,
        create_learner,
        create_tool_agent,
        learner_graph,
    )
    from learnact_langgraph.library import ActionLibrary
    from learnact_langgraph.middleware import LearnActMiddleware, create_learnact_agent
    from learnact_langgraph.models import ModelSettings, resolve_model
    from learnact_langgraph.sandbox import Sandbox

__version__ = "0.1.0"

_LAZY = {
    "ActionLibrary": "learnact_langgraph.library",
    "LearnedAction": "learnact_langgraph.actions",
    "Sandbox": "learnact_langgraph.sandbox",
    "AgentContext": "learnact_langgraph.graphs",
    "LearnerContext": "learnact_langgraph.graphs",
    "agent_graph": "learnact_langgraph.graphs",
    "build_agent_graph": "learnact_langgraph.graphs",
    "build_learner_graph": "learnact_langgraph.graphs",
    "learner_graph": "learnact_langgraph.graphs",
    "create_learner": "learnact_langgraph.graphs",
    "create_tool_agent": "learnact_langgraph.graphs",
    "LearnActMiddleware": "learnact_langgraph.middleware",
    "create_learnact_agent": "learnact_langgraph.middleware",
    "resolve_model": "learnact_langgraph.models",
    "ModelSettings": "learnact_langgraph.models",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'learnact_langgraph' has no attribute {name!r}")


__all__ = [
    "ActionLibrary",
    "AgentContext",
    "BaseAction",
    "DataDirError",
    "Environment",
    "EnvironmentError_",
    "LearnActError",
    "LearnActMiddleware",
    "LearnedAction",
    "LearnerContext",
    "ModelSettings",
    "PDDLError",
    "Sandbox",
    "Snapshot",
    "StepResult",
    "Task",
    "__version__",
    "agent_graph",
    "base_action",
    "build_agent_graph",
    "build_learner_graph",
    "create_learnact_agent",
    "create_learner",
    "create_tool_agent",
    "learner_graph",
    "resolve_model",
]
