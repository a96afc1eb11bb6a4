"""Fault suite: a candidate whose actions kill the sandbox at load, and a publish that
runs twice for one run (a crash between the library commit and the checkpoint)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from langgraph.store.memory import InMemoryStore

import learnact_langgraph.graphs.evaluation as evaluation_module
from learnact_langgraph.graphs import LearnerContext, learner_graph
from learnact_langgraph.graphs.publishing import publish_release
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.sandbox.types import LearnedCodeError

#: Publishes of one run's release, as a resumed run would repeat them.
PUBLISHES = 3


def _ctx(**kw: Any) -> LearnerContext:
    return LearnerContext(env="gripper", tasks="generated", learner_model="scripted", k=2, **kw)


def test_a_candidate_that_cannot_be_loaded_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    real = evaluation_module.open_session
    refused = []

    @contextmanager
    def open_session(
        ctx: Any, sources: Mapping[str, str] | None = None, **kw: Any
    ) -> Iterator[Any]:
        if sources and "r0c1" not in refused and len(refused) < 3:
            refused.append("r0c1")
            raise LearnedCodeError("Loading these learned actions stopped the sandbox worker.")
        with real(ctx, sources=sources, **kw) as session:
            yield session

    monkeypatch.setattr(evaluation_module, "open_session", open_session)
    out = learner_graph().invoke({}, context=_ctx(rounds=1))
    assert refused and out["status"] in ("published", "withheld")
    failed = [
        t
        for t in out["results"].values()
        if t["steps"] and t["steps"][0]["action"].startswith("(loading")
    ]
    assert len(failed) == len(refused)
    assert len(out["results"]) > len(failed)
    assert "stopped the sandbox worker" in failed[0]["steps"][0]["message"]


def test_publishing_one_run_again_finds_its_release() -> None:
    out = learner_graph().invoke({}, context=_ctx(rounds=1))
    library = ActionLibrary(InMemoryStore(), prefix=("learnact", "gripper"))
    ctx = _ctx(rounds=1, library=library)
    state = {"run_id": out["run_id"], "usage": {}, "started_at": 0.0}
    releases = [publish_release(ctx, out["best"], state) for _ in range(PUBLISHES)]
    assert len({r["library_generation"] for r in releases}) == 1
    assert len([r for r in library.releases() if r.kind == "publish"]) == 1
    other = publish_release(ctx, out["best"], {**state, "run_id": "another-run"})
    assert other["library_generation"] == releases[0]["library_generation"] + 1
