"""langgraph.json points at graphs that import and compile without a checkpointer."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from langgraph.graph.state import CompiledStateGraph

ROOT = Path(__file__).resolve().parents[2]


def test_every_graph_in_langgraph_json_loads() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert set(config["graphs"]) == {"learner", "agent"}
    for spec in config["graphs"].values():
        path, _, attr = spec["path"].partition(":")
        module_spec = importlib.util.spec_from_file_location("studio_check", ROOT / path)
        assert module_spec and module_spec.loader
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        graph = getattr(module, attr)
        assert isinstance(graph, CompiledStateGraph)
        assert graph.checkpointer is None
