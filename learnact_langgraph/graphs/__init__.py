"""LangGraph state machines: the acting agent and the LearnAct learner."""

from learnact_langgraph.graphs.agent import AgentContext, AgentState, agent_graph, build_agent_graph
from learnact_langgraph.graphs.learner import (
    LearnerContext,
    LearnerState,
    build_learner_graph,
    learner_graph,
)

__all__ = [
    "AgentContext",
    "AgentState",
    "LearnerContext",
    "LearnerState",
    "agent_graph",
    "build_agent_graph",
    "build_learner_graph",
    "learner_graph",
]
