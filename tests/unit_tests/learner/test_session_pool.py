"""The session pool: warm environments and sandboxes are reused, never shared or leaked."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from learnact_langgraph.graphs.learner import learner_graph
from learnact_langgraph.graphs.session_pool import POOL, SessionPool
from learnact_langgraph.testing import scripted

from .scripts import agent, learner
from .test_learner_graph import context, gripper_env

GO = "def go():\n    return 'went'\n"
STAY = "def stay():\n    return 'stayed'\n"


def test_a_second_learning_run_reuses_the_first_runs_environments() -> None:
    POOL.close_idle()
    made: list[int] = []

    def counted_env() -> Any:
        made.append(1)
        return gripper_env()

    ctx = replace(context(scripted(learner()), scripted(agent), k=4), env_factory=counted_env)
    first = learner_graph().invoke({}, context=ctx)
    built_first = len(made)
    ctx = replace(ctx, learner_model=scripted(learner()), agent_model=scripted(agent))
    second = learner_graph().invoke({}, context=ctx)
    assert first["status"] == second["status"] == "published"
    assert first["best"]["actions"] == second["best"]["actions"]
    assert built_first <= 17  # 49 before the pool: one per episode, dry run and lookup
    assert len(made) - built_first <= 4
    POOL.close_idle()


def test_a_reused_sandbox_holds_only_the_new_users_actions() -> None:
    pool = SessionPool()
    env = gripper_env()
    with pool.session("k", lambda: env, sources={"go": GO}) as (_, sandbox):
        assert sandbox.call("go").value == "went"
    with pool.session("k", lambda: gripper_env(), sources={"stay": STAY}) as (again, sandbox):
        assert again is env and pool.reused == 1
        env.reset(0)
        assert sandbox.sources == {"stay": STAY}
        assert sandbox.call("stay").value == "stayed"
        gone = sandbox.run("go()")
        assert not gone.ok and "go" in gone.message
    with pool.session("k", lambda: gripper_env()) as (_, sandbox):
        assert sandbox.sources == {}
    assert pool.close_idle() == 1


def test_a_session_whose_user_failed_is_closed_not_kept() -> None:
    pool = SessionPool()
    with pytest.raises(RuntimeError), pool.session("k", gripper_env) as (_, sandbox):
        raise RuntimeError("the episode broke")
    assert pool.close_idle() == 0
    with pytest.raises(Exception, match="closed"):
        sandbox.run("1")


def test_idle_sessions_are_few_and_expire() -> None:
    pool = SessionPool(max_idle=2, idle_s=0.0)
    for key in ("a", "b", "c"):
        with pool.session(key, gripper_env):
            pass
    with pool.session("a", gripper_env):
        assert pool.reused == 0  # "a" was evicted (only 2 kept), the others expired
    assert pool.close_idle() == 1


def test_different_settings_never_share_a_session() -> None:
    pool = SessionPool()
    with pool.session("k", gripper_env, on_error="keep") as (_, sandbox):
        assert sandbox.on_error == "keep"
    with pool.session("k", gripper_env, on_error="restore") as (_, sandbox):
        assert sandbox.on_error == "restore" and pool.reused == 0
    assert pool.close_idle() == 2
