"""One worked example per AlfWorld task type for the agent's prompt, played for real.

Each example is a plan of ours on our own room (:mod:`own_game`), played through the
environment itself, so every observation is what the game really answers and no
benchmark game's answer reaches a prompt. Examples are played once per process.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from learnact_langgraph import pyast
from learnact_langgraph.envs.alfworld.own_game import CASES, write_game
from learnact_langgraph.errors import EnvironmentError_

_played: dict[str, str] = {}
_lock = threading.Lock()


def play_case(task_type: str, source: Path) -> str:
    """The ``task_type`` example as ``Your goal`` / ``Observation`` / ``Action`` lines.

    ``source`` is any AlfWorld game file; only its domain and grammar are used.
    """
    from learnact_langgraph.envs.alfworld.env import AlfWorldEnvironment

    case = CASES[task_type]
    with tempfile.TemporaryDirectory(prefix="learnact-own-room-") as tmp:
        path = write_game(source, case, Path(tmp) / "game.tw-pddl")
        env = AlfWorldEnvironment(games=[path])
        room = env.reset(0)
        lines = [f"Your goal: {env.goal}", f"Observation: {room}"]
        for line in case.plan:
            call = pyast.literal_call(line)
            if call is None:
                raise EnvironmentError_(
                    f"The {task_type} example has a line that is not one call: fix {line!r} "
                    "in CASES (own_game.py)."
                )
            result = env.call(call[0], *call[1])
            if not result.valid:
                raise EnvironmentError_(
                    f"The {task_type} worked example fails at {line} ({result.observation}) "
                    f"with the domain of {source}: use game files of ALFWorld's json_2.1.1 "
                    "release (`learnact data fetch alfworld`), or override `examples`."
                )
            lines += [f"Action: {line}", f"Observation: {result.observation}"]
        if not env.done:
            raise EnvironmentError_(
                f"The {task_type} worked example does not reach its goal with the domain of "
                f"{source}: use game files of ALFWorld's json_2.1.1 release, or override "
                "`examples`."
            )
    return "\n".join(lines)


def examples_for(task_type: str | None, source: Path) -> list[str]:
    """The worked example of ``task_type`` (the put example when there is no one type)."""
    key = task_type or "put"
    with _lock:
        if key not in _played:
            _played[key] = play_case(key, source)
        return [_played[key]]
