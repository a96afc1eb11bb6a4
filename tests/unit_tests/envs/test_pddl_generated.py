"""Generated gripper and blocks-world tasks: no data needed, deterministic, solvable."""

from __future__ import annotations

from pathlib import Path

import pytest

from learnact_langgraph.envs import GOAL_SATISFIED
from learnact_langgraph.envs.pddl import PDDLEnvironment, load_env
from learnact_langgraph.errors import EnvironmentError_


@pytest.fixture(autouse=True)
def no_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LEARNACT_DATA_DIR", str(tmp_path / "nothing-here"))


def _solve_gripper(env: PDDLEnvironment) -> None:
    """Carry every ball that is not where the goal wants it, one at a time."""
    for _, ball, room in env.simulator().problem.goal:
        start = next(a[2] for a in env.state if a[:2] == ("at", ball))
        if start == room:
            continue
        robby = next(a[1] for a in env.state if a[0] == "at-robby")
        if robby != start:
            assert env.call("move", robby, start).valid
        assert env.call("pick", ball, start, "left").valid
        assert env.call("move", start, room).valid
        assert env.call("drop", ball, room, "left").valid


def _solve_blockworld(env: PDDLEnvironment) -> None:
    """Put every block on the table, then build the goal towers bottom up."""
    while on := sorted(a for a in env.state if a[0] == "on" and ("clear", a[1]) in env.state):
        _, top, below = on[0]
        assert env.call("Unstack", top, below).valid
        assert env.call("Putdown", top).valid
    todo = list(env.simulator().problem.goal)
    while todo:
        tops = {a[1] for a in todo}
        ready = [a for a in todo if a[2] not in tops]
        for _, top, below in ready:
            assert env.call("Pickup", top).valid
            assert env.call("Stack", top, below).valid
            todo.remove(("on", top, below))


@pytest.mark.parametrize("size", [1, 4, 9])
def test_generated_gripper_is_solvable(size: int) -> None:
    env = load_env("gripper", tasks="generated", n=5, size=size, seed=0)
    for task in env.tasks():
        env.reset(task)
        assert env.progress == 0.0 and not env.done
        _solve_gripper(env)
        assert env.done and env.progress == 1.0
        assert env.observation.endswith(GOAL_SATISFIED)


@pytest.mark.parametrize("size", [2, 5, 8])
def test_generated_blockworld_is_solvable(size: int) -> None:
    env = load_env("blockworld", tasks="generated", n=5, size=size, seed=3)
    for task in env.tasks():
        env.reset(task)
        assert not env.done
        _solve_blockworld(env)
        assert env.done and env.progress == 1.0


@pytest.mark.parametrize("domain", ["gripper", "blockworld"])
def test_same_seed_same_tasks(domain: str) -> None:
    def goals(seed: int) -> list[tuple[str, str, str]]:
        env = load_env(domain, tasks="generated", n=4, size=5, seed=seed)
        out = []
        for task in env.tasks():
            out.append((task.id, env.reset(task), env.goal))
        return out

    assert goals(7) == goals(7)
    assert goals(7) != goals(8)
    assert len({g for _, _, g in goals(7)}) > 1


def test_generated_tasks_have_the_benchmark_actions(data_dir: Path) -> None:
    for domain in ("gripper", "blockworld"):
        generated = load_env(domain, tasks="generated", n=1)
        benchmark = load_env(domain, data_dir=data_dir)
        assert generated.base_actions() == benchmark.base_actions()
        assert generated.name == benchmark.name == domain
        assert all(t.split is None for t in generated.tasks())


def test_generated_errors_are_clear() -> None:
    with pytest.raises(EnvironmentError_, match="gripper"):
        load_env("barman", tasks="generated")
    with pytest.raises(EnvironmentError_, match="size >= 2"):
        load_env("blockworld", tasks="generated", size=1)
    with pytest.raises(EnvironmentError_, match="n >= 1"):
        load_env("gripper", tasks="generated", n=0)
    with pytest.raises(EnvironmentError_, match="'benchmark' or 'generated'"):
        load_env("gripper", tasks="random")  # type: ignore[arg-type]
