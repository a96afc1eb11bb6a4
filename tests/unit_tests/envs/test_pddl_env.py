"""The PDDL environments as the agent and learned code see them (benchmark code path).

Most cases run twice: on our own benchmark-shaped data directory (``own``, always) and on
the real benchmark files (``benchmark``, skipped without the data).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from learnact_langgraph.data import load_splits
from learnact_langgraph.envs import GOAL_SATISFIED, INVALID_PRECONDITION, INVALID_UNKNOWN
from learnact_langgraph.envs.pddl import DOMAINS, GOAL_PREFIX, PDDLEnvironment, load_env
from learnact_langgraph.envs.pddl.domains import SPECS
from learnact_langgraph.errors import DataDirError, EnvironmentError_, PDDLError
from tests.conftest import domain_sources, make_own_data_dir

SIZES = {"gripper": 20, "blockworld": 10, "barman": 20, "tyreworld": 10}
SIGNATURES = {
    "gripper": ["move(room1, room2)", "pick(obj, room, gripper)", "drop(obj, room, gripper)"],
    "blockworld": [
        "Pickup(block)",
        "Putdown(block)",
        "Stack(block1, block2)",
        "Unstack(block1, block2)",
    ],
    "barman": [
        "grasp(hand, container)",
        "leave(hand, container)",
        "fill_shot(shot, ingredient, hand1, hand2, dispenser)",
        "refill_shot(shot, ingredient, hand1, hand2, dispenser)",
        "empty_shot(hand, shot, beverage)",
        "clean_shot(shot, beverage, hand1, hand2)",
        "pour_shot_to_clean_shaker(shot, ingredient, shaker, hand1, level1, level2)",
        "pour_shot_to_used_shaker(shot, ingredient, shaker, hand1, level1, level2)",
        "empty_shaker(hand, shaker, cocktail, level1, level2)",
        "clean_shaker(hand1, hand2, shaker)",
        "shake(cocktail, ingredient1, ingredient2, shaker, hand1, hand2)",
        "pour_shaker_to_shot(beverage, shot, hand, shaker, level1, level2)",
    ],
    "tyreworld": [
        "open(container)",
        "close(container)",
        "fetch(object, container)",
        "put_away(object, container)",
        "loosen(nut, hub)",
        "tighten(nut, hub)",
        "jack_up(hub)",
        "jack_down(hub)",
        "undo(nut, hub)",
        "do_up(nut, hub)",
        "remove_wheel(wheel, hub)",
        "put_on_wheel(wheel, hub)",
        "inflate(wheel)",
    ],
}
GRIPPER_PROB01_PLAN = [
    ("pick", "ball1", "rooma", "left"),
    ("pick", "ball2", "rooma", "right"),
    ("move", "rooma", "roomb"),
    ("drop", "ball1", "roomb", "left"),
    ("drop", "ball2", "roomb", "right"),
    ("move", "roomb", "rooma"),
    ("pick", "ball3", "rooma", "left"),
    ("pick", "ball4", "rooma", "right"),
    ("move", "rooma", "roomb"),
    ("drop", "ball3", "roomb", "left"),
    ("drop", "ball4", "roomb", "right"),
]


@pytest.fixture()
def gripper(pddl_data: Path) -> PDDLEnvironment:
    """Gripper task 0: four balls and Robby in rooma, every ball wanted in roomb."""
    env = load_env("gripper", data_dir=pddl_data)
    env.reset("gripper/0")
    return env


@pytest.mark.parametrize(("domain", "pddl_data"), domain_sources(DOMAINS), indirect=["pddl_data"])
def test_tasks_follow_sorted_files_and_paper_splits(domain: str, pddl_data: Path) -> None:
    env = load_env(domain, data_dir=pddl_data)
    tasks = env.tasks()
    files = sorted(p.name for p in (pddl_data / "agentboard_pddl" / domain).glob("*.pddl"))
    assert len(tasks) == SIZES[domain] == load_splits(pddl_data)["sizes"][domain]
    assert [t.meta["file"] for t in tasks] == files
    assert [t.index for t in tasks] == list(range(SIZES[domain]))
    train = load_splits(pddl_data)["train"][domain]
    assert sorted(t.index for t in env.split("train")) == sorted(train)
    assert len(env.split("test")) == SIZES[domain] - 3


def test_blockworld_index_1_is_problem10(pddl_data: Path) -> None:
    env = load_env("blockworld", data_dir=pddl_data)
    assert env.get_task(1).meta["file"] == "problem10.pddl"
    env.reset(1)
    assert env.simulator().problem.source.endswith("problem10.pddl")


@pytest.mark.parametrize("domain", DOMAINS)
def test_domain_specs_have_paper_signatures(domain: str) -> None:
    actions = [a.base_action() for a in SPECS[domain].actions]
    assert [a.signature for a in actions] == SIGNATURES[domain]
    assert all(len(a.description) > 20 for a in actions)


@pytest.mark.parametrize(("domain", "pddl_data"), domain_sources(DOMAINS), indirect=["pddl_data"])
def test_base_actions_have_paper_signatures(domain: str, pddl_data: Path) -> None:
    env = load_env(domain, data_dir=pddl_data)
    actions = env.base_actions()
    assert [a.signature for a in actions] == SIGNATURES[domain]
    assert set(env.domain.operators) == {a.operator for a in SPECS[domain].actions}
    assert env.instruction and env.name == domain


@pytest.mark.parametrize(("domain", "pddl_data"), domain_sources(DOMAINS), indirect=["pddl_data"])
def test_reset_shows_goal_and_full_state(domain: str, pddl_data: Path) -> None:
    env = load_env(domain, data_dir=pddl_data)
    obs = env.reset(0)
    sim = env.simulator()
    assert env.goal.startswith(GOAL_PREFIX)
    assert len(env.goal[len(GOAL_PREFIX) :].split(", ")) == len(sim.problem.goal)
    sentences = obs.split(". ")
    assert len(sentences) == len(sim.initial_state)
    assert sentences == sorted(sentences)


def test_hand_plan_solves_gripper_prob01(gripper: PDDLEnvironment) -> None:
    progress = [gripper.progress]
    for step in GRIPPER_PROB01_PLAN:
        result = gripper.call(*step)
        assert result.valid, result.observation
        progress.append(result.progress)
    assert result.done and gripper.done and result.progress == 1.0
    assert result.observation.endswith(GOAL_SATISFIED)
    assert progress == sorted(progress) and progress[5] == 0.5
    assert gripper.steps == len(GRIPPER_PROB01_PLAN)


def test_progress_rate_keeps_the_best_so_far(gripper: PDDLEnvironment) -> None:
    for step in GRIPPER_PROB01_PLAN[:4]:
        gripper.call(*step)
    assert gripper.progress == 0.25
    undone = gripper.call("pick", "ball1", "roomb", "left")  # takes the delivered ball back
    assert undone.valid and gripper.goal_progress() == 0.0
    assert undone.progress == 0.25 == gripper.progress


def test_invalid_messages_are_distinct(gripper: PDDLEnvironment) -> None:
    unknown = gripper.call("fly", "rooma")
    precondition = gripper.call("drop", "ball1", "rooma", "left")
    assert (unknown.error, precondition.error) == ("unknown_action", "precondition")
    assert unknown.observation == INVALID_UNKNOWN
    assert precondition.observation == INVALID_PRECONDITION
    assert not unknown.valid and not precondition.valid


def test_error_cases_name_the_problem(gripper: PDDLEnvironment) -> None:
    before = gripper.state
    cases: dict[tuple[Any, ...], tuple[str, str]] = {
        ("pick", "ball9", "rooma", "left"): ("bad_arguments", "There is no object 'ball9'"),
        ("pick", "ball1", "rooma"): ("bad_arguments", "takes 3 argument(s), got 2"),
        ("move", "rooma", "rooma"): ("precondition", "cannot fill two parameters"),
        ("move", 1, "roomb"): ("bad_arguments", "must be an object name"),
    }
    for call, (error, text) in cases.items():
        result = gripper.call(*call)
        assert (result.valid, result.error) == (False, error)
        assert text in result.observation
    assert gripper.state == before and gripper.steps == len(cases)


def test_wrongly_typed_object_is_a_bad_argument(data_dir: Path) -> None:
    env = load_env("barman", data_dir=data_dir)
    env.reset(0)
    result = env.call("grasp", "shot1", "left")
    assert result.error == "bad_arguments"
    assert "'shot1' is a shot, but parameter hand of grasp needs a hand" in result.observation
    assert env.call("grasp", "left", "shot1").valid


def test_valid_actions_are_calls_that_succeed(gripper: PDDLEnvironment) -> None:
    calls = gripper.valid_actions()
    assert "move('rooma', 'roomb')" in calls and "move('rooma', 'rooma')" not in calls
    snap = gripper.snapshot()
    for call in calls:
        gripper.restore(snap)
        name, _, rest = call.partition("(")
        args = [a.strip(" '") for a in rest.rstrip(")").split(",")]
        assert gripper.call(name, *args).valid


def test_snapshot_round_trip(gripper: PDDLEnvironment) -> None:
    gripper.call(*GRIPPER_PROB01_PLAN[0])
    snap = gripper.snapshot()
    state, obs, progress = gripper.state, gripper.observation, gripper.progress
    valid = gripper.valid_actions()
    for step in GRIPPER_PROB01_PLAN[1:5]:
        gripper.call(*step)
    assert gripper.state != state and gripper.progress > progress
    gripper.restore(snap)
    assert (gripper.state, gripper.observation, gripper.progress) == (state, obs, progress)
    assert gripper.steps == 1
    gripper.call(*GRIPPER_PROB01_PLAN[1])
    gripper.restore(pickle.loads(pickle.dumps(snap)))
    assert gripper.state == state and gripper.valid_actions() == valid


def test_step_text_parses_agentboard_commands(gripper: PDDLEnvironment) -> None:
    assert gripper.step_text("Pick up BALL1 at rooma with arm left").valid
    assert "holding ball1" in gripper.observation
    assert gripper.step_text("Move from rooma to roomb").valid
    assert gripper.step_text("drop ball1 roomb left").progress == 0.25
    assert gripper.step_text("dance").error == "unparsable"
    assert gripper.step_text("pick ball2").error == "bad_arguments"
    listing = gripper.step_text("check valid actions")
    assert listing.observation == "Valid actions are: " + ", ".join(gripper.valid_actions())


def test_step_text_accepts_python_names(data_dir: Path) -> None:
    env = load_env("tyreworld", data_dir=data_dir)
    env.reset(0)
    assert env.step_text("open boot").valid
    assert env.step_text("fetch wrench boot").valid
    assert env.step_text("put_away wrench boot").valid


def test_unknown_domain_names_the_valid_ones() -> None:
    with pytest.raises(EnvironmentError_, match="gripper, blockworld, barman, tyreworld"):
        load_env("sokoban")


def test_missing_data_is_a_data_dir_error(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match="learnact data fetch robotic-planning"):
        load_env("gripper", data_dir=tmp_path)


def test_broken_local_splits_file_names_it(tmp_path: Path) -> None:
    make_own_data_dir(tmp_path)
    assert len(load_env("gripper", data_dir=tmp_path).split("train")) == 3  # packaged splits
    splits = tmp_path / "splits.json"
    splits.write_text("{not json")
    with pytest.raises(DataDirError, match="splits.json"):
        load_env("gripper", data_dir=tmp_path)
    splits.write_text('{"train": {"blockworld": [0, 1, 2]}}')
    with pytest.raises(DataDirError, match="no list of gripper training indices"):
        load_env("gripper", data_dir=tmp_path)
    assert [t.index for t in load_env("blockworld", data_dir=tmp_path).split("train")] == [0, 1, 2]


def test_malformed_pddl_names_the_file(tmp_path: Path) -> None:
    make_own_data_dir(tmp_path)
    bad = tmp_path / "agentboard_pddl" / "gripper" / "prob03.pddl"
    bad.write_text(bad.read_text().replace("(:init", "(:init (("))
    env = load_env("gripper", data_dir=tmp_path)
    env.reset(0)
    with pytest.raises(PDDLError, match=r"prob03\.pddl: Unexpected token .* line 6"):
        env.reset(2)
    (tmp_path / "agentboard_pddl" / "blockworld.pddl").write_text("(define (domain x) (:act")
    with pytest.raises(PDDLError, match=r"blockworld\.pddl"):
        load_env("blockworld", data_dir=tmp_path)


def test_call_before_reset_is_a_clear_error() -> None:
    env = load_env("gripper", tasks="generated", n=1)
    with pytest.raises(EnvironmentError_, match="reset"):
        env.call("move", "rooma", "roomb")
