"""A scripted AlfWorld player for demos, tests and benchmarks: it reads what an agent reads.

:class:`Player` works out the next action line from the goal sentence, the room
description and the observations so far, the way a careful person would: remember what
each receptacle holds, search the unvisited ones, take the object, clean/heat/cool it or
find a lamp, and put it where the goal says. :func:`alfworld_policy` does the same from
an agent prompt, so the offline ``scripted`` model plays AlfWorld too. It never reads the
game file, so it proves the environment can be solved through its observations alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

_GOALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?:put|find) two (\w+) (?:and put them )?(?:in|on|in/on) (\w+)"), "puttwo"),
    (re.compile(r"^(clean|heat|cool) some (\w+) and put it (?:in|on|in/on) (\w+)"), "treat"),
    (re.compile(r"^put a (clean|hot|cool) (\w+) (?:in|on|in/on) (\w+)"), "treated"),
    (re.compile(r"^(?:examine|look at) (?:the |a )?(\w+) (?:with|under) the (\w+)"), "examine"),
    (re.compile(r"^put (?:a |some )?(\w+) (?:in|on|in/on) (\w+)"), "put"),
)
_TREATMENT = {"clean": "clean", "hot": "heat", "cool": "cool", "heat": "heat"}
_TOOL = {"clean": "sinkbasin", "heat": "microwave", "cool": "fridge"}
_NAME = r"[a-z]+ \d+"
_SEE = re.compile(rf"On the ({_NAME}), you see ([^.]*)\.")
_OPEN_SEE = re.compile(rf"The ({_NAME}) is open\. In it, you see ([^.]*)\.")
_CLOSED = re.compile(rf"The ({_NAME}) is closed\.")
_TAKEN = re.compile(rf"You pick up the ({_NAME}) from the ({_NAME})")
_PUT = re.compile(rf"You put the ({_NAME}) in/on the ({_NAME})")
_TREATED = re.compile(rf"You (clean|heat|cool) the ({_NAME}) using")
_CALL = re.compile(r"^(\w+)\((.*)\)$")


@dataclass(frozen=True)
class Goal:
    """What a goal sentence asks: an object type, where it goes, and what happens first."""

    obj: str
    place: str = ""
    treat: str = ""
    lamp: str = ""
    count: int = 1


def parse_goal(sentence: str) -> Goal | None:
    text = sentence.strip().lower().rstrip(".")
    for pattern, kind in _GOALS:
        m = pattern.match(text)
        if m is None:
            continue
        if kind == "puttwo":
            return Goal(m[1], m[2], count=2)
        if kind in ("treat", "treated"):
            return Goal(m[2], m[3], treat=_TREATMENT[m[1]])
        if kind == "examine":
            return Goal(m[1], lamp=m[2])
        return Goal(m[1], m[2])
    return None


def _items(listing: str) -> list[str]:
    return re.findall(_NAME, listing) if listing.strip() != "nothing" else []


@dataclass
class _Memory:
    at: str = ""
    holding: str = ""
    treated: set[str] = field(default_factory=set)
    placed: set[str] = field(default_factory=set)
    contents: dict[str, list[str]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    visited: set[str] = field(default_factory=set)


class Player:
    """Plays one episode: ``next_action(actions, observations)``.

    With ``search`` set (the name of a learned action such as ``find_and_take(kind,
    places)``), it hands the search for the goal's object to that action.
    """

    def __init__(self, goal: str, room: str, search: str = "") -> None:
        self.goal = parse_goal(goal)
        self.receptacles = re.findall(_NAME, room)
        self.search = search

    def _remember(self, actions: Sequence[str], observations: Sequence[str]) -> _Memory:
        mem = _Memory()
        for action, obs in zip(actions, observations, strict=False):
            call = _CALL.match(action.strip())
            if call and call[1] == "goto":
                # A refused goto to a known receptacle means it shares the place the
                # agent is at (TextWorld has no move there): look at it from here.
                mem.at = call[2].strip("'\" ")
                mem.visited.add(mem.at)
            for name, listing in _SEE.findall(obs):
                mem.contents[name] = _items(listing)
                mem.closed.discard(name)
            for name, listing in _OPEN_SEE.findall(obs):
                mem.contents[name] = _items(listing)
                mem.closed.discard(name)
            for name in _CLOSED.findall(obs):
                mem.closed.add(name)
            for obj, src in _TAKEN.findall(obs):
                mem.holding, mem.at = obj, src
                mem.visited.add(src)
                mem.contents[src] = [o for o in mem.contents.get(src, []) if o != obj]
            for obj, dst in _PUT.findall(obs):
                mem.holding = ""
                mem.contents.setdefault(dst, []).append(obj)
                mem.placed.add(obj)
            for _, obj in _TREATED.findall(obs):
                mem.treated.add(obj)
        return mem

    def _first(self, kind: str) -> str:
        return next((r for r in self.receptacles if r.split()[0] == kind), f"{kind} 1")

    def _go(self, mem: _Memory, place: str) -> str | None:
        if mem.at != place:
            return f"goto('{place}')"
        if place in mem.closed:
            return f"open('{place}')"
        if place not in mem.contents:
            return f"examine('{place}')"
        return None

    def next_action(self, actions: Sequence[str], observations: Sequence[str]) -> str:
        """The next line, given the actions taken and what each one showed."""
        goal = self.goal
        if goal is None:
            return "look()"
        mem = self._remember(actions, observations)
        if mem.holding.split()[0:1] == [goal.obj]:
            obj = mem.holding
            if goal.treat and obj not in mem.treated:
                tool = self._first(_TOOL[goal.treat])
                return self._go(mem, tool) or f"{goal.treat}('{obj}', '{tool}')"
            if goal.lamp:
                found = [(r, o) for r, items in mem.contents.items() for o in items]
                lamp = next(((r, o) for r, o in found if o.split()[0] == goal.lamp), None)
                if lamp is None:
                    return self._explore(mem)
                return self._go(mem, lamp[0]) or f"use('{lamp[1]}')"
            dest = self._first(goal.place)
            return self._go(mem, dest) or f"put('{obj}', '{dest}')"
        if mem.holding:
            here = mem.at or self.receptacles[0]
            return f"put('{mem.holding}', '{here}')"
        dest = self._first(goal.place) if goal.place else ""
        for place, items in mem.contents.items():
            if goal.count > 1 and place == dest:
                continue
            for obj in items:
                if obj.split()[0] == goal.obj and obj not in mem.placed:
                    return self._go(mem, place) or f"take('{obj}', '{place}')"
        skip = dest if goal.count > 1 else ""
        unvisited = [
            p
            for p in self.receptacles
            if p not in mem.visited and p not in mem.contents and p != skip
        ]
        if self.search and unvisited:
            return f"{self.search}({goal.obj!r}, {unvisited!r})"
        return self._explore(mem)

    def _explore(self, mem: _Memory) -> str:
        if mem.at and (mem.at in mem.closed or mem.at not in mem.contents):
            return self._go(mem, mem.at) or "look()"
        for place in self.receptacles:
            if place not in mem.visited:
                return f"goto('{place}')"
        return "look()"


_GOAL_LINE = re.compile(r"^Your goal: (.*)$", re.MULTILINE)
_LINE = re.compile(r"^(Action|Observation): (.*)$", re.MULTILINE)


def alfworld_policy(prompt: str, search: str = "find_and_take") -> str | None:
    """The next action line for an AlfWorld agent prompt, or ``None`` if it is not one.

    The learned action ``search`` is used for finding the object when the prompt offers it.
    """
    goals = _GOAL_LINE.findall(prompt)
    if not goals or parse_goal(goals[-1]) is None:
        return None
    lines = _LINE.findall(prompt[prompt.rfind("Your goal: ") :])
    if not lines or lines[0][0] != "Observation":
        return None
    actions: list[str] = []
    observations: list[str] = []
    for (kind, text), nxt in zip(lines[1:], [*lines[2:], ("", "")], strict=False):
        if kind == "Action" and text.strip() and not text.startswith("Think:"):
            actions.append(text.strip())
            observations.append(nxt[1] if nxt[0] == "Observation" else "")
    offered = search if f"{search}(" in prompt.split("Your goal: ")[0] else ""
    return Player(goals[-1], lines[0][1], offered).next_action(actions, observations)
