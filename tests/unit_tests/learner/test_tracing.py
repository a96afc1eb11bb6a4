"""A learning run reads like the loop in a trace: one root, named calls, coordinates."""

from __future__ import annotations

from typing import Any

from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

from learnact_langgraph.graphs.learner import learner_graph
from learnact_langgraph.testing import scripted

from .scripts import agent, learner
from .test_learner_graph import context


class Collect(BaseTracer):
    """An in-memory tracer: the finished root runs, with their child trees."""

    def __init__(self) -> None:
        super().__init__()
        self.roots: list[Run] = []

    def _persist_run(self, run: Run) -> None:
        self.roots.append(run)


def walk(run: Run) -> list[Run]:
    return [run, *(r for child in run.child_runs for r in walk(child))]


def test_every_learner_model_call_is_inside_the_run_with_its_name_and_coordinates() -> None:
    tracer = Collect()
    ctx = context(scripted(learner()), scripted(agent), k=4, sample_concurrency=4)
    out = learner_graph().invoke({}, {"callbacks": [tracer]}, context=ctx)
    assert out["status"] == "published"
    [root] = tracer.roots  # nothing left the trace, even from the 4 sampling threads
    runs = walk(root)
    calls = [r for r in runs if r.run_type == "llm"]
    names = {r.name for r in calls}
    assert {"learnact.create", "learnact.revise", "learnact.act"} <= names
    assert names <= {
        "learnact.create",
        "learnact.repair",
        "learnact.revise",
        "learnact.act",
        "learnact.describe",
    }
    # Every call of the loop says where in the loop it was made.
    usage = out["usage"]
    assert len(calls) == usage["calls"]
    for call in calls:
        meta: dict[str, Any] = call.extra.get("metadata", {})
        assert "learnact" in (call.tags or [])
        assert {"round", "candidate", "task"} <= set(meta), (call.name, meta)
    creates = [c for c in calls if c.name == "learnact.create"]
    assert sorted(c.extra["metadata"]["seed"] for c in creates) == [0, 1, 2, 3]
    assert sorted(c.extra["metadata"]["candidate"] for c in creates) == [
        "r0c0",
        "r0c1",
        "r0c2",
        "r0c3",
    ]
    # Each evaluation branch is a run named after its candidate and task.
    episodes = {r.name for r in runs if r.name.startswith("learnact.episode[")}
    played = {key.split("|", 1)[1] for key in out["results"]}
    assert episodes == {f"learnact.episode[{p}]" for p in played} and len(played) >= 4
    assert all(r.parent_run_id for r in calls)
