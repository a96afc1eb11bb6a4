"""A person approves a learner release in LangChain's human-in-the-loop format.

Real learner-graph runs on generated gripper tasks with scripted models (offline): the
run stops at ``publish`` with an ``HITLRequest`` and resumes with an ``HITLResponse``.
Edits pass the gate and a dry run in the sandbox; a refused or malformed answer is
asked again with the reasons, and nothing is published until an answer passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, TypedDict

from langchain.agents.middleware.human_in_the_loop import HITLRequest, HITLResponse
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command
from pydantic import TypeAdapter

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.graphs.approval import TOOL, approval_request, review
from learnact_langgraph.graphs.learner import LearnerContext, build_learner_graph
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.sandbox import LearnedCodeError, SubprocessBackend, register_backend
from learnact_langgraph.testing import scripted

from .scripts import agent, learner

CARRY = '''def carry_ball(ball, from_room, to_room, gripper):
    """Carry ball from from_room to to_room in gripper."""
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    return drop(ball, to_room, gripper)
'''
TRAVEL = '''def travel(from_room, to_room):
    """Go from from_room to to_room."""
    return move(from_room, to_room)
'''
CARRY_BY_TRAVEL = CARRY.replace("move(from_room, to_room)", "travel(from_room, to_room)")
CALLS = "carry_ball('ball1', 'rooma', 'roomb', 'left')\ntravel('roomb', 'rooma')"
ONE = f"```python\n{CARRY}\ncarry_ball('ball1', 'rooma', 'roomb', 'left')\n```"
TWO = f"```python\n{TRAVEL}\n{CARRY}\n{CALLS}\n```"
TWO_LINKED = f"```python\n{TRAVEL}\n{CARRY_BY_TRAVEL}\n{CALLS}\n```"

APPROVE = {"type": "approve"}
REJECT = {"type": "reject", "message": "not now"}


def gripper_env() -> Any:
    return load_env("gripper", tasks="generated", n=3, size=2, seed=0)


def context(creation: str, library: ActionLibrary | None) -> LearnerContext:
    return LearnerContext(
        env="gripper",
        learner_model=scripted(learner(creation=creation)),
        agent_model=scripted(agent),
        env_factory=gripper_env,
        k=1,
        rounds=1,
        train_steps=10,
        library=library,
        require_approval=True,
    )


class Review:
    """One learner run paused at ``publish``; :meth:`answer` resumes it."""

    def __init__(self, creation: str, library: ActionLibrary | None, thread: str) -> None:
        self.graph = build_learner_graph().compile(checkpointer=InMemorySaver())
        self.config: Any = {"configurable": {"thread_id": thread}}
        self.ctx = context(creation, library)
        self.result = self.graph.invoke({}, self.config, context=self.ctx)

    @property
    def question(self) -> dict[str, Any]:
        [pending] = self.result["__interrupt__"]
        return dict(pending.value)

    def answer(self, resume: Any) -> dict[str, Any]:
        self.result = self.graph.invoke(Command(resume=resume), self.config, context=self.ctx)
        return self.result


def library() -> ActionLibrary:
    return ActionLibrary(InMemoryStore(), prefix=("test", "approval"))


def edit(name: str, source: str) -> dict[str, Any]:
    return {
        "type": "edit",
        "edited_action": {"name": TOOL, "args": {"name": name, "source": source}},
    }


def names(question: Mapping[str, Any]) -> list[str]:
    return [r["args"]["name"] for r in question["action_requests"]]


def test_the_question_is_a_hitl_request_and_approve_publishes() -> None:
    lib = library()
    run = Review(ONE, lib, "approve")
    question = run.question
    TypeAdapter(HITLRequest).validate_python(question)
    assert set(question) == {"action_requests", "review_configs"}
    [request] = question["action_requests"]
    assert request["name"] == TOOL and request["args"]["name"] == "carry_ball"
    assert request["args"]["source"].strip() == CARRY.strip()
    assert "carry_ball" in request["description"] and "success=" in request["description"]
    assert question["review_configs"] == [
        {"action_name": TOOL, "allowed_decisions": ["approve", "edit", "reject"]}
    ]
    answer: HITLResponse = {"decisions": [{"type": "approve"}]}
    done = run.answer(answer)
    assert done["status"] == "published"
    assert lib.get("carry_ball").source.strip() == CARRY.strip()


def test_rejecting_every_action_publishes_nothing() -> None:
    lib = library()
    run = Review(TWO, lib, "reject")
    assert names(run.question) == ["travel", "carry_ball"]
    done = run.answer({"decisions": [REJECT, REJECT]})
    assert done["status"] == "rejected" and done["release"] is None
    assert lib.names() == []


def test_an_edit_importing_os_is_refused_and_the_library_keeps_working() -> None:
    lib = library()
    assert Review(ONE, lib, "first").answer({"decisions": [APPROVE]})["status"] == "published"
    generation = lib.generation

    run = Review(ONE, lib, "second")
    bad = "import os\n\n" + CARRY.replace("pick(ball", "os.system('id')\n    pick(ball")
    again = run.answer({"decisions": [edit("carry_ball", bad)]})
    question = run.question
    assert again.get("release") is None and "os" in " ".join(question["problems"])
    assert "'os'" in question["action_requests"][0]["description"]
    assert question["action_requests"][0]["args"]["source"].strip() == CARRY.strip()
    assert lib.generation == generation  # nothing was published

    assert run.answer({"decisions": [REJECT]})["status"] == "rejected"
    tools = {t.name for t in lib.as_tools(gripper_env())}
    assert {"pick", "move", "drop", "carry_ball"} <= tools
    assert lib.get("carry_ball").source.strip() == CARRY.strip()


def test_an_edit_that_fails_when_run_is_refused_then_a_good_edit_is_published() -> None:
    lib = library()
    run = Review(ONE, lib, "dry-run")
    misspelled = CARRY.replace("pick(ball", "pik(ball")  # passes the gate, fails when run
    run.answer({"decisions": [edit("carry_ball", misspelled)]})
    problems = " ".join(run.question["problems"])
    assert "NameError" in problems and "pik" in problems
    assert lib.names() == []

    good = CARRY.replace("Carry ball", "Carry one ball")
    done = run.answer({"decisions": [edit("carry_ball", good)]})
    assert done["status"] == "published"
    assert "Carry one ball" in lib.get("carry_ball").source
    assert done["release"]["actions"]["carry_ball"]["source"] == good


def test_a_malformed_answer_is_asked_again_with_a_reason() -> None:
    run = Review(ONE, library(), "malformed")
    refused = {
        "approve": "one decision per action request",
        '{"decisions": []}': "got 0",
        "respond": "decision type 'respond' is not allowed",
        "no source": "edited_action.args.source",
        "rename": "cannot rename",
    }
    answers: list[Any] = [
        "approve",
        {"decisions": []},
        {"decisions": [{"type": "respond", "message": "hi"}]},
        {"decisions": [{"type": "edit", "edited_action": {"name": TOOL, "args": {}}}]},
        {"decisions": [edit("carry_all", CARRY)]},
    ]
    for answer, reason in zip(answers, refused.values(), strict=True):
        again = run.answer(answer)
        assert "__interrupt__" in again and again.get("release") is None
        assert reason in " ".join(run.question["problems"]), answer
        assert reason in run.question["action_requests"][0]["description"]
    assert run.answer({"decisions": [APPROVE]})["status"] == "published"


def test_rejecting_one_of_two_actions_publishes_only_the_other() -> None:
    lib = library()
    run = Review(TWO, lib, "one-of-two")
    done = run.answer({"decisions": [REJECT, APPROVE]})
    assert done["status"] == "published"
    assert set(done["release"]["actions"]) == {"carry_ball"} and lib.names() == ["carry_ball"]
    assert not any("travel(" in e for e in done["release"]["usage_examples"])


def test_keeping_an_action_that_calls_a_rejected_one_is_refused() -> None:
    lib = library()
    run = Review(TWO_LINKED, lib, "linked")
    run.answer({"decisions": [REJECT, APPROVE]})
    assert "carry_ball: `carry_ball` calls travel" in run.question["problems"][0]
    assert lib.names() == []
    done = run.answer({"decisions": [APPROVE, APPROVE]})
    assert done["status"] == "published" and sorted(lib.names()) == ["carry_ball", "travel"]


# ----- review() on its own, in a one-node graph -------------------------------------------
class _State(TypedDict, total=False):
    out: Any


def _review_graph(best: dict[str, Any], ctx: Any) -> Callable[[Any], dict[str, Any]]:
    def node(state: _State) -> _State:
        return {"out": review(best, ctx)}

    g: StateGraph[Any, Any, Any, Any] = StateGraph(_State)
    g.add_node("review", node)
    g.add_edge(START, "review")
    g.add_edge("review", END)
    graph = g.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "review"}}
    graph.invoke({}, config)
    return lambda resume: graph.invoke(Command(resume=resume), config)


class _NoLoad(SubprocessBackend):
    """A backend that cannot load code marked ``# unloadable``."""

    def load(self, sources: Mapping[str, str]) -> None:
        if any("# unloadable" in s for s in sources.values()):
            raise LearnedCodeError("the worker could not compile it")
        super().load(sources)


