"""AlfWorld as an :class:`~learnact_langgraph.envs.Environment`: a household, in text.

The agent sees what the paper's agent saw, in our words where the words are ours:

* the initial observation is the room description; the goal is the game's
  "Your task is to: ..." sentence;
* "You arrive at loc N." is dropped from observations;
* TextWorld's "Nothing happens." becomes an invalid step with the usual invalid message
  (an unknown object name says so instead);
* ``look()`` repeats what the agent saw when it last went somewhere or opened something,
  as in the reference environment;
* ``goto`` a receptacle that shares the agent's place shows what is in or on it (the
  reference answered "Nothing happens.", though the agent cannot know two receptacles
  share a place; a learned search loop would fail on it for no fault of its own);
* a learned function's call shows the observations of all its valid sub-steps, joined,
  so the agent sees everything that happened inside it;
* success is winning the game; progress is 0 or 1.

Snapshots are the command history: restoring one replays it from a reset (which no
longer re-reads or re-translates the game), so a restore costs one reset plus about a
step's time per command replayed (``docs/alfworld.md`` has the figures).
"""

from __future__ import annotations

import os
import re
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from learnact_langgraph.data import require
from learnact_langgraph.envs.alfworld.engine import TextWorldGame, acquire, release, reusing
from learnact_langgraph.envs.alfworld.games import DATASET, TASK_TYPES, game_order, train_indices
from learnact_langgraph.envs.base import (
    INVALID_PRECONDITION,
    INVALID_UNKNOWN,
    Environment,
    Split,
    StepResult,
    Task,
    base_action,
    format_call,
)
from learnact_langgraph.envs.defaults import EnvDefaults
from learnact_langgraph.errors import EnvironmentError_

INSTRUCTION = (
    "You are a household robot in a room. The room has furniture and appliances, called "
    "receptacles (cabinet 1, countertop 2, fridge 1, sinkbasin 1, ...), and small objects "
    "(apple 1, mug 2, ...) that lie in or on receptacles. Drawers, cabinets, fridges, "
    "microwaves and safes may be closed: open them to see inside. You hold at most one "
    "object at a time. Go to a receptacle to see what is in or on it; you can only take "
    "from, put into, open or use what is where you are. A sinkbasin cleans, a microwave "
    "heats and a fridge cools the object you hold. Write names as a word and a number, in "
    "quotes: 'countertop 1'. You are done once the task's goal holds."
)
_BANNER = re.compile(r"^-= .* =-\s*", re.S)
_ARRIVE = re.compile(r"^You arrive at loc \d+\.\s*")
_GLUED = re.compile(r"^([a-z]+)(\d+)$")
_PUT = re.compile(r"^put (.+?) (?:in/on|into|in) (.+)$")
_NOTHING = "Nothing happens."
#: Admissible command -> base action call, for ``valid_actions``.
_CALLS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^go to (.+)$"), "goto"),
    (re.compile(r"^take (.+) from (.+)$"), "take"),
    (_PUT, "put"),
    (re.compile(r"^open (.+)$"), "open"),
    (re.compile(r"^close (.+)$"), "close"),
    (re.compile(r"^use (.+)$"), "use"),
    (re.compile(r"^(clean) (.+) with (.+)$"), ""),
    (re.compile(r"^(heat) (.+) with (.+)$"), ""),
    (re.compile(r"^(cool) (.+) with (.+)$"), ""),
    (re.compile(r"^examine (.+)$"), "examine"),
    (re.compile(r"^inventory$"), "inventory"),
    (re.compile(r"^look$"), "look"),
)


def split_intro(text: str) -> tuple[str, str]:
    """(room description, goal) from TextWorld's opening text."""
    body = _BANNER.sub("", text.strip())
    room, goal = body, ""
    for paragraph in body.split("\n\n"):
        line = paragraph.strip()
        if line.startswith("Your task is to:"):
            goal = line.removeprefix("Your task is to:").strip()
        elif line and room is body:
            room = line
    return room, goal


