"""The acting agent graph: Act and ReAct on a live environment, resumable, tool variant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from learnact_langgraph.envs.pddl import load_env
from learnact_langgraph.errors import GraphInputError
from learnact_langgraph.graphs import agent as agent_module
from learnact_langgraph.graphs.agent import AgentContext, build_agent_graph, create_tool_agent
from learnact_langgraph.library import ActionLibrary
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.testing import scripted, scripted_model
from learnact_langgraph.testing.roles import CARRY_BALL

from .scripts import agent


def gripper_env() -> Any:
    return load_env("gripper", tasks="generated", n=2, size=3, seed=4)


CARRY = {
    "name": "carry_ball",
    "source": CARRY_BALL,
    "signature": "carry_ball(ball, from_room, to_room, gripper)",
    "description": "Carry ball from from_room to to_room in gripper.",
    "notes": [],
}


def test_missing_task_says_what_input_the_graph_needs() -> None:
    ctx = AgentContext(model=scripted(agent), env_factory=gripper_env)
    with pytest.raises(GraphInputError, match=r"needs the task to play in its input"):
        build_agent_graph().compile().invoke({}, context=ctx)


def test_act_agent_solves_a_task_with_a_learned_action() -> None:
    ctx = AgentContext(model=scripted(agent), actions=[CARRY], env_factory=gripper_env)
    out = build_agent_graph().compile().invoke({"task": "gripper/gen-4-3-0"}, context=ctx)
    assert out["success"] is True and out["progress"] == 1.0
    kinds = {s["kind"] for s in out["steps"]}
    assert "learned" in kinds
    assert out["usage"]["calls"] == len(out["steps"])


def test_react_agent_turns_think_lines_into_steps() -> None:
    turns = {"n": 0}

    def react(messages: list[BaseMessage]) -> str:
        turns["n"] += 1
        return "Think: I should carry the balls one by one." if turns["n"] == 1 else agent(messages)

    ctx = AgentContext(model=scripted(react), react=True, env_factory=gripper_env)
    out = build_agent_graph().compile().invoke({"task": "gripper/gen-4-3-0"}, context=ctx)
    assert out["steps"][0]["kind"] == "think" and out["steps"][0]["observation"] == "OK."
    assert out["success"] is True


def test_agent_run_resumes_in_a_new_process_by_replaying_its_steps() -> None:
    graph = build_agent_graph().compile(checkpointer=InMemorySaver(), interrupt_before=["execute"])
    config = {"configurable": {"thread_id": "t"}}
    ctx = AgentContext(model=scripted(agent), actions=[CARRY], env_factory=gripper_env)
    state = graph.invoke({"task": "gripper/gen-4-3-1"}, config=config, context=ctx)
    for _ in range(3):
        state = graph.invoke(None, config=config, context=ctx)
    assert len(state["steps"]) == 3
    # a new process has no live sessions: the next node rebuilds one by replaying the steps
    for sid in list(agent_module.SESSIONS._open):
        agent_module.SESSIONS.close(sid)
    while not state.get("done"):
        state = graph.invoke(None, config=config, context=ctx)
    assert state["success"] is True


@dataclass
class _ServerContext(AgentContext):
    model: Any = field(default_factory=lambda: scripted(agent))


def test_context_schema_can_carry_deployment_defaults() -> None:
    graph = build_agent_graph(_ServerContext).compile()
    out = graph.invoke(
        {"task": "gripper/gen-4-3-0"}, context=_ServerContext(env_factory=gripper_env)
    )
    assert out["success"] is True


def test_tool_calling_variant_uses_learned_actions_as_tools() -> None:
    library = ActionLibrary(InMemoryStore(), prefix=("tools",))
    env = gripper_env()
    library.set_base_actions(env)
    library.add(CARRY_BALL, name="carry_ball", description="Carry a ball between rooms.")
    env.reset(0)
    model = scripted_model()
    with Sandbox(env) as session:
        graph = create_tool_agent(model, library, session)
        graph.invoke({"messages": [("user", f"{env.goal}\n{env.observation}")]})
    assert env.done
    assert "Robby" in str(model.calls[0][0].content)  # the environment's instruction


def test_without_actions_a_run_uses_the_newest_release_in_the_graphs_store() -> None:
    store = InMemoryStore()
    library = ActionLibrary(store, prefix=("learnact", "gripper"))
    library.set_base_actions(gripper_env())
    library.add(CARRY_BALL, name="carry_ball", description="Carry a ball.")
    graph = agent_module.build_agent_graph().compile(store=store)
    ctx = AgentContext(model=scripted(agent), env_factory=gripper_env)
    out = graph.invoke({"task": 0}, context=ctx)
    assert out["success"] is True
    assert [a["name"] for a in out["actions"]] == ["carry_ball"]
    assert any(step["learned_call"] == "carry_ball" for step in out["steps"])
    # Actions given in the context win over the store.
    given = graph.invoke(
        {"task": 0},
        context=AgentContext(
            model=scripted(agent),
            env_factory=gripper_env,
            actions=[{**CARRY, "name": "carry_ball"}],
        ),
    )
    assert [a["name"] for a in given["actions"]] == ["carry_ball"]


def test_studio_input_form_asks_only_for_the_task() -> None:
    """The run's working keys (session, steps, pending line) are not input fields."""
    graph = build_agent_graph().compile()
    assert list(graph.get_input_jsonschema()["properties"]) == ["task"]
    assert {"steps", "success", "progress"} <= set(graph.get_output_jsonschema()["properties"])
