"""Opt-in: the agent and one learning round against the live local model server.

A 1.5B model on a CPU rarely solves a task, so these tests check structure, not success:
replies parse into actions, candidates parse, run in the sandbox and are scored, a
failure is found and revised, and a release is published or the run says exactly why
not. They take minutes; set ``LEARNACT_LIVE_LOCAL=1`` to run them (after
``learnact local-model serve`` has set the model up once).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from learnact_langgraph import local_model
from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.episode import AgentSettings, run_episode
from learnact_langgraph.models import LOCAL, Usage, resolve_roles
from learnact_langgraph.sandbox import Sandbox

LIVE_ENV_VAR = "LEARNACT_LIVE_LOCAL"


def _skip_reason() -> str:
    if os.environ.get(LIVE_ENV_VAR) != "1":
        return f"opt-in: set {LIVE_ENV_VAR}=1 to run against the live local model"
    if not local_model.model_present() or not local_model.runtime_installed():
        return "the local model is not set up here: run `learnact local-model serve` once"
    return ""


pytestmark = pytest.mark.skipif(bool(_skip_reason()), reason=_skip_reason() or "runs")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    info = local_model.ensure_server()
    yield info.base_url
    if info.started:
        local_model.stop_server()


def _env() -> Any:
    return load_env("gripper", tasks="generated", n=3, size=2, seed=0)


def test_agent_replies_parse_into_actions_that_run(server: str) -> None:
    agent, _ = resolve_roles(LOCAL)
    env = _env()
    usage = Usage()
    with Sandbox(env) as sandbox:
        traj = run_episode(env, sandbox, agent, 0, settings=AgentSettings(max_steps=3), usage=usage)
    assert len(traj.steps) == 3 or traj.success
    assert usage.calls == len(traj.steps)
    ran = [s for s in traj.steps if s.kind != "unparsable"]
    assert ran, [s.observation for s in traj.steps]
    for step in ran:
        assert step.action and "Observation" not in step.action


def test_one_learning_round_is_structurally_complete(server: str) -> None:
    from langgraph.store.memory import InMemoryStore

    from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
    from learnact_langgraph.library import ActionLibrary

    agent, learner = resolve_roles(LOCAL)
    env = _env()
    tasks = [t.id for t in env.tasks()][:1]
    ctx = LearnerContext(
        env="gripper",
        tasks="generated",
        learner_model=learner,
        agent_model=agent,
        k=2,
        rounds=1,
        train_steps=4,
        max_attempts=2,
        sample_concurrency=1,
        env_factory=_env,
        train_task_ids=tasks,
        library=ActionLibrary(InMemoryStore(), prefix=("live", "gripper")),
    )
    final = learner_graph().invoke({}, {"max_concurrency": 1}, context=ctx)
    created = next(e for e in final["log"] if e["node"] == "create_actions")
    assert created["kept"] + len(created["dropped"]) == 2
    for drop in created["dropped"]:
        assert drop["reason"]  # every dropped sample says why
    if not final.get("candidates"):
        assert final["status"] == "no_candidates" and created["dropped"]
        return
    for cand in final["candidates"]:
        assert cand["id"] in final["scores"]  # every candidate ran and was scored
    assert final["results"], "no training episode ran"
    if final.get("failure"):
        revised = [e for e in final["log"] if e["node"] == "update_actions"]
        assert revised and revised[0]["kept"] + len(revised[0]["dropped"]) == 2
    assert final.get("release") or final["status"] != "published"
