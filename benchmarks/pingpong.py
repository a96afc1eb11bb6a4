"""The benchmarks' two-room environment: a base action as cheap as an environment
step gets, so a sandbox's timings show the sandbox's own cost."""

from __future__ import annotations

from collections.abc import Sequence

from learnact_langgraph.envs.base import Environment, StepResult, Task, base_action
from learnact_langgraph.sandbox import Limits

LIMITS = Limits(wall_time_s=1.0, cpu_time_s=1.0, memory_mb=256, output_chars=2000, base_calls=50)


class PingPong(Environment):
    """Two rooms; ``move`` is as cheap as an environment step gets."""

    name = "pingpong"

    def tasks(self) -> Sequence[Task]:
        return [Task(id="pingpong/0", domain="pingpong", index=0)]

    def _reset(self, task: Task) -> str:
        self.state = {"at": "a"}
        return "You are in a."

    def goal_progress(self) -> float:
        return 0.0

    @base_action
    def move(self, src: str, dst: str) -> StepResult:
        """Move from src to dst."""
        if self.state["at"] != src:
            return self.refuse(f"move({src!r}, {dst!r})", "precondition")
        self.state["at"] = dst
        return self.ok(f"move({src!r}, {dst!r})", f"You are in {dst}.")