class AlfWorldEnvironment(Environment):
    """The AlfWorld games of one task type (or of all six), played through TextWorld.

    Use :func:`load_env` (``load_env("alfworld_put")``) or a subclass per task type.
    ``games`` plays your own ALFWorld game files (old grammar) instead of the paper's.
    Loaded games come from, and go back to, a pool shared by the process, so a reset of
    a game played before reloads nothing.
    """

    name: ClassVar[str] = "alfworld"
    task_type: ClassVar[str | None] = None
    instruction = INSTRUCTION
    #: The paper's AlfWorld protocol: 20 test steps, 10 training steps, the whole
    #: episode in the prompt (50 history items), call ratio + success as the score.
    defaults: ClassVar[EnvDefaults] = EnvDefaults(
        max_steps=20, train_steps=10, memory_steps=25, score_terms=("call_ratio", "success")
    )

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        games: Sequence[str | os.PathLike[str]] | None = None,
    ) -> None:
        super().__init__()
        self._games: dict[str, TextWorldGame] = {}
        self._files: list[Path] = []
        self._tasks: list[Task] = []
        if games is not None:
            for i, path in enumerate(games):
                self._add(str(i), Path(path), None, {"file": str(path)})
        else:
            root = require(DATASET, data_dir)
            order = game_order()
            for key in [self.task_type] if self.task_type else list(TASK_TYPES):
                train = train_indices(key, data_dir)
                for i, rel in enumerate(order[key]):
                    split: Split = "train" if i in train else "test"
                    label = f"{key}/{i}" if self.task_type is None else str(i)
                    self._add(label, root / rel, split, {"file": rel, "type": key})
        # Loaded games go back to the process's pool when this environment is dropped.
        weakref.finalize(self, _give_back, self._games)
        self._game: TextWorldGame | None = None
        self._goal = ""
        self._place = ""
        self._commands: list[str] = []

    def _add(self, label: str, path: Path, split: Split | None, meta: dict[str, Any]) -> None:
        index = len(self._tasks)
        self._tasks.append(Task(f"{self.name}/{label}", self.name, index, split, meta))
        self._files.append(path)

    # ----- tasks, reset, goal ---------------------------------------------------------------
    def tasks(self) -> Sequence[Task]:
        return list(self._tasks)

    def game(self, task: Task | None = None) -> TextWorldGame:
        """The loaded game of ``task`` (default: the current one), loading it once."""
        path = str(self._files[(task or self.task).index])
        if path not in self._games:
            self._games[path] = acquire(path)
        return self._games[path]

    def _fresh_game(self, task: Task) -> TextWorldGame:
        """The game of ``task``; the game played before goes back to the pool."""
        path = str(self._files[task.index])
        for other in [p for p in self._games if p != path or not reusing()]:
            release(self._games.pop(other))
        return self.game(task)

    def _reset(self, task: Task) -> str:
        self._game = self._fresh_game(task)
        room, self._goal = split_intro(self._game.reset())
        self._place = room
        self._commands = []
        return room

    def goal_text(self) -> str:
        return self._goal

    def goal_progress(self) -> float:
        return 1.0 if self._game is not None and self._game.won else 0.0

    @property
    def game_file(self) -> Path:
        return self._files[self.task.index]

    @property
    def examples(self) -> list[str]:
        """The worked example of this task type for agent prompts (our own game)."""
        from learnact_langgraph.envs.alfworld.examples import examples_for

        return examples_for(self.task_type, self._files[0]) if self._files else []

    def call_observation(self, observations: Sequence[str]) -> str:
        """Everything a call's valid sub-steps showed, in order, as the reference does."""
        return " ".join(o.strip() for o in observations if o.strip())

    # ----- names and commands -----------------------------------------------------------------
    def _name(self, call: str, param: str, value: Any) -> str | StepResult:
        if not isinstance(value, str):
            return self.refuse(
                call,
                "bad_arguments",
                f"{INVALID_UNKNOWN} {param} must be a name in quotes such as 'countertop 1', "
                f"not {value!r}.",
            )
        name = " ".join(value.strip().strip(".").lower().split())
        known = set(self.game().entity_names)
        glued = _GLUED.match(name)
        if name not in known and glued and f"{glued[1]} {glued[2]}" in known:
            name = f"{glued[1]} {glued[2]}"
        if name not in known:
            return self.refuse(
                call,
                "bad_arguments",
                f"{INVALID_UNKNOWN} There is no {value!r} in this room; names are a word and a "
                "number, such as 'countertop 1'.",
            )
        return name

    def _names(self, call: str, **values: Any) -> list[str] | StepResult:
        out = []
        for param, value in values.items():
            name = self._name(call, param, value)
            if isinstance(name, StepResult):
                return name
            out.append(name)
        return out

    def _play(self, call: str, command: str, *, remember: bool = False) -> StepResult:
        game = self.game()
        feedback = game.step(command).strip()
        if feedback == _NOTHING:
            return self.refuse(call, "precondition", INVALID_PRECONDITION)
        observation = _ARRIVE.sub("", feedback)
        self._commands.append(command)
        if remember:
            self._place = observation
        return self.ok(call, observation)

    def _act(self, verb: str, template: str, remember: bool = False, **args: Any) -> StepResult:
        call = format_call(verb, list(args.values()))
        names = self._names(call, **args)
        if isinstance(names, StepResult):
            return names
        return self._play(call, template.format(*names), remember=remember)

    # ----- base actions -------------------------------------------------------------------------
    @base_action
    def goto(self, receptacle: str) -> StepResult:
        """Go to receptacle and see what is in or on it (or that it is closed)."""
        call = format_call("goto", [receptacle])
        name = self._name(call, "receptacle", receptacle)
        if isinstance(name, StepResult):
            return name
        if f"go to {name}" not in self.game().admissible and (
            f"examine {name}" in self.game().admissible
        ):
            # It shares the agent's place (TextWorld has no move there): look at it instead.
            return self._play(call, f"examine {name}", remember=True)
        return self._play(call, f"go to {name}", remember=True)

    @base_action
    def take(self, obj: str, receptacle: str) -> StepResult:
        """Pick up obj from receptacle. You must be at the receptacle (open, if it opens)
        with empty hands."""
        return self._act("take", "take {} from {}", obj=obj, receptacle=receptacle)

    @base_action
    def put(self, obj: str, receptacle: str) -> StepResult:
        """Put the obj you hold in or on receptacle. You must be at the receptacle (open,
        if it opens)."""
        call = format_call("put", [obj, receptacle])
        names = self._names(call, obj=obj, receptacle=receptacle)
        if isinstance(names, StepResult):
            return names
        command = f"put {names[0]} in/on {names[1]}"
        if command not in self.game().admissible:
            other = [
                c
                for c in self.game().admissible
                if (m := _PUT.match(c)) and (m[1], m[2]) == (names[0], names[1])
            ]
            command = other[0] if other else command
        return self._play(call, command)

    @base_action
    def open(self, receptacle: str) -> StepResult:
        """Open receptacle (you must be at it) and see what is inside."""
        return self._act("open", "open {}", True, receptacle=receptacle)

    @base_action
    def close(self, receptacle: str) -> StepResult:
        """Close receptacle (you must be at it)."""
        return self._act("close", "close {}", receptacle=receptacle)

    @base_action
    def toggle(self, obj: str) -> StepResult:
        """Switch obj on or off (a desklamp or floorlamp); you must be where it is."""
        return self._act("toggle", "use {}", obj=obj)

    @base_action
    def use(self, obj: str) -> StepResult:
        """Use obj, for example switch on a desklamp; you must be where it is."""
        return self._act("use", "use {}", obj=obj)

    @base_action
    def clean(self, obj: str, receptacle: str) -> StepResult:
        """Clean the obj you hold with receptacle, a sinkbasin you are at."""
        return self._act("clean", "clean {} with {}", obj=obj, receptacle=receptacle)

    @base_action
    def heat(self, obj: str, receptacle: str) -> StepResult:
        """Heat the obj you hold with receptacle, a microwave you are at."""
        return self._act("heat", "heat {} with {}", obj=obj, receptacle=receptacle)

    @base_action
    def cool(self, obj: str, receptacle: str) -> StepResult:
        """Cool the obj you hold with receptacle, a fridge you are at."""
        return self._act("cool", "cool {} with {}", obj=obj, receptacle=receptacle)

    @base_action
    def examine(self, target: str) -> StepResult:
        """Look closely at target, an object you hold or see, or a receptacle you are at."""
        return self._act("examine", "examine {}", target=target)

    @base_action
    def inventory(self) -> StepResult:
        """Say what you are holding."""
        return self._play("inventory()", "inventory")

    @base_action
    def look(self) -> StepResult:
        """Repeat what you saw when you last went somewhere or opened something."""
        if self.game().step("look").strip() == _NOTHING:
            return self.refuse("look()", "precondition", INVALID_PRECONDITION)
        self._commands.append("look")
        return self.ok("look()", self._place)

    def valid_actions(self) -> list[str]:
        calls = []
        for command in self.game().admissible:
            for pattern, verb in _CALLS:
                found = pattern.match(command)
                if found is None:
                    continue
                args = list(found.groups())
                if not verb:
                    verb = args.pop(0)
                calls.append(format_call(verb, args))
                break
        return calls

    # ----- snapshots: the command history ---------------------------------------------------
    def _get_state(self) -> Any:
        return (tuple(self._commands), self._place, self._goal)

    def _set_state(self, state: Any) -> None:
        commands, place, goal = state
        if list(commands) != self._commands or self._game is None:
            self._game = self.game()
            self._game.replay(commands)
            self._commands = list(commands)
        self._place, self._goal = place, goal


