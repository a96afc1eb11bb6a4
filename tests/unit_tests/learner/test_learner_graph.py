"""The learning loop changes things: a broken action is detected, fixed and published."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.graphs.learner import LearnerContext, build_learner_graph, learner_graph
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.testing import ScriptedChatModel, last_text, scripted

from .scripts import BUGGY, PLAN, PLAN_NOTE, REPAIR_MARK, agent, learner, text_of


def gripper_env() -> Any:
    return load_env("gripper", tasks="generated", n=3, size=2, seed=0)


def context(
    learner_model: ScriptedChatModel, agent_model: ScriptedChatModel | None = None, **kw: Any
) -> LearnerContext:
    settings: dict[str, Any] = {"k": 2, "rounds": 2, "train_steps": 10, **kw}
    return LearnerContext(
        env="gripper",
        learner_model=learner_model,
        agent_model=agent_model or scripted(agent),
        env_factory=gripper_env,
        **settings,
    )


def test_broken_action_is_fixed_scored_higher_and_published() -> None:
    library = ActionLibrary(InMemoryStore(), prefix=("test", "gripper"))
    ctx = context(scripted(learner()), library=library)
    result = learner_graph().invoke({}, context=ctx)

    selects = [e for e in result["log"] if e["node"] == "select"]
    first, second = selects[0], selects[1]
    # round 0: the buggy carry_ball fails on every call
    assert max(first["scores"].values()) == 0.0
    # the failure was found at a learned-action step, with its structured error
    update = next(e for e in result["log"] if e["node"] == "update_actions")
    assert update["kinds"] == ["update", "update"]
    # round 1: the fixed version solves the training tasks and wins
    assert second["best"].startswith("r1c")
    assert second["scores"][second["best"]] > first["scores"][first["best"]]
    assert result["status"] == "published"
    release = result["release"]
    assert "drop(ball, to_room, gripper)" in release["actions"]["carry_ball"]["source"]
    assert release["stats"]["success"] == 1.0
    # usage examples are real, successful calls recorded during evaluation
    assert any("carry_ball(" in ex for ex in release["usage_examples"])
    # the library holds the published version with provenance
    stored = library.get("carry_ball")
    assert "drop(ball, to_room, gripper)" in stored.source
    assert stored.provenance.round == 1 and stored.provenance.task_id
    assert stored.provenance.models["learner"].startswith("scripted")
    # no failure left after the fix: the loop stopped early (only one revision round)
    assert len(selects) == 2
    # costs were counted per node
    usage = result["usage"]
    assert usage["calls"] > 0 and usage["by_node"]["act"]["calls"] > 0
    assert usage["by_node"]["create_actions"]["calls"] >= 2
    assert set(result["node_seconds"]) >= {"create_actions", "act", "evaluate", "select"}
    assert 0 < release["run_seconds"] < 120


def test_without_a_library_the_release_goes_to_the_graph_store() -> None:
    store = InMemoryStore()
    result = learner_graph(store=store).invoke({}, context=context(scripted(learner())))
    assert result["release"]["library_prefix"] == ["learnact", "gripper"]
    library = ActionLibrary(store, prefix=("learnact", "gripper"))
    assert "drop(ball, to_room, gripper)" in library.get("carry_ball").source


def test_failure_detection_records_the_failed_step() -> None:
    graph = learner_graph(checkpointer=InMemorySaver())
    ctx = context(scripted(learner()), rounds=0)
    config = {"configurable": {"thread_id": "detect"}}
    result = graph.invoke({}, config=config, context=ctx)
    failure = result["failure"]
    assert failure is not None
    step = failure["step"]
    assert step["learned_call"] == "carry_ball"
    assert step["error_kind"] == "invalid_action"
    assert step["substeps"][-1]["name"] == "drop" and not step["substeps"][-1]["valid"]
    assert step["rolled_back"] is True


def test_plan_revision_adds_a_note_that_the_agent_then_sees() -> None:
    agent_model = scripted(agent)
    ctx = context(scripted(learner(revision=PLAN)), agent_model, rounds=1)
    result = learner_graph().invoke({}, context=ctx)
    update = next(e for e in result["log"] if e["node"] == "update_actions")
    assert update["kinds"] == ["plan", "plan"]
    plan_candidates = [c for c in result["candidates"] if c["origin"] == "plan"]
    assert list(plan_candidates[0]["actions"]["carry_ball"]["notes"]) == [PLAN_NOTE]
    prompts_seen = [text_of(call) for call in agent_model.calls]
    assert any(PLAN_NOTE in p and "Notes on using" in p for p in prompts_seen)


@pytest.mark.parametrize(
    "garbage",
    [
        "I would rather not write code.",
        "```python\ndef carry_ball(ball:\n    pass\n```",
        "```python\ndef carry_ball(ball):\n    return teleport(ball)\n```",
        "```python\nimport os\ndef carry_ball(ball):\n    return os.system('ls')\n```",
        "blah " * 5000,
    ],
)
def test_garbage_learner_output_is_handled_without_a_crash(garbage: str) -> None:
    model = scripted(lambda msgs: garbage)
    result = learner_graph().invoke({}, context=context(model, k=1))
    assert result["status"] == "no_candidates"
    assert result["release"] is None
    # every attempt after the first carried a repair message with the reason
    assert len(model.calls) == 4
    assert REPAIR_MARK in text_of(model.calls[-1])


def test_repair_loop_feeds_the_error_back_and_accepts_the_fix() -> None:
    def respond(msgs: list[Any]) -> str:
        return (
            BUGGY
            if REPAIR_MARK in text_of(msgs)
            else "```python\ndef carry_ball(b):\n    return teleport(b)\n```"
        )

    model = scripted(respond)
    result = learner_graph().invoke({}, context=context(model, k=1, rounds=0))
    assert [c["id"] for c in result["candidates"]] == ["r0c0"]
    assert "teleport" in text_of(model.calls[1])


def test_garbage_agent_output_becomes_invalid_steps() -> None:
    replies = ["", "Let me think.", "pick(", "```\nmove('rooma', 'roomb')\n```"]

    def garbage(msgs: list[Any]) -> str:
        # By step, not by call order: the three training episodes run in parallel.
        return replies[last_text(msgs).count("Observation") % len(replies)]

    agent_model = scripted(garbage)
    result = learner_graph().invoke(
        {}, context=context(scripted(learner()), agent_model, k=1, rounds=0)
    )
    traj = next(iter(result["results"].values()))
    kinds = [s["kind"] for s in traj["steps"]]
    assert "unparsable" in kinds and "base" in kinds
    assert len(traj["steps"]) == 10


def test_killed_run_resumes_to_the_same_result_without_redoing_episodes() -> None:
    expected = learner_graph().invoke({}, context=context(scripted(learner())))

    calls = {"n": 0, "fail_at": 25}

    def flaky_agent(msgs: list[Any]) -> str:
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise RuntimeError("power cut")
        return agent(msgs)

    graph = build_learner_graph().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "resume"}, "max_concurrency": 1}
    ctx = context(scripted(learner()), scripted(flaky_agent))
    with pytest.raises(Exception, match="power cut"):
        graph.invoke({}, config=config, context=ctx)
    before = calls["n"]
    resumed = graph.invoke(None, config=config, context=ctx)
    assert resumed["status"] == "published"
    assert resumed["release"]["actions"] == expected["release"]["actions"]
    assert resumed["release"]["stats"] == expected["release"]["stats"]
    # Episodes finished before the crash were not run again: at most the one episode
    # that crashed (10 steps) is repeated, while a restart from scratch would repeat
    # every call made before the crash (more than 10).
    uninterrupted_calls = expected["usage"]["by_node"]["act"]["calls"]
    assert before > 10 + 1
    assert uninterrupted_calls <= calls["n"] - 1 <= uninterrupted_calls + 10


def test_human_approval_interrupts_and_edit_is_published() -> None:
    library = ActionLibrary(InMemoryStore(), prefix=("test", "approval"))
    graph = build_learner_graph().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "approve"}}
    ctx = context(scripted(learner()), library=library, require_approval=True)
    paused = graph.invoke({}, config=config, context=ctx)
    assert "__interrupt__" in paused
    [request] = paused["__interrupt__"][0].value["action_requests"]
    assert request["name"] == "publish_action" and request["args"]["name"] == "carry_ball"
    edited = request["args"]["source"].replace("Carry ball", "Carry one ball")
    edit = {
        "type": "edit",
        "edited_action": {"name": "publish_action", "args": {**request["args"], "source": edited}},
    }
    done = graph.invoke(Command(resume={"decisions": [edit]}), config=config, context=ctx)
    assert done["status"] == "published"
    assert "Carry one ball" in library.get("carry_ball").source

    graph2 = build_learner_graph().compile(checkpointer=InMemorySaver())
    cfg2 = {"configurable": {"thread_id": "reject"}}
    graph2.invoke({}, config=cfg2, context=ctx)
    rejected = graph2.invoke(
        Command(resume={"decisions": [{"type": "reject"}]}), config=cfg2, context=ctx
    )
    assert rejected["status"] == "rejected" and rejected["release"] is None


def test_graph_has_the_four_learnact_roles() -> None:
    nodes = set(learner_graph().get_graph().nodes)
    assert {
        "act",
        "detect_failure",
        "create_actions",
        "update_actions",
        "evaluate",
        "select",
        "publish",
    } <= nodes
