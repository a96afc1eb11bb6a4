"""The learner as a subgraph: its own settings, its own working state, typed input/output."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore
from typing_extensions import TypedDict

from learnact_langgraph.errors import GraphInputError
from learnact_langgraph.graphs import create_learner, learner_graph
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.testing import scripted
from learnact_langgraph.validation import SettingError

from .scripts import agent, learner
from .test_learner_graph import gripper_env


class Parent(TypedDict, total=False):
    status: str  # the learner has a "status" of its own: they must not clash
    log: Annotated[list[str], operator.add]
    learnact_tasks: list[str]
    learnact_status: str
    learnact_release: dict[str, Any] | None


@dataclass
class ParentContext:
    user: str = "ada"


def plan(state: Parent, runtime: Runtime[ParentContext]) -> dict[str, Any]:
    tasks = [t.id for t in gripper_env().tasks()[:2]]
    return {"status": "planning", "log": [f"{runtime.context.user} plans"], "learnact_tasks": tasks}


def report(state: Parent, runtime: Runtime[ParentContext]) -> dict[str, Any]:
    return {"log": [f"learner said {state['learnact_status']}"]}


def parent_graph(learn: Any) -> Any:
    g = StateGraph(Parent, context_schema=ParentContext)
    g.add_node("plan", plan)
    g.add_node("learn", learn)
    g.add_node("report", report)
    g.add_edge(START, "plan")
    g.add_edge("plan", "learn")
    g.add_edge("learn", "report")
    g.add_edge("report", END)
    return g


def test_the_learner_runs_as_a_subgraph_with_another_state_and_context() -> None:
    store = InMemoryStore()
    learn = create_learner(
        scripted(learner()),
        env=gripper_env,
        agent_model=scripted(agent),
        k=2,
        rounds=2,
        train_steps=10,
    )
    out = parent_graph(learn).compile(store=store).invoke({}, context=ParentContext())
    assert out["status"] == "planning"  # the parent's own key, untouched
    assert out["log"] == ["ada plans", "learner said published"]
    release = out["learnact_release"]
    assert release["actions"]["carry_ball"]["source"].count("drop(ball, to_room") == 1
    # store=None: the release went to the parent graph's store.
    library = ActionLibrary(store, prefix=release["library_prefix"])
    assert library.names() == ["carry_ball"]
    assert set(out) == {"status", "log", "learnact_tasks", "learnact_status", "learnact_release"}


def test_the_output_schema_keeps_the_working_state_inside() -> None:
    library = ActionLibrary(InMemoryStore(), prefix=("compose",))
    learn = create_learner(
        scripted(learner()), env=gripper_env, agent_model=scripted(agent), library=library, k=2
    )
    out = learn.invoke({"learnact_tasks": [gripper_env().tasks()[0].id]})
    assert set(out) == {"learnact_status", "learnact_release"}
    assert out["learnact_status"] == "published" and library.names() == ["carry_ball"]
    assert set(learn.get_input_jsonschema()["properties"]) == {
        "learnact_tasks",
        "learnact_trajectories",
    }


def test_the_studio_learner_in_a_graph_with_another_context_says_what_to_do() -> None:
    graph = parent_graph(learner_graph()).compile()
    with pytest.raises(GraphInputError, match="create_learner"):
        graph.invoke({}, context=ParentContext())


def test_an_unknown_setting_is_one_clear_error() -> None:
    with pytest.raises(SettingError, match="Unknown learner setting.*roundz"):
        create_learner(scripted(learner()), env=gripper_env, roundz=3)
    with pytest.raises(SettingError, match="env must be"):
        create_learner(scripted(learner()), env=42)  # type: ignore[arg-type]