def _no_load(base: Sequence[str], limits: Any) -> SubprocessBackend:
    return _NoLoad(base, limits)


def test_an_edit_with_no_example_call_is_still_loaded_in_the_sandbox() -> None:
    register_backend("approval-test-noload", _no_load)
    ctx = SimpleNamespace(env_factory=gripper_env, sandbox_backend="approval-test-noload")
    best = {"id": "r0c0", "actions": {"carry_ball": {"source": CARRY, "description": "x"}}}
    answer = _review_graph(best, ctx)
    again = answer({"decisions": [edit("carry_ball", CARRY + "# unloadable\n")]})
    [pending] = again["__interrupt__"]
    assert "could not compile" in " ".join(pending.value["problems"])
    fine = CARRY.replace("Carry ball", "Carry a ball")
    done = answer({"decisions": [edit("carry_ball", fine)]})
    published, status = done["out"]
    assert status == "approved" and published["actions"]["carry_ball"]["source"] == fine
    assert published["edited_by_human"] == ["carry_ball"]


def test_the_request_shows_the_warning_and_each_actions_problems() -> None:
    best = {
        "id": "r1c0",
        "round": 1,
        "stats": {"success": 0.5},
        "actions": {"a": {"source": "def a():\n    pass\n"}, "b": {"source": "def b(): ..."}},
    }
    request = approval_request(best, warning="careful", problems={"b": ["bad b"]})
    first, second = request["action_requests"]
    assert "careful" in first["description"] and "success=0.5" in first["description"]
    assert "bad b" in second["description"] and "bad b" not in first["description"]
    assert request["problems"] == ["b: bad b"]  # type: ignore[typeddict-item]
