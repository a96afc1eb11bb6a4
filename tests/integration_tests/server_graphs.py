"""Graphs served by ``langgraph dev`` in the integration test.

The agent graph is the package's own, with a context whose default model is the
scripted stand-in (``"scripted"``) on generated tasks, so runs through the HTTP API
need no API key and no data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from learnact_langgraph.graphs.agent import AgentContext, build_agent_graph
from learnact_langgraph.graphs.learner import learner_graph


@dataclass
class ServerContext(AgentContext):
    tasks: str = "generated"
    model: Any = "scripted"


agent = build_agent_graph(ServerContext).compile()
learner = learner_graph()
