"""learnact-langgraph: agents that learn new actions from experience (LearnAct) on LangGraph."""

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.envs import (
    BaseAction,
    Environment,
    Snapshot,
    StepResult,
    Task,
    base_action,
)
from learnact_langgraph.errors import DataDirError, EnvironmentError_, LearnActError, PDDLError
from learnact_langgraph.graphs import (
    AgentContext,
    LearnerContext,
    agent_graph,
    build_agent_graph,
    build_learner_graph,
    learner_graph,
)
from learnact_langgraph.library import ActionLibrary

__version__ = "0.1.0"

__all__ = [
    "ActionLibrary",
    "AgentContext",
    "LearnedAction",
    "LearnerContext",
    "agent_graph",
    "build_agent_graph",
    "build_learner_graph",
    "learner_graph",
    "BaseAction",
    "DataDirError",
    "Environment",
    "EnvironmentError_",
    "LearnActError",
    "PDDLError",
    "Snapshot",
    "StepResult",
    "Task",
    "__version__",
    "base_action",
]
