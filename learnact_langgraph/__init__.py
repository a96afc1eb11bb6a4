"""learnact-langgraph: agents that learn new actions from experience (LearnAct) on LangGraph."""

from learnact_langgraph.envs import (
    BaseAction,
    Environment,
    Snapshot,
    StepResult,
    Task,
    base_action,
)
from learnact_langgraph.errors import DataDirError, EnvironmentError_, LearnActError, PDDLError

__version__ = "0.1.0"

__all__ = [
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
