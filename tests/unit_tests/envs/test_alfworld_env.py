"""AlfWorld through TextWorld: tasks and splits, observations, snapshots, and plans that
solve games through the base actions in the sandbox.

Needs the 134 games (``learnact data fetch alfworld``) and the ``alfworld`` extra; the
``alfworld_data_dir`` fixture skips with one reason when either is missing.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from learnact_langgraph import prompts
from learnact_langgraph.envs import INVALID_PRECONDITION, INVALID_UNKNOWN
from learnact_langgraph.envs.alfworld import TASK_TYPES, AlfWorldEnvironment, load_env
from learnact_langgraph.envs.alfworld.scripted import Player
from learnact_langgraph.sandbox import Sandbox

COUNTS = {"put": 24, "clean": 31, "heat": 23, "cool": 21, "examine": 18, "puttwo": 17}
TRAIN = {
    "put": [2, 4, 14],
    "clean": [2, 21, 22],
    "heat": [1, 2, 11],
    "cool": [7, 10, 11],
    "examine": [5, 13, 14],
    "puttwo": [7, 9, 14],
}


@pytest.fixture(scope="module")
def put_env(alfworld_data_dir: Path) -> AlfWorldEnvironment:
    return load_env("alfworld_put", data_dir=alfworld_data_dir)


def test_six_task_types_with_the_papers_sizes_order_and_train_split(
    alfworld_data_dir: Path,
) -> None:
    index_file = alfworld_data_dir / "alfworld_valid_unseen_134" / "index.json"
    index = json.loads(index_file.read_text()) if index_file.is_file() else None
    for key, count in COUNTS.items():
        env = load_env(f"alfworld_{key}", data_dir=alfworld_data_dir)
        tasks = env.tasks()
        assert len(tasks) == count
        assert [t.index for t in env.split("train")] == TRAIN[key]
        assert all(t.id == f"alfworld_{key}/{t.index}" for t in tasks)
        assert all(t.meta["file"].split("/")[2].startswith(TASK_TYPES[key].prefix) for t in tasks)
        if index is not None:  # the shared copy ships the paper's order; ours must match it
            assert [t.meta["file"] for t in tasks] == index["games"][key]
    everything = load_env("alfworld", data_dir=alfworld_data_dir)
    assert len(everything.tasks()) == 134
    assert len(everything.split("train")) == 18
    assert everything.get_task("alfworld/heat/11").split == "train"


def test_reset_gives_the_room_and_the_goal_sentence(put_env: AlfWorldEnvironment) -> None:
    room = put_env.reset("alfworld_put/14")
    assert room.startswith("You are in the middle of a room. Looking quickly around you, you see")
    assert "-= Welcome" not in room and "Your task is to" not in room
    assert put_env.goal == "put some saltshaker on drawer."
    assert put_env.progress == 0.0 and not put_env.done
    assert "goto('countertop 1')" in put_env.valid_actions()


def test_observations_are_cleaned_and_refusals_are_clear(put_env: AlfWorldEnvironment) -> None:
    put_env.reset("alfworld_put/14")
    arrived = put_env.call("goto", "countertop 1")
    assert arrived.valid and arrived.observation.startswith("On the countertop 1, you see")
    assert "You arrive at loc" not in arrived.observation
    before = put_env.snapshot()
    refused = put_env.call("take", "apple 1", "countertop 1")
    assert not refused.valid and refused.observation == INVALID_PRECONDITION
    assert refused.error == "precondition"
    assert put_env.snapshot().state == before.state
    unknown = put_env.call("goto", "spaceship 1")
    assert not unknown.valid and unknown.error == "bad_arguments"
    assert (
        unknown.observation.startswith(INVALID_UNKNOWN) and "'spaceship 1'" in unknown.observation
    )
    assert put_env.call("goto", "Drawer1").valid  # case and a missing space are forgiven
    assert put_env.call("look").observation == put_env.call("goto", "drawer 1").observation
    assert put_env.call("inventory").observation == "You are not carrying anything."
    assert put_env.call("take", 3, "drawer 1").error == "bad_arguments"


def test_a_snapshot_is_restored_by_replay_also_in_a_fresh_instance(
    put_env: AlfWorldEnvironment, alfworld_data_dir: Path
) -> None:
    put_env.reset("alfworld_put/14")
    put_env.call("goto", "countertop 1")
    put_env.call("take", "peppershaker 2", "countertop 1")
    snap = put_env.snapshot()
    held = put_env.call("inventory").observation
    put_env.call("goto", "drawer 1")
    put_env.call("open", "drawer 1")
    put_env.restore(snap)
    assert put_env.call("inventory").observation == held
    assert put_env.call("goto", "drawer 1").observation == "The drawer 1 is closed."

    fresh = load_env("alfworld_put", data_dir=alfworld_data_dir)
    fresh.restore(pickle.loads(pickle.dumps(snap)))
    assert fresh.task.id == "alfworld_put/14"
    assert fresh.call("inventory").observation == held


def _play(env: AlfWorldEnvironment, sandbox: Sandbox, task: str, limit: int = 50) -> bool:
    room = env.reset(task)
    player = Player(env.goal, room)
    actions: list[str] = []
    observations: list[str] = []
    while not env.done and len(actions) < limit:
        line = player.next_action(actions, observations)
        result = sandbox.run(line)
        actions.append(line)
        observations.append(result.observation)
    return env.done


@pytest.mark.parametrize("key", list(TASK_TYPES))
def test_a_scripted_plan_solves_two_games_of_each_type_via_the_sandbox(
    key: str, alfworld_data_dir: Path
) -> None:
    env = load_env(f"alfworld_{key}", data_dir=alfworld_data_dir)
    with Sandbox(env) as sandbox:
        solved = [t.id for t in env.split("test")[:2] if _play(env, sandbox, t.id)]
        assert len(solved) == 2, solved
        assert env.progress == 1.0
        room = env.reset(env.split("test")[2].id)
        first = Player(env.goal, room).receptacles[0]  # not reachable from the start
        wrong = sandbox.run(f"take('{first}', '{first}')")
        assert not wrong.ok and wrong.error_kind == "invalid_action"
        assert INVALID_PRECONDITION in wrong.observation


def example_action() -> str:
    """The learner's AlfWorld example action (``find_and_take``), from its prompt."""
    example = prompts.TOOL_EXAMPLES["alfworld"]
    return example.split("```python\n")[1].split("\n\nfind_and_take(")[0]


