"""Units inside a node are LangGraph tasks only where a checkpointer can keep them."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from learnact_langgraph.graphs.durable import Durable, in_graph_run
from learnact_langgraph.models import Usage


class S(TypedDict, total=False):
    durable: bool
    values: list[int]


def node(state: S) -> dict[str, Any]:
    units = Durable("unit", Usage())
    return {"durable": units.durable, "values": units.map(lambda i, _: i * i, 4, 2)}


def graph(checkpointer: Any = None) -> Any:
    g = StateGraph(S)
    g.add_node("node", node)
    g.add_edge(START, "node")
    g.add_edge("node", END)
    return g.compile(checkpointer=checkpointer)


def test_units_are_plain_calls_without_a_checkpointer() -> None:
    assert not in_graph_run()
    out = graph().invoke({})
    assert out == {"durable": False, "values": [0, 1, 4, 9]}


def test_units_are_checkpointed_tasks_with_one() -> None:
    saver = InMemorySaver()
    config = {"configurable": {"thread_id": "t"}}
    out = graph(saver).invoke({}, config)
    assert out == {"durable": True, "values": [0, 1, 4, 9]}
