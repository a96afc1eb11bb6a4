"""Runs the code in docs/custom-environment.md, so the guide cannot drift from the API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from learnact_langgraph.envs import GOAL_SATISFIED, INVALID_PRECONDITION, Environment

DOC = Path(__file__).resolve().parents[2] / "docs" / "custom-environment.md"


def _all_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def _blocks() -> list[str]:
    blocks = [b for b in _all_blocks() if "class Lamps" not in b]
    assert len(blocks) == 2, "the guide should have a class block and a usage block"
    return blocks


def test_the_30_line_example_works_with_the_sandbox() -> None:
    from learnact_langgraph.sandbox import Sandbox

    block = next(b for b in _all_blocks() if "class Lamps" in b)
    assert len(block.strip().splitlines()) <= 40
    namespace: dict[str, Any] = {"__name__": "custom_env_doc_short"}
    exec(compile(block, str(DOC), "exec"), namespace)
    env = namespace["Lamps"]()
    env.reset("lamps/1")
    assert not env.call("switch_on", "desk").valid
    with Sandbox(env) as sandbox:
        sandbox.load({"light": "def light(lamp):\n    plug_in(lamp)\n    return switch_on(lamp)"})
        for lamp in ("desk", "floor"):
            assert sandbox.run(f"light({lamp!r})").ok
        assert env.progress == 2 / 3 and not env.done
        assert sandbox.run("light('hall')").ok
    assert env.done and env.progress == 1.0


@pytest.fixture(scope="module")
def corridor_cls() -> type[Environment]:
    namespace: dict[str, Any] = {"__name__": "custom_env_doc"}
    exec(compile(_blocks()[0], str(DOC), "exec"), namespace)
    cls = namespace["Corridor"]
    assert issubclass(cls, Environment)
    return cls


def test_usage_block_prints_what_its_comments_say(
    corridor_cls: type[Environment], capsys: pytest.CaptureFixture[str]
) -> None:
    usage = _blocks()[1]
    expected = [
        m.group(1).strip()
        for line in usage.splitlines()
        if line.startswith("print(") and (m := re.search(r"#\s*(.*)$", line))
    ]
    exec(compile(usage, str(DOC), "exec"), {"Corridor": corridor_cls})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(expected) == 7
    for out, comment in zip(printed, expected, strict=True):
        # A comment is the exact output, or the output followed by ": explanation".
        assert comment == out or comment.startswith(out + ":"), (out, comment)


def _walk(env: Environment, cell: int) -> None:
    while env.state["robot"] != cell:
        direction = "right" if env.state["robot"] < cell else "left"
        assert env.call("step", direction).valid


def test_full_episode(corridor_cls: type[Environment]) -> None:
    env = corridor_cls()
    assert [t.id for t in env.split("train")] == ["corridor/0"]
    assert [t.id for t in env.split("test")] == ["corridor/1"]
    assert {a.signature for a in env.base_actions()} == {
        "step(direction)",
        "pick(item)",
        "drop(item)",
    }
    assert env.action("pick").description.startswith("Pick up an item")

    env.reset("corridor/1")
    assert env.goal == "mug in cell 0, book in cell 4, lamp in cell 5"
    assert env.progress == 0.0 and not env.done

    # Invalid steps: wall, absent item, nonsense argument, unknown action, wrong arity.
    state = env.snapshot().state
    wall = env.call("step", "left")
    assert (wall.valid, wall.error, wall.observation) == (
        False,
        "precondition",
        INVALID_PRECONDITION,
    )
    assert wall.action == "step('left')"
    assert env.call("pick", "mug").error == "precondition"  # it is in cell 5
    assert env.call("pick", "chair").error == "bad_arguments"
    assert env.call("fly", "up").error == "unknown_action"
    assert env.call("drop").error == "bad_arguments"
    assert env.snapshot().state == state and env.steps == 5

    progress = []
    for item, start, dest in [("lamp", 1, 5), ("mug", 5, 0), ("book", 2, 4)]:
        _walk(env, start)
        assert f"pick('{item}')" in env.valid_actions()
        assert env.call("pick", item).valid
        _walk(env, dest)
        if item == "book":
            snap = env.snapshot()
        result = env.call("drop", item)
        assert result.valid
        progress.append(result.progress)
    assert progress == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert env.done and result.done and result.observation.endswith(GOAL_SATISFIED)

    env.restore(snap)
    assert not env.done and env.progress == pytest.approx(2 / 3)
    assert env.state["hand"] == "book" and env.valid_actions()[-1] == "drop('book')"
    assert env.call("drop", "book").done


def test_other_task_layout(corridor_cls: type[Environment]) -> None:
    env = corridor_cls()
    first = env.reset(0)
    assert first == "Robot in cell 0, holding nothing; here: ['mug']."
    assert env.valid_actions() == ["step('right')", "pick('mug')"]
