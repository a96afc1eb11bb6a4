"""LangGraph state machines: the acting agent and the LearnAct learner."""

from learnact_langgraph.graphs.agent import (
    AgentContext,
    AgentState,
    agent_graph,
    build_agent_graph,
    create_tool_agent,
)
from learnact_langgraph.graphs.factories import create_learner
from learnact_langgraph.graphs.learner import (
    LearnerContext,
    LearnerInput,
    LearnerOutput,
    LearnerState,
    build_learner_graph,
    learner_graph,
)

__all__ = [
    "AgentContext",
    "AgentState",
    "LearnerContext",
    "LearnerInput",
    "LearnerOutput",
    "LearnerState",
    "agent_graph",
    "build_agent_graph",
    "build_learner_graph",
    "create_learner",
    "create_tool_agent",
    "learner_graph",
]
