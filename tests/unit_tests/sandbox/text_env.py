"""A tiny AlfWorld-like text world for sandbox tests (no data files needed).

Observations are sentences like AlfWorld's: "You arrive at loc 2. On the countertop 1,
you see a apple 1, and a knife 2." Its ``open`` is a base action, as in AlfWorld.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from learnact_langgraph.envs.base import Environment, StepResult, Task, base_action

PLACES = ("countertop 1", "cabinet 1", "fridge 1", "sinkbasin 1", "diningtable 1")
OPENABLE = ("cabinet 1", "fridge 1")
NOTHING = "Nothing happens."


def listing(items: Sequence[str]) -> str:
    """AlfWorld's list: "a apple 1, and a knife 2", "a mug 1", or "nothing"."""
    if not items:
        return "nothing"
    named = [f"a {item}" for item in items]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + ", and " + named[-1]


class Kitchen(Environment):
    """Put the apple in the fridge: go to places, open them, take and put objects."""

    name = "kitchen"
    instruction = "Your task is to: put a apple in fridge."

    def tasks(self) -> Sequence[Task]:
        return [Task(id="kitchen/0", domain="kitchen", index=0, meta={"goal": "apple 1 in fridge"})]

    def _reset(self, task: Task) -> str:
        self.state: dict[str, Any] = {
            "at": None,
            "hand": None,
            "open": {p: False for p in OPENABLE},
            "things": {
                "countertop 1": ["apple 1", "knife 2"],
                "cabinet 1": ["mug 1"],
                "fridge 1": ["egg 1", "lettuce 2"],
                "sinkbasin 1": [],
                "diningtable 1": ["bread 1", "apple 2", "fork 3"],
            },
        }
        return self._look()

    def goal_progress(self) -> float:
        return 1.0 if "apple 1" in self.state["things"]["fridge 1"] else 0.0

    def _look(self) -> str:
        return (
            "You are in the middle of a room. Looking quickly around you, you see "
            + listing(list(PLACES))
            + "."
        )

    def _contents(self, place: str) -> str:
        if place in OPENABLE and not self.state["open"][place]:
            return f"The {place} is closed."
        return f"On the {place}, you see {listing(self.state['things'][place])}."

    @base_action
    def go_to(self, place: str) -> StepResult:
        """Go to a place (countertop 1, cabinet 1, fridge 1, ...)."""
        text = f"go_to({place!r})"
        if place not in PLACES:
            return self.refuse(text, "bad_arguments", NOTHING)
        self.state["at"] = place
        return self.ok(
            text, f"You arrive at loc {PLACES.index(place) + 1}. {self._contents(place)}"
        )

    @base_action
    def open(self, place: str) -> StepResult:
        """Open a closed cabinet or fridge you are at."""
        text = f"open({place!r})"
        if place not in OPENABLE or self.state["at"] != place or self.state["open"][place]:
            return self.refuse(text, "precondition", NOTHING)
        self.state["open"][place] = True
        inside = listing(self.state["things"][place])
        return self.ok(text, f"You open the {place}. The {place} is open. In it, you see {inside}.")

    @base_action
    def take(self, thing: str, place: str) -> StepResult:
        """Take a thing from the place you are at."""
        text = f"take({thing!r}, {place!r})"
        things = self.state["things"].get(place, [])
        closed = place in OPENABLE and not self.state["open"][place]
        if self.state["at"] != place or thing not in things or self.state["hand"] or closed:
            return self.refuse(text, "precondition", NOTHING)
        things.remove(thing)
        self.state["hand"] = thing
        return self.ok(text, f"You pick up the {thing} from the {place}.")

    @base_action
    def put(self, thing: str, place: str) -> StepResult:
        """Put the thing you hold in or on the place you are at."""
        text = f"put({thing!r}, {place!r})"
        closed = place in OPENABLE and not self.state["open"].get(place, False)
        if self.state["hand"] != thing or self.state["at"] != place or closed:
            return self.refuse(text, "precondition", NOTHING)
        self.state["hand"] = None
        self.state["things"][place].append(thing)
        return self.ok(text, f"You put the {thing} in/on the {place}.")

    @base_action
    def look(self) -> StepResult:
        """Look around."""
        return self.ok("look()", self._look())

    @base_action
    def inventory(self) -> StepResult:
        """Say what you carry."""
        held = self.state["hand"]
        text = f"You are carrying: a {held}." if held else "You are not carrying anything."
        return self.ok("inventory()", text)


def fresh_kitchen() -> Kitchen:
    env = Kitchen()
    env.reset(0)
    return env
