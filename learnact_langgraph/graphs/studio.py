"""Compiled graphs for LangGraph Studio / ``langgraph dev`` (see ``langgraph.json``).

They compile without a checkpointer: the server supplies persistence.
"""

from learnact_langgraph.graphs.agent import agent_graph
from learnact_langgraph.graphs.learner import learner_graph

learner = learner_graph()
agent = agent_graph()
