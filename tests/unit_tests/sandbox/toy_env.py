"""A tiny gripper-like environment for sandbox tests (no data files needed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from learnact_langgraph.envs.base import Environment, StepResult, Task, base_action
from learnact_langgraph.sandbox import ExecResult, Sandbox

CARRY = '''def carry(src, dst, ball):
    """Carry ball from src to dst."""
    obs = pick(ball, src)
    if not obs.valid:
        return obs
    move(src, dst)
    return drop(ball, dst)
'''


class Rooms(Environment):
    """A robot in rooms a/b/c that carries one ball at a time."""

    name = "rooms"
    instruction = "Bring every ball to room b."

    def tasks(self) -> Sequence[Task]:
        return [Task(id="rooms/0", domain="rooms", index=0, meta={"goal": "b1 in b"})]

    def _reset(self, task: Task) -> str:
        self.state: dict[str, Any] = {"at": "a", "hand": None, "balls": {"b1": "a", "b2": "c"}}
        return "You are in a. b1 is in a, b2 is in c."

    def goal_progress(self) -> float:
        return 1.0 if self.state["balls"]["b1"] == "b" else 0.0

    @base_action
    def move(self, src: str, dst: str) -> StepResult:
        """Move from room src to room dst."""
        text = f"move({src!r}, {dst!r})"
        if self.state["at"] != src or dst not in ("a", "b", "c"):
            return self.refuse(text, "precondition")
        self.state["at"] = dst
        return self.ok(text, f"You are in {dst}.")

    @base_action
    def pick(self, ball: str, room: str) -> StepResult:
        """Pick ball up in room."""
        text = f"pick({ball!r}, {room!r})"
        if self.state["hand"] or self.state["balls"].get(ball) != room or self.state["at"] != room:
            return self.refuse(text, "precondition")
        self.state["hand"] = ball
        self.state["balls"][ball] = "hand"
        return self.ok(text, f"You hold {ball}.")

    @base_action
    def drop(self, ball: str, room: str) -> StepResult:
        """Drop the held ball in room."""
        text = f"drop({ball!r}, {room!r})"
        if self.state["hand"] != ball or self.state["at"] != room:
            return self.refuse(text, "precondition")
        self.state["hand"] = None
        self.state["balls"][ball] = room
        return self.ok(text, f"{ball} is in {room}.")


def fresh_env() -> Rooms:
    env = Rooms()
    env.reset(0)
    return env


def assert_next_call_works(sb: Sandbox) -> ExecResult:
    """A normal learned-action call right after an attack still works (and is undone)."""
    env = sb.env
    assert isinstance(env, Rooms)
    env.reset(0)
    if "carry" not in sb.sources:
        sb.load({"carry": CARRY})
    result = sb.run("carry('a', 'b', 'b1')")
    assert result.ok, result
    assert result.observation.startswith("b1 is in b.")
    assert [s.name for s in result.substeps] == ["pick", "move", "drop"]
    assert env.state["balls"]["b1"] == "b"
    env.reset(0)
    return result
