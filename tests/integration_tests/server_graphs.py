"""Graphs served by ``langgraph dev`` in the integration test.

The agent graph is the package's own, with a context whose default model is a
scripted gripper player, so runs through the HTTP API need no API key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage

from learnact_langgraph.envs.pddl.scripted import gripper_policy
from learnact_langgraph.graphs.agent import AgentContext, build_agent_graph
from learnact_langgraph.graphs.learner import learner_graph
from learnact_langgraph.testing import scripted


def _player(messages: list[BaseMessage]) -> str:
    return gripper_policy(str(messages[-1].content))


@dataclass
class ServerContext(AgentContext):
    tasks: str = "generated"
    model: Any = field(default_factory=lambda: scripted(_player, name="scripted-player"))


agent = build_agent_graph(ServerContext).compile()
learner = learner_graph()
