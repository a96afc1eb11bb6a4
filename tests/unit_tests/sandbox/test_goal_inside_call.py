"""A goal reached inside a learned call counts, whatever the call does afterwards.

Measured before this was fixed: on blockworld the goal was reached at sub-step 8 of a
learned call, an invalid 9th sub-step failed the call, and the rollback undid the goal.
"""

from __future__ import annotations

import pytest

from learnact_langgraph.sandbox import Sandbox
from tests.unit_tests.sandbox.toy_env import Rooms, fresh_env

OVERSHOOT = '''def overshoot():
    """Carry b1 to b (the goal), then try something invalid."""
    pick('b1', 'a')
    move('a', 'b')
    drop('b1', 'b')
    pick('b2', 'b')
    move('b', 'c')
'''


@pytest.mark.parametrize("on_error", ["restore", "keep"])
def test_goal_reached_mid_call_counts_and_the_rest_is_not_run(on_error: str) -> None:
    with Sandbox(fresh_env(), on_error=on_error) as sb:  # type: ignore[arg-type]
        sb.load({"overshoot": OVERSHOOT})
        result = sb.run("overshoot()")
        assert result.ok and not result.rolled_back
        assert [s.call for s in result.substeps] == [
            "pick('b1', 'a')",
            "move('a', 'b')",
            "drop('b1', 'b')",
        ]
        assert result.substeps[-1].done
        assert sb.env.done and sb.env.state["at"] == "b"


class HalfWay(Rooms):
    """Progress 0.5 while the robot holds b1, 1.0 once b1 is in b."""

    def goal_progress(self) -> float:
        if self.state["balls"]["b1"] == "b":
            return 1.0
        return 0.5 if self.state["hand"] == "b1" else 0.0


def test_rollback_undoes_the_state_but_not_the_progress_reached() -> None:
    env = HalfWay()
    env.reset(0)
    with Sandbox(env) as sb:
        sb.load({"grab": "def grab():\n    pick('b1', 'a')\n    move('a', 'z')\n"})
        result = sb.run("grab()")
        assert not result.ok and result.rolled_back
        assert env.state["hand"] is None  # the state is back ...
        assert env.progress == 0.5  # ... the best progress of the episode is not lost
        assert not env.done


def test_feedback_after_rollback_describes_the_restored_state() -> None:
    with Sandbox(fresh_env()) as sb:
        sb.load({"grab": "def grab():\n    pick('b1', 'a')\n    move('a', 'z')\n"})
        result = sb.run("grab()")
        assert result.rolled_back
        assert "You hold b1" not in result.observation
        assert result.observation.endswith("You are in a. b1 is in a, b2 is in c.")


def test_keep_feedback_names_the_last_valid_observation() -> None:
    with Sandbox(fresh_env(), on_error="keep") as sb:
        sb.load({"grab": "def grab():\n    pick('b1', 'a')\n    move('a', 'z')\n"})
        result = sb.run("grab()")
        assert not result.rolled_back and sb.env.state["hand"] == "b1"
        assert "Last valid observation: You hold b1." in result.observation
        assert "were kept" in result.observation
