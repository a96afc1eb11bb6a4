"""The rest of the project on AlfWorld: worked examples, the engine's sharing rules, the
agent graph, every bench method with scripted models and the report.

Needs the 134 games and the ``alfworld`` extra (the ``alfworld_data_dir`` fixture skips
with one reason without them).
"""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path

import pytest

from learnact_langgraph.bench.report import write_report
from learnact_langgraph.bench.runner import BenchConfig, run_bench
from learnact_langgraph.envs.alfworld import TASK_TYPES, engine, load_env
from learnact_langgraph.envs.alfworld.examples import play_case
from learnact_langgraph.envs.alfworld.own_game import CASES, write_game
from learnact_langgraph.envs.alfworld.scripted import Player
from learnact_langgraph.graphs.agent import AgentContext, build_agent_graph
from learnact_langgraph.pyast import literal_call
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.testing import scripted_model
from tests.unit_tests.envs.test_alfworld_env import example_action


def _any_game(root: Path) -> Path:
    return next((root / "alfworld_valid_unseen_134").rglob("game.tw-pddl"))


def _benchmark_goals(root: Path) -> set[str]:
    goals = set()
    for path in (root / "alfworld_valid_unseen_134").rglob("game.tw-pddl"):
        found = re.search(r"Your task is to: ([^\"]*)\"", path.read_text())
        assert found is not None
        goals.add(found.group(1))
    return goals


@pytest.mark.parametrize("key", list(TASK_TYPES))
def test_each_worked_example_is_played_on_our_own_room(key: str, alfworld_data_dir: Path) -> None:
    text = play_case(key, _any_game(alfworld_data_dir))
    lines = text.splitlines()
    assert lines[0] == f"Your goal: {CASES[key].sentence}"
    assert lines[1].startswith("Observation: You are in the middle of a room.")
    assert [line.removeprefix("Action: ") for line in lines[2::2]] == list(CASES[key].plan)
    assert lines[-1].endswith("The goal is satisfied.")
    assert "not valid" not in text and "You arrive at loc" not in text


def test_no_worked_example_is_a_benchmark_task(alfworld_data_dir: Path) -> None:
    goals = _benchmark_goals(alfworld_data_dir)
    assert len(goals) > 50
    assert not {case.sentence for case in CASES.values()} & goals
    env = load_env("alfworld_cool", data_dir=alfworld_data_dir)
    assert env.examples[0].startswith(f"Your goal: {CASES['cool'].sentence}")


def test_the_learners_example_action_runs_in_the_sandbox(
    alfworld_data_dir: Path, tmp_path: Path
) -> None:
    """The creation prompt's AlfWorld example: regex parsing and a loop over places."""
    source = example_action()
    game = write_game(_any_game(alfworld_data_dir), CASES["put"], tmp_path / "game.tw-pddl")
    from learnact_langgraph.envs.alfworld import AlfWorldEnvironment

    env = AlfWorldEnvironment(games=[game])
    env.reset(0)
    with Sandbox(env) as sandbox:
        sandbox.load({"find_and_take": source})
        result = sandbox.run("find_and_take('spoon', ['countertop 1', 'drawer 1'])")
    assert result.ok, result.observation
    assert [s.name for s in result.substeps] == ["goto", "goto", "open", "take"]
    assert "You pick up the spoon 1 from the drawer 1." in result.observation
    assert env.call("inventory").observation == "You are carrying: a spoon 1."


def test_translation_is_shared_and_leaves_sys_argv_alone(alfworld_data_dir: Path) -> None:
    argv = list(sys.argv)
    env = load_env("alfworld_put", data_dir=alfworld_data_dir)
    env.reset("alfworld_put/0")
    assert sys.argv == argv
    path = env.game_file
    game = engine.acquire(path)  # a second game of the same file: loaded, not translated
    assert game is not env.game()
    engine.release(game)
    assert engine.acquire(path) is game  # a game given back is the next one handed out
    engine.release(game)


def test_a_game_leaving_the_pool_hands_its_library_on(
    alfworld_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Native libraries cannot be unloaded; they must be reused, or memory grows per game."""
    monkeypatch.setattr(engine, "POOL_SIZE", 1)
    env = load_env("alfworld_examine", data_dir=alfworld_data_dir)
    libs = set()
    for i in range(5):
        room = env.reset(i)
        libs.add(id(env.game()._env.downward_lib))
        first = Player(env.goal, room).receptacles[0]
        assert env.call("goto", first).valid  # a handed-on library plays its new game
    assert len(libs) <= 3


def test_games_played_from_threads_stay_apart(alfworld_data_dir: Path) -> None:
    results: dict[int, list[str]] = {}

    def play(i: int) -> None:
        env = load_env("alfworld_heat", data_dir=alfworld_data_dir)
        room = env.reset(i)
        player = Player(env.goal, room)
        actions: list[str] = []
        observations: list[str] = []
        for _ in range(6):
            line = player.next_action(actions, observations)
            call = literal_call(line)
            assert call is not None, line
            observations.append(env.call(call[0], *call[1]).observation)
            actions.append(line)
        results[i] = observations

    alone = {}
    for i in (0, 3):
        play(i)
        alone[i] = results.pop(i)
    threads = [threading.Thread(target=play, args=(i,)) for i in (0, 3, 0, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == alone


def test_the_agent_graph_solves_an_alfworld_task(alfworld_data_dir: Path) -> None:
    ctx = AgentContext(env="alfworld_clean", data_dir=str(alfworld_data_dir), model="scripted")
    out = build_agent_graph().compile().invoke({"task": "alfworld_clean/0"}, context=ctx)
    assert out["success"] is True and out["progress"] == 1.0
    assert len(out["steps"]) <= 20


def test_every_method_runs_on_alfworld_and_the_report_has_its_rows(
    alfworld_data_dir: Path, tmp_path: Path
) -> None:
    config = BenchConfig(
        domains=["alfworld_put", "alfworld_examine"],
        tasks_per_domain=1,
        k=2,
        rounds=1,
        data_dir=str(alfworld_data_dir),
    )
    summary = run_bench(
        config, model=scripted_model(), learner_model=scripted_model(), out=str(tmp_path)
    )
    assert summary.finished == 12 and not summary.failed
    episodes = [json.loads(x) for x in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert {e["domain"] for e in episodes} == {"alfworld_put", "alfworld_examine"}
    assert all(len(e["trajectory"]["steps"]) <= 20 for e in episodes)  # AlfWorld's 20 steps
    artifacts = (tmp_path / "artifacts.jsonl").read_text().splitlines()
    assert any("learnact" in a and "find_and_take" in a for a in artifacts)
    report = write_report(tmp_path).read_text()
    assert "| alfworld_put | alfworld_examine |" in report
    assert "max_steps=each domain's default" in report
