"""Learning inside agents you already have: ``LearnActMiddleware`` for ``create_agent``,
and ``create_learnact_agent`` to build one in a call."""

from learnact_langgraph.middleware.agent import create_learnact_agent
from learnact_langgraph.middleware.middleware import LearnActMiddleware, LearningOutcome, When
from learnact_langgraph.middleware.recorder import TrajectoryRecorder

__all__ = [
    "LearnActMiddleware",
    "LearningOutcome",
    "TrajectoryRecorder",
    "When",
    "create_learnact_agent",
]
