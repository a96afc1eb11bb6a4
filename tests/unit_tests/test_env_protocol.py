"""Behaviour every environment inherits from `envs/base.py`, checked on a tiny env."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

import pytest

from learnact_langgraph.envs import (
    GOAL_SATISFIED,
    INVALID_PRECONDITION,
    INVALID_UNKNOWN,
    BaseAction,
    Environment,
    Param,
    StepResult,
    Task,
    base_action,
    format_call,
)
from learnact_langgraph.errors import EnvironmentError_

# Which lamps must end up on; any lamp not listed must end up off.
GOALS = [{"a", "b"}, {"b", "c"}, {"a", "c"}]


class Lamps(Environment):
    """Three lamps; switch them so that exactly the goal's lamps are on."""

    name = "lamps"
    instruction = "Switch lamps on or off."

    def tasks(self) -> list[Task]:
        return [
            Task(
                id=f"lamps/{i}",
                domain="lamps",
                index=i,
                split="train" if i < 2 else "test",
                meta={"goal": " and ".join(sorted(g)) + " on"},
            )
            for i, g in enumerate(GOALS)
        ]

    def _reset(self, task: Task) -> str:
        self.state = {"on": {"c"} if task.index == 0 else set(), "goal": GOALS[task.index]}
        return f"Lamps on: {sorted(self.state['on'])}."

    def goal_progress(self) -> float:
        on, goal = self.state["on"], self.state["goal"]
        return sum((lamp in on) == (lamp in goal) for lamp in "abc") / 3

    @base_action
    def switch(self, lamp: str, position: str) -> StepResult | str:
        """Turn a lamp 'on' or 'off'."""
        call = format_call("switch", [lamp, position])
        if lamp not in "abc" or position not in ("on", "off"):
            return self.refuse(call, "bad_arguments")
        if (lamp in self.state["on"]) == (position == "on"):
            return self.refuse(call, "precondition")
        (self.state["on"].add if position == "on" else self.state["on"].discard)(lamp)
        return f"Lamp {lamp} is {position}."

    @base_action
    def look(self) -> str:
        """Say which lamps are on."""
        return f"Lamps on: {sorted(self.state['on'])}."


class OtherEnv(Lamps):
    name = "other"


@pytest.fixture
def env() -> Lamps:
    lamps = Lamps()
    lamps.reset("lamps/0")
    return lamps


# ----- tasks ---------------------------------------------------------------------------
def test_get_task_by_id_index_and_task() -> None:
    env = Lamps()
    by_id = env.get_task("lamps/1")
    assert by_id.index == 1
    assert env.get_task(1) == by_id
    assert env.get_task(by_id) is by_id


@pytest.mark.parametrize("ref", [3, -1])
def test_get_task_bad_index(ref: int) -> None:
    with pytest.raises(EnvironmentError_, match=rf"lamps has tasks 0\.\.2; index {ref} does not"):
        Lamps().get_task(ref)


def test_get_task_unknown_id() -> None:
    with pytest.raises(EnvironmentError_, match=r"Unknown task 'lamps/9'.*lamps/0, lamps/1"):
        Lamps().get_task("lamps/9")


def test_split() -> None:
    env = Lamps()
    assert [t.index for t in env.split("train")] == [0, 1]
    assert [t.index for t in env.split("test")] == [2]
    assert [t.index for t in env.split()] == [0, 1, 2]


# ----- base actions ------------------------------------------------------------------
def test_base_actions_come_from_decorated_methods() -> None:
    actions = {a.name: a for a in Lamps().base_actions()}
    assert actions["switch"] == BaseAction(
        "switch", (Param("lamp", "str"), Param("position", "str")), "Turn a lamp 'on' or 'off'."
    )
    assert actions["switch"].signature == "switch(lamp, position)"
    assert actions["look"].arity == 0
    with pytest.raises(EnvironmentError_, match="no base action 'fly'; it has: look, switch"):
        Lamps().action("fly")


def test_reset_sets_observation_goal_and_counters(env: Lamps) -> None:
    assert env.observation == "Lamps on: ['c']."
    assert env.goal == "a and b on"
    assert env.steps == 0 and not env.done
    assert env.progress == pytest.approx(0.0)  # a off, b off, c on: all three wrong


# ----- invalid steps ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "args", "error", "text"),
    [
        ("fly", ("a",), "unknown_action", INVALID_UNKNOWN),
        ("switch", ("a",), "bad_arguments", "switch(lamp, position) takes 2 argument(s), got 1"),
        ("look", ("a",), "bad_arguments", "look() takes 0 argument(s), got 1"),
        ("switch", ("z", "on"), "bad_arguments", INVALID_UNKNOWN),
        ("switch", ("c", "on"), "precondition", INVALID_PRECONDITION),
    ],
)
def test_invalid_steps_change_nothing(
    env: Lamps, name: str, args: tuple[Any, ...], error: str, text: str
) -> None:
    before = env.snapshot()
    result = env.call(name, *args)
    assert not result.valid and result.error == error
    assert text in result.observation
    assert result.action == format_call(name, args)
    assert env.state == before.state and env.progress == before.bookkeeping[0]
    assert env.observation == result.observation and env.steps == 1


