"""Each domain's prompt example is played on the simulator and reaches its own goal."""

from __future__ import annotations

from pathlib import Path

import pytest

from learnact_langgraph.envs.base import GOAL_SATISFIED
from learnact_langgraph.envs.pddl import DOMAINS, load_env
from learnact_langgraph.envs.pddl.demos import DEMOS
from learnact_langgraph.envs.pddl.env import PDDLEnvironment
from learnact_langgraph.episode import AgentSettings, Trajectory, build_agent_prompt

GENERATED = ("gripper", "blockworld")


def _env(domain: str, source: str, request: pytest.FixtureRequest) -> PDDLEnvironment:
    """Generated tasks (no data) or the benchmark problems (skips without the data)."""
    if source == "generated":
        return load_env(domain, tasks="generated", n=2)
    return load_env(domain, data_dir=request.getfixturevalue("data_dir"))


SOURCES = [(d, "generated") for d in GENERATED] + [(d, "benchmark") for d in DOMAINS]


@pytest.mark.parametrize(("domain", "source"), SOURCES)
def test_demo_is_a_real_solved_trajectory(
    domain: str, source: str, request: pytest.FixtureRequest
) -> None:
    env = _env(domain, source, request)
    (example,) = env.examples
    lines = example.splitlines()
    assert lines[0].startswith("Your goal: The goal is to satisfy the following conditions:")
    assert [ln[len("Action: ") :] for ln in lines if ln.startswith("Action: ")] == list(
        DEMOS[domain].plan
    )
    assert lines[-1].endswith(GOAL_SATISFIED)
    assert sum(GOAL_SATISFIED in ln for ln in lines) == 1


@pytest.mark.parametrize("domain", ["gripper", "blockworld"])
def test_generated_tasks_get_the_same_example(domain: str, data_dir: Path) -> None:
    generated = load_env(domain, tasks="generated")
    assert generated.examples == load_env(domain, data_dir=data_dir).examples


@pytest.mark.parametrize(
    ("domain", "source", "call"),
    [
        ("blockworld", "generated", "Unstack('red', 'blue')"),
        ("barman", "benchmark", "fill_shot('glass9', 'gin', 'left', 'right', 'tap1')"),
    ],
)
def test_the_example_is_in_the_agent_prompt(
    domain: str, source: str, call: str, request: pytest.FixtureRequest
) -> None:
    env = _env(domain, source, request)
    env.reset(0)
    traj = Trajectory(env.task.id, env.goal, env.observation)
    prompt = build_agent_prompt(env, [], traj, settings=AgentSettings(), examples=env.examples)
    assert "Examples:" in prompt
    assert call in prompt and call in DEMOS[domain].plan
    assert prompt.index("Examples:") < prompt.rindex("Your goal:")
