"""Each domain's prompt example is played on the simulator and reaches its own goal."""

from __future__ import annotations

from pathlib import Path

import pytest

from learnact_langgraph.envs.base import GOAL_SATISFIED
from learnact_langgraph.envs.pddl import DOMAINS, load_env
from learnact_langgraph.envs.pddl.demos import DEMOS
from learnact_langgraph.episode import AgentSettings, Trajectory, build_agent_prompt


@pytest.mark.parametrize("domain", DOMAINS)
def test_demo_is_a_real_solved_trajectory(domain: str, data_dir: Path) -> None:
    env = load_env(domain, data_dir=data_dir)
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


def test_the_example_is_in_the_agent_prompt(data_dir: Path) -> None:
    env = load_env("barman", data_dir=data_dir)
    env.reset(0)
    traj = Trajectory(env.task.id, env.goal, env.observation)
    prompt = build_agent_prompt(env, [], traj, settings=AgentSettings(), examples=env.examples)
    assert "Examples:" in prompt
    assert "fill_shot('glass9', 'gin', 'left', 'right', 'tap1')" in prompt
    assert prompt.index("Examples:") < prompt.rindex("Your goal:")