DELIVER = '''import re


def deliver(kind, places, target):
    """Find an object of kind among places, carry it to target and put it there."""
    taken = find_and_take(kind, places)
    held = re.search(r'You pick up the (\\w+ \\d+)', taken)
    if not held:
        return taken
    seen = goto(target)
    if 'is closed' in seen:
        open(target)
    return put(held.group(1), target)
'''


def test_a_learned_style_action_runs_in_the_sandbox_and_solves_a_put_task(
    put_env: AlfWorldEnvironment,
) -> None:
    room = put_env.reset("alfworld_put/14")  # put some saltshaker on drawer
    places = [p for p in Player(put_env.goal, room).receptacles if not p.startswith("drawer")]
    with Sandbox(put_env) as sandbox:
        sandbox.load({"find_and_take": example_action(), "deliver": DELIVER})
        result = sandbox.run(f"deliver('saltshaker', {places!r}, 'drawer 1')")
    assert result.ok, result.observation
    assert put_env.done and put_env.progress == 1.0
    names = [s.name for s in result.substeps]
    assert names[-1] == "put" and "take" in names and names.count("goto") >= 2
    # the agent sees every sub-step's observation, joined, not only the last one
    assert "You pick up the saltshaker" in result.observation
    assert result.observation.endswith("The goal is satisfied.")
