"""LearnActMiddleware inside a plain ``create_agent`` agent, offline with scripted models."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ToolCallLimitMiddleware, ToolRetryMiddleware
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.store.memory import InMemoryStore

from learnact_langgraph import prompts
from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.middleware import LearnActMiddleware, create_learnact_agent
from learnact_langgraph.testing import ScriptedChatModel
from learnact_langgraph.testing.roles import CARRY_BALL, GRIPPER_DRAFT, scripted_model
from learnact_langgraph.tool_episode import task_message
from learnact_langgraph.validation import SettingError

#: The draft the scripted learner writes: it drops the ball in the room it left.
DRAFT = GRIPPER_DRAFT.split("```python\n")[1].split("```")[0]
#: Learning settings small enough for a unit test.
SMALL = {"k": 2, "rounds": 2, "train_steps": 10}


def four_balls() -> Any:
    env = load_env("gripper", tasks="generated", n=3, size=4, seed=0)
    env.reset(0)
    return env


def new_library(env: Any, *sources: str) -> ActionLibrary:
    library = ActionLibrary(InMemoryStore(), prefix=("mw",))
    library.set_base_actions(env)
    for source in sources:
        library.add(source, name="carry_ball", description="Carry a ball between rooms.")
    return library


def ask(env: Any) -> dict[str, Any]:
    return {"messages": [("user", task_message(env))]}


def tool_messages(out: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in out["messages"] if isinstance(m, ToolMessage)]


def test_a_failed_run_learns_an_action_that_the_same_agent_then_uses_to_succeed() -> None:
    env = four_balls()
    library = new_library(env)
    learn = LearnActMiddleware(env, library=library, **SMALL)
    # Ten tool calls are too few with base actions (four balls, about 15 calls).
    budget = ToolCallLimitMiddleware(run_limit=10, exit_behavior="end")
    agent = create_agent(scripted_model(), middleware=[learn, budget])

    agent.invoke(ask(env))
    assert not env.done
    [first] = learn.trajectories
    assert not first.success and {s.kind for s in first.steps} == {"base"}
    [outcome] = learn.outcomes
    assert outcome.status == "published" and outcome.error is None
    assert library.names() == ["carry_ball"] and library.generation == 1
    # The loop changed the draft: the published code drops the ball where it went.
    assert "drop(ball, to_room, gripper)" in library.get("carry_ball").source

    env.reset(0)
    out = agent.invoke(ask(env))
    assert env.done
    second = learn.trajectories[-1]
    assert second.success and any(s.learned_call == "carry_ball" for s in second.steps)
    assert any(m.name == "carry_ball" and m.status == "success" for m in tool_messages(out))
    learn.close()


def test_a_release_published_during_a_run_is_offered_at_the_next_model_call() -> None:
    env = four_balls()
    library = new_library(env)
    seen: list[list[str]] = []

    def respond(messages: list[BaseMessage]) -> AIMessage:
        names = [t.name for t in model.bindings[-1]]
        seen.append(names)
        if len(seen) == 1:
            library.add(CARRY_BALL, name="carry_ball", description="Carry a ball.")
            call = {"name": "move", "args": {"src": "rooma", "dst": "roomb"}, "id": "c1"}
            return AIMessage(content="", tool_calls=[call])
        return AIMessage(content="done")

    model = ScriptedChatModel(respond=respond)
    learn = LearnActMiddleware(env, library=library, when="manual")
    create_agent(model, middleware=[learn]).invoke(ask(env))
    assert "carry_ball" not in seen[0] and "carry_ball" in seen[1]
    learn.close()


def test_a_revision_published_during_a_run_replaces_the_tool_offered_and_called() -> None:
    env = four_balls()
    library = new_library(env, DRAFT)
    offered: list[Any] = []

    def respond(messages: list[BaseMessage]) -> AIMessage:
        [tool] = [t for t in model.bindings[-1] if t.name == "carry_ball"]
        offered.append(tool)
        if len(offered) == 2:  # after the draft's call ran, before the next model call
            library.revise("carry_ball", source=CARRY_BALL)
        if len(offered) == 3:
            return AIMessage(content="done")
        args = {"ball": "ball1", "from_room": "roomb", "to_room": "rooma", "gripper": "left"}
        call = {"name": "carry_ball", "args": args, "id": f"c{len(offered)}"}
        return AIMessage(content="", tool_calls=[call])

    model = ScriptedChatModel(respond=respond)
    learn = LearnActMiddleware(env, library=library, when="manual")
    out = create_agent(model, middleware=[learn]).invoke(ask(env))
    # The draft dropped the ball in the room it left (undone); the revision did not.
    first, second = tool_messages(out)
    assert first.status == "error" and first.artifact["rolled_back"] is True
    assert second.status == "success" and "Ball1 is in rooma" in str(second.content)
    assert offered[0] is offered[1] and offered[2] is not offered[1]
    recorded = [(s.learned_call, s.valid) for s in learn.trajectories[-1].steps]
    assert recorded == [("carry_ball", False), ("carry_ball", True)]
    learn.close()


def test_one_middleware_in_two_agents_offers_each_its_own_tools() -> None:
    from langchain_core.tools import tool

    env = four_balls()

    @tool
    def move(from_room: str, to_room: str) -> str:
        """Move Robby from one room to another."""
        return env.call("move", from_room, to_room).observation

    learn = LearnActMiddleware(env, library=new_library(env, CARRY_BALL), when="manual")
    plain = ScriptedChatModel(respond=lambda _: AIMessage(content="done"))
    own = ScriptedChatModel(respond=lambda _: AIMessage(content="done"))
    agents = {
        "plain": create_agent(plain, middleware=[learn]),
        "own": create_agent(own, tools=[move], middleware=[learn]),
    }
    # Each agent twice in a row (the second run reuses the list), then back to the first.
    for name in ("plain", "plain", "own", "own", "plain"):
        agents[name].invoke(ask(env))
    assert (len(plain.bindings), len(own.bindings)) == (3, 2)
    ours = {t.name: t for t in learn.tools}
    for bound in plain.bindings:
        assert [t.name for t in bound] == [*ours, "carry_ball"] and bound[0] is ours["move"]
    for bound in own.bindings:
        [offered_move] = [t for t in bound if t.name == "move"]
        assert offered_move is move and "carry_ball" in [t.name for t in bound]
    learn.close()


def test_a_failed_learned_call_is_an_error_message_that_retry_middleware_sees() -> None:
    env = four_balls()
    library = new_library(env, DRAFT)
    learn = LearnActMiddleware(env, library=library, when="manual")
    retry = ToolRetryMiddleware(max_retries=1, initial_delay=0, jitter=False)
    budget = ToolCallLimitMiddleware(run_limit=1, exit_behavior="end")
    out = create_agent(scripted_model(), middleware=[learn, retry, budget]).invoke(ask(env))
    message = tool_messages(out)[0]
    assert message.name == "carry_ball" and message.status == "error"
    assert "failed after 2 attempts" in str(message.content)
    # The retry middleware's answer carries the last attempt's structured result.
    assert message.artifact["ok"] is False and message.artifact["substeps"][-1]["valid"] is False
    # Both attempts ran in the sandbox, and both are in the trajectory, with the
    # structured failure the learner revises from.
    steps = learn.trajectories[-1].steps
    assert [s.valid for s in steps] == [False, False]
    assert steps[0].failed_substep is not None and steps[0].error_kind == "invalid_action"
    learn.close()


def test_without_retry_middleware_the_failure_keeps_its_structured_artifact() -> None:
    env = four_balls()
    library = new_library(env, DRAFT)
    learn = LearnActMiddleware(env, library=library, when="manual")
    budget = ToolCallLimitMiddleware(run_limit=1, exit_behavior="end")
    out = create_agent(scripted_model(), middleware=[learn, budget]).invoke(ask(env))
    message = tool_messages(out)[0]
    assert message.status == "error" and message.artifact["ok"] is False
    assert message.artifact["substeps"][-1]["valid"] is False
    learn.close()


def test_failed_calls_of_a_library_action_are_revised_from_the_agents_own_run() -> None:
    env = four_balls()
    library = new_library(env, DRAFT)
    learn = LearnActMiddleware(env, library=library, when="failures", failures=1, **SMALL)
    agent = create_agent(scripted_model(), middleware=[learn])
    agent.invoke(ask(env), {"recursion_limit": 80})
    [outcome] = learn.outcomes
    assert outcome.status == "published"
    # Revised from the agent's own failure (no action written from scratch) ...
    assert outcome.release is not None and outcome.release["round"] == 1
    assert library.get("carry_ball").version == 2
    assert "drop(ball, to_room, gripper)" in library.get("carry_ball").source
    # ... and the rest of the same run used the fixed version and reached the goal.
    assert env.done and learn.trajectories[-1].success
    learn.close()


def test_background_learning_does_not_block_the_run_and_can_be_waited_for() -> None:
    env = four_balls()
    library = new_library(env)
    learn = LearnActMiddleware(env, library=library, background=True, **SMALL)
    budget = ToolCallLimitMiddleware(run_limit=10, exit_behavior="end")
    create_agent(scripted_model(), middleware=[learn, budget]).invoke(ask(env))
    outcome = learn.wait(timeout=120)
    assert outcome is not None and outcome.status == "published"
    assert "carry_ball" in library.names()
    learn.close()


def test_candidates_can_be_scored_with_the_users_own_agent() -> None:
    env = four_balls()
    library = new_library(env)
    model = scripted_model()
    learn = LearnActMiddleware(env, library=library, evaluate_with="agent", **SMALL)
    budget = ToolCallLimitMiddleware(run_limit=10, exit_behavior="end")
    create_agent(model, middleware=[learn, budget]).invoke(ask(env))
    [outcome] = learn.outcomes
    assert outcome.status == "published" and outcome.release is not None
    # No text-agent episodes: the candidates were played through tool calls.
    text_agent = [c for c in model.calls if prompts.AGENT_SYSTEM in str(c[0].content)]
    assert text_agent == [] and outcome.release["stats"]["learned_calls"] > 0
    assert outcome.release["usage"]["by_node"]["act"]["calls"] > 0
    learn.close()


def test_success_hook_overrides_the_environment_and_manual_learning() -> None:
    env = four_balls()
    library = new_library(env)
    learn = LearnActMiddleware(env, library=library, when="manual", success=lambda s: False)
    with pytest.raises(LearnActError, match="Nothing to learn"):
        learn.learn_now()
    create_agent(scripted_model(), middleware=[learn]).invoke(ask(env), {"recursion_limit": 80})
    assert env.done and not learn.trajectories[-1].success  # the hook said no
    assert learn.outcomes == []  # manual: nothing ran by itself
    outcome = learn.learn_now()
    assert outcome.trajectories == 1 and outcome.status in {"published", "withheld"}
    learn.close()


def test_trajectories_are_written_as_json_lines(tmp_path: Any) -> None:
    env = four_balls()
    path = tmp_path / "runs.jsonl"
    learn = LearnActMiddleware(env, library=new_library(env), when="manual", trajectory_log=path)
    create_agent(scripted_model(), middleware=[learn]).invoke(ask(env), {"recursion_limit": 80})
    from learnact_langgraph.episode import Trajectory

    [line] = path.read_text().splitlines()
    import json

    traj = Trajectory.from_dict(json.loads(line))
    assert traj.success and traj.task_id == env.task.id and traj.steps
    learn.close()


def test_create_learnact_agent_is_one_call() -> None:
    env = four_balls()
    library = new_library(env)
    agent = create_learnact_agent(
        scripted_model(),
        env,
        library=library,
        middleware=[ToolCallLimitMiddleware(run_limit=10, exit_behavior="end")],
    )
    agent.invoke(ask(env))
    assert not env.done and "carry_ball" in library.names()
    env.reset(0)
    agent.invoke(ask(env))
    assert env.done and "carry_ball" in library.names()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"when": "sometimes"}, "when"),
        ({"failures": 0}, "failures"),
        ({"evaluate_with": "magic"}, "evaluate_with"),
        ({"require_approval": True}, "without a person in the loop"),
        ({"roundz": 2}, "Unknown learner setting"),
        ({"k": 0}, "k"),
    ],
)
def test_bad_settings_are_one_clear_error(kwargs: dict[str, Any], message: str) -> None:
    env = four_balls()
    with pytest.raises(SettingError, match=message):
        LearnActMiddleware(env, library=new_library(env), **kwargs)


def test_an_object_that_is_not_an_environment_is_refused() -> None:
    with pytest.raises(SettingError, match="needs the agent's Environment"):
        LearnActMiddleware("gripper", library=new_library(four_balls()))


def test_a_learning_error_never_reaches_the_agent() -> None:
    env = four_balls()
    learn = LearnActMiddleware(env, library=new_library(env), learner_model=42, **SMALL)
    budget = ToolCallLimitMiddleware(run_limit=2, exit_behavior="end")
    create_agent(scripted_model(), middleware=[learn, budget]).invoke(ask(env))
    [outcome] = learn.outcomes
    assert outcome.status == "error" and outcome.error
    learn.close()


def test_an_agents_own_tool_with_a_base_actions_name_is_kept_and_recorded() -> None:
    from langchain_core.tools import tool

    env = four_balls()
    calls: list[str] = []

    @tool
    def move(from_room: str, to_room: str) -> str:
        """Move Robby from one room to another."""
        calls.append(f"{from_room}->{to_room}")
        return env.call("move", from_room, to_room).observation

    def respond(messages: list[BaseMessage]) -> AIMessage:
        if sum(isinstance(m, ToolMessage) for m in messages):
            return AIMessage(content="done")
        call = {"name": "move", "args": {"from_room": "roomb", "to_room": "rooma"}, "id": "m1"}
        return AIMessage(content="", tool_calls=[call])

    learn = LearnActMiddleware(env, library=new_library(env), when="manual")
    model = ScriptedChatModel(respond=respond)
    out = create_agent(model, tools=[move], middleware=[learn]).invoke(ask(env))
    assert calls == ["roomb->rooma"]  # the agent's own tool ran, not ours
    assert [t.name for t in model.bindings[-1]].count("move") == 1
    assert tool_messages(out)[0].status == "success"
    [step] = learn.trajectories[-1].steps
    assert step.action == "move('roomb', 'rooma')" and step.valid and step.kind == "base"
    learn.close()


def test_with_the_agents_own_base_tools_the_runs_are_still_recorded() -> None:
    env = four_balls()
    library = new_library(env)
    learn = LearnActMiddleware(env, library=library, base_tools=False, **SMALL)
    own = library.toolkit(env).get_tools()
    budget = ToolCallLimitMiddleware(run_limit=10, exit_behavior="end")
    create_agent(scripted_model(), tools=own, middleware=[learn, budget]).invoke(ask(env))
    assert len(learn.trajectories[-1].steps) == 10
    assert learn.outcomes[-1].status == "published"
    learn.close()


def test_an_async_agent_learns_the_same_way() -> None:
    import asyncio

    env = four_balls()
    library = new_library(env)
    learn = LearnActMiddleware(env, library=library, **SMALL)
    budget = ToolCallLimitMiddleware(run_limit=10, exit_behavior="end")
    agent = create_agent(scripted_model(), middleware=[learn, budget])
    asyncio.run(agent.ainvoke(ask(env)))
    assert not env.done and learn.outcomes[-1].status == "published"
    env.reset(0)
    asyncio.run(agent.ainvoke(ask(env)))
    assert env.done and any(s.learned_call for s in learn.trajectories[-1].steps)
    learn.close()


def test_runs_are_learned_from_once_even_past_the_kept_window() -> None:
    from learnact_langgraph.middleware import TrajectoryRecorder

    env = four_balls()
    recorder = TrajectoryRecorder(env, keep=3)
    for _ in range(5):
        recorder.start()
        recorder.finish(False)
    assert recorder.count == 5 and len(recorder.finished) == 3
    assert len(recorder.since(0)) == 3 and len(recorder.since(4)) == 1
    assert recorder.since(5) == []
