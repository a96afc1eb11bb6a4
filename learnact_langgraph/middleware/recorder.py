"""An agent's own episodes, recorded in the learner's trajectory format.

Each run of the agent is one :class:`~learnact_langgraph.episode.Trajectory`: the
task, every tool call as a :class:`~learnact_langgraph.episode.Step` (with the
sandbox's structured result, retries included, since each attempt ran), and whether
the goal was reached. The learner reads these to find what to learn or revise.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.messages import ToolMessage

from learnact_langgraph.envs.base import Environment
from learnact_langgraph.episode import Trajectory
from learnact_langgraph.errors import EnvironmentError_
from learnact_langgraph.tool_episode import step_from_tool_call

__all__ = ["TrajectoryRecorder"]


@dataclass(frozen=True)
class _Call:
    name: str
    args: dict[str, Any]
    params: tuple[str, ...]
    learned: bool
    before: str


class TrajectoryRecorder:
    """The current run's trajectory and the finished ones (the newest ``keep``).

    ``log_path`` appends each finished trajectory as one JSON line.
    """

    def __init__(
        self, env: Environment, *, keep: int = 100, log_path: str | os.PathLike[str] | None = None
    ) -> None:
        self.env = env
        self.finished: deque[Trajectory] = deque(maxlen=keep)
        self.current: Trajectory | None = None
        self.failures = 0
        #: How many runs have finished in all (``finished`` keeps the newest ``keep``).
        self.count = 0
        self.log_path = Path(log_path) if log_path is not None else None
        self._pending: dict[str, _Call] = {}
        self._lock = threading.Lock()

    def start(self) -> Trajectory:
        """Begin a run on the environment's current task (where it is now)."""
        env = self.env
        try:
            task_id = env.task.id
        except EnvironmentError_:
            task_id = ""
        with self._lock:
            self.current = Trajectory(
                task_id, env.goal if task_id else "", env.observation if task_id else ""
            )
            self.current.progress = env.progress if task_id else 0.0
            self.failures = 0
            self._pending.clear()
            return self.current

    def expect(
        self, call_id: str, name: str, args: dict[str, Any], params: Sequence[str], learned: bool
    ) -> None:
        """Note a tool call about to run (the state it starts from)."""
        if self.current is None:
            self.start()
        with self._lock:
            self._pending[call_id] = _Call(
                name, dict(args), tuple(params), learned, self.env.observation
            )

    def on_result(self, message: ToolMessage) -> None:
        """Record what one attempt of an expected call returned."""
        with self._lock:
            call = self._pending.get(str(message.tool_call_id))
            if call is None or self.current is None:
                return
            step = step_from_tool_call(
                call.name,
                call.args,
                message,
                params=call.params,
                learned=call.learned,
                before=call.before,
            )
            self.current.steps.append(step)
            self.failures += not step.valid

    def since(self, count: int) -> list[Trajectory]:
        """The runs finished after the first ``count`` (those still kept)."""
        with self._lock:
            new = min(self.count - count, len(self.finished))
            return list(self.finished)[len(self.finished) - new :] if new > 0 else []

    def finish(self, success: bool | None = None) -> Trajectory | None:
        """End the run: success is ``success`` when given, else the environment's goal."""
        with self._lock:
            traj, self.current = self.current, None
            if traj is None:
                return None
            if traj.task_id:
                traj.success = self.env.done if success is None else bool(success)
                traj.progress = self.env.progress
            else:
                traj.success = bool(success)
            self.finished.append(traj)
            self.count += 1
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(traj.to_dict(), default=str) + "\n")
        return traj