def _give_back(games: dict[str, TextWorldGame]) -> None:
    while games:
        release(games.popitem()[1])


def _subclass(key: str) -> type[AlfWorldEnvironment]:
    return type(
        f"AlfWorld{key.capitalize()}Environment",
        (AlfWorldEnvironment,),
        {
            "name": f"alfworld_{key}",
            "task_type": key,
            "__doc__": f"The {key} games of AlfWorld ({TASK_TYPES[key].summary}).",
            "__module__": __name__,
        },
    )


ENVIRONMENTS: dict[str, type[AlfWorldEnvironment]] = {
    "alfworld": AlfWorldEnvironment,
    **{f"alfworld_{key}": _subclass(key) for key in TASK_TYPES},
}


def load_env(
    name: str = "alfworld",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    games: Sequence[str | os.PathLike[str]] | None = None,
) -> AlfWorldEnvironment:
    """An AlfWorld environment: ``"alfworld_put"`` ... ``"alfworld_puttwo"``, or
    ``"alfworld"`` for all 134 games. Needs the ``alfworld`` extra and the data
    (``learnact data fetch alfworld``)."""
    key = name.strip().lower()
    key = key if key.startswith("alfworld") else f"alfworld_{key}"
    cls = ENVIRONMENTS.get(key)
    if cls is None:
        raise EnvironmentError_(
            f"Unknown AlfWorld environment {name!r}; choose one of: {', '.join(ENVIRONMENTS)}."
        )
    from learnact_langgraph.envs.alfworld.engine import require_engine

    require_engine()
    return cls(data_dir=data_dir, games=games)
