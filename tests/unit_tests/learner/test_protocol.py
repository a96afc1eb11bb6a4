"""One test per point where the loop now follows the paper's protocol (issue 11).

Each test shows the new behaviour on generated gripper or blockworld tasks, with
scripted models (no network): reflections written by the learner model with a worked
example, ``on_error`` as a setting with ``keep`` in the bench, usage examples in
training prompts, worked revision cases, the dry run, the learner temperature, top-level
constants, and the rule that a set whose every call failed is not published unattended.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from learnact_langgraph.bench.methods import MethodSettings, episode
from learnact_langgraph.bench.runner import BenchConfig, run_bench
from learnact_langgraph.bench.store import ResultStore
from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.envs.pddl.scripted import gripper_policy
from learnact_langgraph.graphs.baselines import BaselineContext, reflexion_graph
from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
from learnact_langgraph.learning import create_candidate, generate_code
from learnact_langgraph.models import resolve_roles, temperature_of
from learnact_langgraph.parsing import extract_functions
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.testing import ScriptedChatModel, scripted, scripted_model
from learnact_langgraph.testing.roles import CARRY_BALL
from tests.unit_tests.learner.scripts import BUGGY

GRIPPER_TASKS = ["gripper/gen-0-2-0", "gripper/gen-0-2-1"]


def gripper_env() -> Any:
    return load_env("gripper", tasks="generated", n=3, size=2, seed=0)


def blocks_env() -> Any:
    return load_env("blockworld", tasks="generated", n=3, size=3, seed=0)


def gripper_context(learner: Any, agent: Any, **kw: Any) -> LearnerContext:
    """One candidate learned on two generated gripper tasks (no revision unless asked)."""
    settings: dict[str, Any] = {"k": 1, "rounds": 0, **kw}
    return LearnerContext(
        env="gripper",
        learner_model=scripted(learner),
        agent_model=agent,
        env_factory=gripper_env,
        train_task_ids=GRIPPER_TASKS,
        **settings,
    )


def last(messages: list[BaseMessage]) -> str:
    return str(messages[-1].content)


# ----- 1. Reflexion: the learner model writes the reflections, shown a worked example ------
def test_reflections_come_from_the_learner_model_with_a_worked_example() -> None:
    seen: list[str] = []

    def learner(messages: list[BaseMessage]) -> str:
        seen.append(last(messages))
        return f"Plan: learner plan {len(seen)}"

    agent = scripted(lambda m: "Pickup('nothing')")  # never solves anything
    ctx = BaselineContext(
        env="blockworld",
        model=agent,
        reflection_model=scripted(learner),
        env_factory=blocks_env,
        train_task_ids=["blockworld/gen-0-3-0"],
        rounds=3,
        train_steps=2,
    )
    state = reflexion_graph().invoke({}, context=ctx)
    # Written by the learner; the label it copied from the example is stripped.
    # At most two are kept (the paper's), the latest ones.
    assert state["reflections"] == ["learner plan 2", "learner plan 3"]
    assert len(seen) == 3
    assert "Here is an example of an attempt that failed" in seen[0]
    assert blocks_env().reflection_example() in seen[0]


def test_the_bench_gives_reflexion_the_learner_model_and_records_it(tmp_path: Path) -> None:
    asked: list[str] = []

    def learner(messages: list[BaseMessage]) -> str:
        asked.append(last(messages))
        return "Move one block at a time."

    config = BenchConfig(
        methods=["act_reflexion"],
        domains=["blockworld"],
        tasks="generated",
        tasks_per_domain=1,
        max_steps=2,
        train_steps=2,
        rounds=1,
    )
    agent = scripted(lambda m: "Pickup('nothing')")
    run_bench(config, model=agent, learner_model=scripted(learner), out=str(tmp_path))
    assert asked and all("write a plan for your next attempt" in a for a in asked)
    [run] = ResultStore(str(tmp_path)).manifest()["runs"].values()
    assert run["models"]["reflections"] == run["models"]["learner"]
    assert run["on_error"] == "keep" and run["settings"]["on_error"] == "keep"
    [artifact] = ResultStore(str(tmp_path)).artifacts(
        next(iter(ResultStore(str(tmp_path)).manifest()["runs"]))
    )
    assert artifact["reflections_by"] == run["models"]["learner"]


# ----- 2. on_error: a setting everywhere, keep in the bench, a goal inside a call counts ---
OVERSHOOT = '''def carry_ball(ball, from_room, to_room, gripper):
    """Carry ball to to_room, then (wrongly) try to go on with the same gripper."""
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    drop(ball, to_room, gripper)
    return drop(ball, to_room, gripper)
'''


@pytest.mark.parametrize("on_error", ["keep", "restore"])
def test_a_bench_episode_keeps_a_goal_reached_inside_a_failed_call(
    on_error: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def one_ball(self: MethodSettings) -> Any:
        return load_env("gripper", tasks="generated", n=1, size=1, seed=3)

    monkeypatch.setattr(MethodSettings, "make_env", one_ball)
    model = scripted(lambda m: gripper_policy(last(m) + "\ncarry_ball("))
    s = MethodSettings("gripper", model, model, tasks="generated", max_steps=4, on_error=on_error)  # type: ignore[arg-type]
    signature = "carry_ball(ball, from_room, to_room, gripper)"
    artifact = {
        "actions": {
            "carry_ball": {"name": "carry_ball", "source": OVERSHOOT, "signature": signature}
        }
    }
    traj, _, _ = episode("learnact", s, one_ball(s).tasks()[0].id, artifact)
    call = next(st for st in traj.steps if st.learned_call == "carry_ball")
    # The 4th sub-step would have failed the call (and, with restore, undone the goal).
    assert call.valid and len(call.substeps) == 3 and call.substeps[-1]["done"]
    assert traj.success and traj.progress == 1.0


def test_on_error_is_a_setting_of_every_context_and_of_the_bench() -> None:
    assert BenchConfig().on_error == "keep"  # the paper's behaviour, for reproduction
    assert LearnerContext().on_error == "restore"
    assert LearnerContext(on_error="keep").on_error == "keep"
    assert BaselineContext(on_error="keep").on_error == "keep"
    from learnact_langgraph.validation import SettingError

    for make in (BenchConfig, LearnerContext, BaselineContext):
        with pytest.raises(SettingError, match="on_error must be one of keep, restore"):
            make(on_error="undo")  # type: ignore[operator]


# ----- 3 and 5. Every candidate carries a usage example; the dry run repairs a NameError --
BROKEN = '''```python
def carry_ball(ball, from_room, to_room, gripper):
    """Carry ball from from_room to to_room."""
    for room in []:
        start = room
    pick(ball, start, gripper)
    move(from_room, to_room)
    return drop(ball, to_room, gripper)

carry_ball('ball1', 'roomb', 'rooma', 'left')
```'''
FIXED = f"```python\n{CARRY_BALL}\n\ncarry_ball('ball1', 'roomb', 'rooma', 'left')\n```"


def test_the_dry_run_catches_a_name_error_and_the_repair_fixes_it() -> None:
    replies = iter([BROKEN, FIXED])
    sent: list[list[BaseMessage]] = []

    def learner(messages: list[BaseMessage]) -> str:
        sent.append(list(messages))
        return next(replies)

    env = gripper_env()
    env.reset(0)
    candidate = create_candidate(
        scripted(learner),
        env,
        candidate_id="c0",
        examples=[],
        action_example="pick('ball1', 'rooma', 'left')",
        tool_example="",
        check=lambda src: [],
        seed=0,
        state=env.observation,
        dry_run=_runner(),
    )
    assert not isinstance(candidate, type(None)) and hasattr(candidate, "actions")
    assert len(sent) == 2
    feedback = str(sent[1][-1].content)
    assert "UnboundLocalError" in feedback and "carry_ball('ball1'" in feedback
    assert (
        candidate.revision["repaired"] and "UnboundLocalError" in candidate.revision["repaired"][0]
    )
    # The call that ran becomes the candidate's usage example: real, whole observations.
    [example] = candidate.usage_examples
    assert example.startswith("Observation: ") and "Action: carry_ball('ball1'" in example
    assert example.rstrip().endswith(".")


def _runner() -> Any:
    from learnact_langgraph.dry_run import runner_for

    return runner_for(gripper_env, GRIPPER_TASKS[0])


def test_training_prompts_carry_the_candidates_usage_example() -> None:
    agent_prompts: list[str] = []
    roles = scripted_model()

    def learner(messages: list[BaseMessage]) -> str:
        text = last(messages)
        if "write new, higher-level actions" in text:
            return FIXED
        return str(roles.respond(messages))

    def agent(messages: list[BaseMessage]) -> str:
        agent_prompts.append(last(messages))
        return gripper_policy(last(messages) + "\ncarry_ball(")

    learner_graph().invoke({}, context=gripper_context(learner, scripted(agent)))
    assert agent_prompts
    first = agent_prompts[0]
    examples = first.split("Examples:", 1)[1]
    assert examples.lstrip().startswith("Observation: ") and "Action: carry_ball(" in examples


# ----- 4. The revision prompt shows worked Update and Plan cases --------------------------
def test_the_revision_prompt_carries_the_worked_update_and_plan_cases() -> None:
    seen: list[str] = []
    roles = scripted_model()

    def learner(messages: list[BaseMessage]) -> str:
        if "Improve the actions in one of two ways" in last(messages):
            seen.append(last(messages))
        return str(roles.respond(messages))

    result = learner_graph().invoke({}, context=gripper_context(learner, roles, rounds=1))
    assert seen, "the scripted draft fails, so a revision is asked for"
    cases = gripper_env().revision_examples()
    assert cases and cases in seen[0]
    assert "Improve: Update:" in cases and "Improve: Plan:" in cases
    assert result["status"] == "published"


class Tempered(ScriptedChatModel):
    """A scripted model with a temperature setting, as provider models have."""

    temperature: float = 0.0


# ----- 6. The learner samples at the learner temperature, whichever model learns --------
def test_the_learner_samples_at_its_temperature_even_when_it_is_the_agent_model() -> None:
    model = Tempered(respond=last)
    agent, learner = resolve_roles(model, None, learner_temperature=0.7)
    assert temperature_of(agent) == 0 and temperature_of(learner) == 0.7


def test_the_bench_records_the_temperatures(tmp_path: Path) -> None:
    config = BenchConfig(
        methods=["act"],
        domains=["gripper"],
        tasks="generated",
        tasks_per_domain=1,
        max_steps=1,
        learner_temperature=0.3,
    )
    run_bench(config, model=Tempered(respond=lambda m: "move('rooma', 'roomb')"), out=str(tmp_path))
    [run] = ResultStore(str(tmp_path)).manifest()["runs"].values()
    assert run["temperatures"] == {"agent": 0.0, "learner": 0.3}
    assert run["settings"]["learner_temperature"] == 0.3


# ----- 7. Top-level constants are kept; a set whose every call fails is not published -----
def test_top_level_constants_travel_with_the_functions_that_use_them() -> None:
    got = extract_functions(
        "```python\nLEFT = 'left'\nUNUSED = 3\n\n"
        "def grab(ball, room):\n    return pick(ball, room, LEFT)\n\n"
        "def hop(a, b):\n    return move(a, b)\n\ngrab('ball1', 'rooma')\n```"
    )
    assert got.functions["grab"].startswith("LEFT = 'left'\n")
    assert "LEFT" not in got.functions["hop"] and "UNUSED" not in got.functions["grab"]
    assert got.calls == ["grab('ball1', 'rooma')"]
    env = gripper_env()
    env.reset(0)
    with Sandbox(env) as sandbox:
        sandbox.load({"grab": got.functions["grab"]})
        result = sandbox.run("grab('ball1', 'rooma')")
        assert result.error_kind != "python_exception", result.message


ALWAYS_FAILS = BUGGY  # drops the ball in the room Robby has just left


def _failing_context(**kw: Any) -> LearnerContext:
    roles = scripted_model()

    def learner(messages: list[BaseMessage]) -> str:
        if "write new, higher-level actions" in last(messages):
            return ALWAYS_FAILS
        return str(roles.respond(messages))

    return gripper_context(learner, roles, **kw)


def test_a_set_whose_every_call_failed_is_withheld() -> None:
    result = learner_graph().invoke({}, context=_failing_context())
    assert result["status"] == "withheld" and result.get("release") is None
    [entry] = [e for e in result["log"] if e.get("node") == "publish"]
    assert "every one of its" in entry["reason"]


def test_a_person_may_still_approve_a_set_whose_every_call_failed() -> None:
    graph = learner_graph(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    ctx = _failing_context(require_approval=True)
    paused = graph.invoke({}, config, context=ctx)
    [question] = paused["__interrupt__"]
    [request] = question.value["action_requests"]
    assert "every one of its" in request["description"]
    approve = {"decisions": [{"type": "approve"}]}
    result = graph.invoke(Command(resume=approve), config, context=ctx)
    assert result["status"] == "published"


def test_generate_code_reports_no_test_calls_to_the_model() -> None:
    replies = iter([f"```python\n{CARRY_BALL}\n```", FIXED])
    result, _ = generate_code(
        scripted(lambda m: next(replies)),
        "write",
        known={"pick", "move", "drop"},
        check=lambda src: [],
        node="create_actions",
        dry_run=_runner(),
    )
    assert result.attempts == 2 and "no example calls" in result.errors[0]
    assert result.examples


def _edit(name: str, source: str) -> dict[str, Any]:
    """An ``HITLResponse`` editing the one learned action under review."""
    action = {"name": "publish_action", "args": {"name": name, "source": source}}
    return {"decisions": [{"type": "edit", "edited_action": action}]}


def test_a_human_edit_passes_the_same_gate_as_learned_code() -> None:
    graph = learner_graph(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "edit"}}
    ctx = _failing_context(require_approval=True)
    graph.invoke({}, config, context=ctx)
    bad = "import os\n\ndef carry_ball(ball, a, b, g):\n    return os.system('id')\n"
    again = graph.invoke(Command(resume=_edit("carry_ball", bad)), config, context=ctx)
    [question] = again["__interrupt__"]
    assert question.value["problems"] and "os" in " ".join(question.value["problems"])
    good = CARRY_BALL + "\n"
    result = graph.invoke(Command(resume=_edit("carry_ball", good)), config, context=ctx)
    assert result["status"] == "published"
    assert result["release"]["actions"]["carry_ball"]["source"].strip() == CARRY_BALL.strip()


def test_usage_examples_keep_whole_observations() -> None:
    from learnact_langgraph.episode import Step, Trajectory
    from learnact_langgraph.usage_examples import usage_examples_from

    long_state = " ".join(f"Shot{i} is clean." for i in range(60))  # > 300 characters
    step = Step("fill('shot1')", long_state + " Shot1 is full.", "learned", True, long_state)
    step = Step(**{**step.__dict__, "learned_call": "fill"})
    [example] = usage_examples_from([Trajectory("t", "g", long_state, steps=[step])])
    after = f"{long_state} Shot1 is full."
    assert example == f"Observation: {long_state}\nAction: fill('shot1')\nObservation: {after}"
