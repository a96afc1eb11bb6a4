"""Run settings that belong to an environment (EnvDefaults), and how it shows a call.

An environment states its paper protocol (test and training steps, memory, score);
every run setting left unset takes it, and an explicit setting still wins. No data.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from learnact_langgraph.envs.base import Environment
from learnact_langgraph.envs.defaults import DEFAULT_SCORE, EnvDefaults
from learnact_langgraph.episode import AgentSettings, run_episode
from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.testing import scripted
from learnact_langgraph.validation import SettingError
from tests.unit_tests.test_env_protocol import Lamps

FLIP = '''def flip_on(lamp):
    """Switch lamp on."""
    return switch(lamp, 'on')
'''


class ShortLamps(Lamps):
    """Lamps with a protocol of its own, and calls that show every sub-step."""

    name = "short-lamps"
    defaults: ClassVar[EnvDefaults] = EnvDefaults(
        max_steps=3, train_steps=2, memory_steps=1, score_terms=("call_ratio",)
    )

    def call_observation(self, observations: Any) -> str:
        return " | ".join(observations)


def test_the_planning_protocol_is_the_default_and_bad_values_fail_early() -> None:
    assert Environment.defaults == EnvDefaults(30, 10, 10, DEFAULT_SCORE)
    assert DEFAULT_SCORE == ("step_correction", "call_ratio", "success")
    for bad, error in (
        (lambda: EnvDefaults(max_steps=0), ValueError),
        (lambda: EnvDefaults(score_terms=()), ValueError),
        (lambda: LearnerContext(train_steps=0), SettingError),
        (lambda: LearnerContext(score_terms=()), SettingError),
    ):
        with pytest.raises(error, match="must"):
            bad()


def test_unset_agent_limits_take_the_environments_and_set_ones_win() -> None:
    env = ShortLamps()
    assert AgentSettings().for_env(env) == AgentSettings(3, 1, False)
    assert AgentSettings(7, 0).for_env(env) == AgentSettings(7, 0, False)
    model = scripted(lambda msgs: "Action: look()")
    with Sandbox(env) as sandbox:
        assert len(run_episode(env, sandbox, model, "lamps/1").steps) == 3
        longer = run_episode(env, sandbox, model, "lamps/1", settings=AgentSettings(5))
        assert len(longer.steps) == 5


def _learn(**settings: Any) -> dict[str, Any]:
    learner = scripted(lambda msgs: f"```python\n{FLIP}```")
    agent = scripted(lambda msgs: "Action: flip_on('a')")
    ctx = LearnerContext(
        env_factory=ShortLamps, learner_model=learner, agent_model=agent, k=1, rounds=0, **settings
    )
    return dict(learner_graph().invoke({}, context=ctx))


def test_the_learner_trains_and_scores_by_the_environments_protocol() -> None:
    result = _learn()
    episodes = list(result["results"].values())
    assert episodes and all(len(e["steps"]) <= 2 for e in episodes)
    assert any(len(e["steps"]) == 2 for e in episodes)
    for stats in result["scores"].values():
        assert stats["score"] == stats["call_ratio"]  # call_ratio alone, not the sum
    again = _learn(train_steps=4, score_terms=("call_ratio", "success"))
    assert any(len(e["steps"]) > 2 for e in again["results"].values())
    for stats in again["scores"].values():
        assert stats["score"] == pytest.approx(stats["call_ratio"] + stats["success"])


def test_a_call_shows_what_the_environment_makes_of_its_sub_steps() -> None:
    env = ShortLamps()
    env.reset("lamps/1")
    with Sandbox(env, on_error="keep") as sandbox:
        both = sandbox.run("switch('a', 'on'); switch('b', 'on')")
        assert both.ok and both.observation == "Lamp a is on. | Lamp b is on."
        half = sandbox.run("switch('a', 'off'); switch('a', 'on'); switch('a', 'on')")
        assert not half.ok
        assert "The valid sub-steps showed: Lamp a is off. | Lamp a is on." in half.observation
    plain = Lamps()
    plain.reset("lamps/1")
    with Sandbox(plain) as sandbox:
        assert sandbox.run("switch('a', 'on'); switch('b', 'on')").observation == "Lamp b is on."