# ----- progress and success ----------------------------------------------------------
def test_progress_is_best_so_far_and_goal_line(env: Lamps) -> None:
    assert env.call("switch", "a", "on").progress == pytest.approx(1 / 3)
    assert env.call("switch", "c", "off").progress == pytest.approx(2 / 3)
    dip = env.call("switch", "a", "off")  # the world gets worse; the metric does not
    assert dip.valid and env.goal_progress() == pytest.approx(1 / 3)
    assert dip.progress == env.progress == pytest.approx(2 / 3)
    assert not dip.done and GOAL_SATISFIED not in dip.observation
    env.call("switch", "a", "on")
    final = env.call("switch", "b", "on")
    assert final.done and env.done and env.is_success()
    assert final.progress == 1.0
    assert final.observation == f"Lamp b is on. {GOAL_SATISFIED}"
    again = env.call("look")
    assert again.observation.count(GOAL_SATISFIED) == 1
    assert env.steps == 6


class CountingLamps(Lamps):
    """Counts how often the goal is measured."""

    name = "counting"
    checks = 0

    def goal_progress(self) -> float:
        self.checks += 1
        return super().goal_progress()


class StrictLamps(Lamps):
    """Success also needs lamp b off, which goal_progress does not measure."""

    name = "strict"

    def is_success(self) -> bool:
        return super().is_success() and "b" not in self.state["on"]


def test_a_step_measures_progress_once() -> None:
    env = CountingLamps()
    env.reset("lamps/1")
    env.checks = 0
    env.call("switch", "b", "on")
    assert env.checks == 1


def test_a_step_asks_an_overridden_is_success() -> None:
    env = StrictLamps()
    env.reset("lamps/1")  # the goal is b and c on
    env.call("switch", "b", "on")
    step = env.call("switch", "c", "on")
    assert env.goal_progress() == 1.0 and step.progress == 1.0
    assert not step.done and not env.done and GOAL_SATISFIED not in step.observation


def test_reset_clears_the_episode(env: Lamps) -> None:
    env.call("switch", "a", "on")
    env.reset(2)
    assert env.steps == 0 and env.progress == pytest.approx(1 / 3) and env.goal == "a and c on"


# ----- snapshots -------------------------------------------------------------------------
def test_snapshot_restore_round_trip(env: Lamps) -> None:
    env.call("switch", "a", "on")
    snap = env.snapshot()
    env.call("switch", "b", "on")
    env.call("switch", "c", "off")
    assert env.done
    env.restore(snap)
    assert env.state["on"] == {"a", "c"} and not env.done
    assert env.steps == 1 and env.progress == pytest.approx(1 / 3)
    assert env.observation == "Lamp a is on."
    env.call("switch", "b", "on")  # the snapshot is a copy: later steps cannot alter it
    assert snap.state["on"] == {"a", "c"}


def test_snapshot_pickles_and_moves_to_a_fresh_instance(env: Lamps) -> None:
    env.call("switch", "a", "on")
    snap = pickle.loads(pickle.dumps(env.snapshot()))
    fresh = Lamps()
    fresh.restore(snap)
    assert fresh.task.id == "lamps/0" and fresh.goal == "a and b on"
    assert fresh.call("switch", "b", "on").valid and fresh.steps == 2


def test_restore_from_another_task_fails(env: Lamps) -> None:
    other = Lamps()
    other.reset("lamps/1")
    with pytest.raises(EnvironmentError_, match="belongs to lamps/lamps/1, not to lamps/lamps/0"):
        env.restore(other.snapshot())
    assert env.task.id == "lamps/0" and env.state["on"] == {"c"}


def test_restore_from_another_env_fails(env: Lamps) -> None:
    other = OtherEnv()
    other.reset("lamps/0")
    with pytest.raises(EnvironmentError_, match="belongs to other/lamps/0, not to lamps"):
        env.restore(other.snapshot())
    with pytest.raises(EnvironmentError_, match="belongs to other"):
        Lamps().restore(other.snapshot())


# ----- misuse ----------------------------------------------------------------------------
def test_use_before_reset_fails_clearly() -> None:
    env = Lamps()
    for use in (lambda: env.call("look"), lambda: env.task):
        with pytest.raises(EnvironmentError_, match=r"Call reset\(task\) on the lamps environment"):
            use()


def test_valid_actions_default_error(env: Lamps) -> None:
    with pytest.raises(EnvironmentError_, match=r"'lamps' does not list .* override valid_actions"):
        env.valid_actions()


def test_environment_without_decorators() -> None:
    """An adapter to an external simulator lists actions itself and runs them in _execute."""

    class External(Environment):
        name = "external"

        def tasks(self) -> Sequence[Task]:
            return [Task("external/0", "external", 0)]

        def _reset(self, task: Task) -> str:
            self.state = []
            return "ready"

        def goal_progress(self) -> float:
            return min(len(self.state), 2) / 2

        def base_actions(self) -> Sequence[BaseAction]:
            return [BaseAction("go", (Param("where"),), "Go somewhere.")]

        def _execute(self, name: str, args: tuple[Any, ...]) -> StepResult | str:
            self.state.append(args[0])
            return f"You are at {args[0]}."

    env = External()
    env.reset(0)
    assert env.call("go", "x").progress == 0.5
    assert env.call("go").error == "bad_arguments"
    assert env.call("go", "y").done
