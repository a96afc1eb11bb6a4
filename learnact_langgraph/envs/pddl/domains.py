"""What each planning domain looks like to an agent: actions, descriptions and wording.

Python action names and parameter names follow the paper's per-domain signatures
(LearnAct's action wrappers); PDDL hyphens become underscores and parameters map onto
the PDDL operator parameters by position. Descriptions, instructions and the English
rendering of every predicate are our own wording (see ``docs/pddl-environments.md`` for
where the text differs from AgentBoard's).
"""

from __future__ import annotations

from dataclasses import dataclass

from learnact_langgraph.envs.base import BaseAction, Param


@dataclass(frozen=True)
class ActionSpec:
    """One base action: its Python signature and the PDDL operator behind it."""

    name: str
    operator: str
    params: tuple[str, ...]
    description: str

    def base_action(self) -> BaseAction:
        return BaseAction(self.name, tuple(Param(p) for p in self.params), self.description)


@dataclass(frozen=True)
class DomainSpec:
    """Everything domain-specific that the PDDL environment needs besides the PDDL."""

    name: str
    instruction: str
    actions: tuple[ActionSpec, ...]
    #: predicate -> sentence template with ``{0}``, ``{1}`` ... for its arguments
    predicates: dict[str, str]

    def render(self, atom: tuple[str, ...]) -> str:
        """One atom as an English clause (no capital, no full stop)."""
        template = self.predicates.get(atom[0])
        if template is None:
            return " ".join(atom)
        return template.format(*atom[1:])


def _a(name: str, operator: str, params: str, description: str) -> ActionSpec:
    return ActionSpec(name, operator, tuple(params.split()), description)


GRIPPER = DomainSpec(
    name="gripper",
    instruction=(
        "You control Robby, a robot with two grippers (left and right) that can each hold "
        "one ball. There are two rooms and some balls lying in them. Robby can move between "
        "the rooms and pick up or drop balls in the room where it is. The goal is a set of "
        "conditions on where the balls must end up; the task is done when all of them hold "
        "at the same time."
    ),
    actions=(
        _a("move", "move", "room1 room2", "Move Robby from room1, where it is now, to room2."),
        _a(
            "pick",
            "pick",
            "obj room gripper",
            "Pick up ball obj in room with gripper. Robby must be in room, the ball must be "
            "there and the gripper must be free; afterwards the gripper holds the ball.",
        ),
        _a(
            "drop",
            "drop",
            "obj room gripper",
            "Drop ball obj, held by gripper, in room, where Robby must be. The ball is then "
            "in room and the gripper is free again.",
        ),
    ),
    predicates={
        "room": "{0} is a room",
        "ball": "{0} is a ball",
        "gripper": "{0} is a gripper",
        "at-robby": "Robby is in {0}",
        "at": "{0} is in {1}",
        "free": "gripper {0} is free",
        "carry": "gripper {1} is holding {0}",
    },
)

BLOCKWORLD = DomainSpec(
    name="blockworld",
    instruction=(
        "You control a robot arm over a table with blocks on it. Blocks stand on the table "
        "or on other blocks, forming towers. The arm holds at most one block, and only a "
        "block with nothing on top of it (a clear block) can be picked up or stacked on. "
        "The goal is a set of conditions on which block stands on which; the task is done "
        "when all of them hold at the same time."
    ),
    actions=(
        _a(
            "Pickup",
            "pickup",
            "block",
            "Pick up block from the table. The arm must be empty and the block clear and on "
            "the table; afterwards the arm holds it.",
        ),
        _a(
            "Putdown",
            "putdown",
            "block",
            "Put the block the arm is holding down on the table; the arm becomes empty.",
        ),
        _a(
            "Stack",
            "stack",
            "block1 block2",
            "Put block1, which the arm is holding, on top of block2, which must be clear. "
            "The arm becomes empty and block2 is no longer clear.",
        ),
        _a(
            "Unstack",
            "unstack",
            "block1 block2",
            "Take block1 off block2. The arm must be empty and block1 clear and on block2; "
            "afterwards the arm holds block1 and block2 is clear.",
        ),
    ),
    predicates={
        "clear": "{0} is clear",
        "on-table": "{0} is on the table",
        "arm-empty": "the arm is empty",
        "holding": "the arm is holding {0}",
        "on": "{0} is on {1}",
    },
)

BARMAN = DomainSpec(
    name="barman",
    instruction=(
        "You are a robot bartender with two hands (left and right) working with shot "
        "glasses, a shaker, ingredient dispensers and cocktail recipes. Every cocktail "
        "mixes two ingredients (its first and second part). A shot glass is filled from a "
        "dispenser; ingredients are poured into the shaker, shaken into a cocktail and "
        "poured into shot glasses. Each hand holds one container at a time; many actions "
        "need the other hand empty. A used container must be emptied and cleaned before it "
        "takes a different drink. The shaker has levels: pouring into it raises its level "
        "by one, pouring out of it lowers it. The goal says which drink each shot glass "
        "must contain; the task is done when all of them hold at the same time."
    ),
    actions=(
        _a(
            "grasp",
            "grasp",
            "hand container",
            "Take container from the table with hand, which must be empty.",
        ),
        _a(
            "leave",
            "leave",
            "hand container",
            "Put container, held by hand, back on the table; the hand becomes empty.",
        ),
        _a(
            "fill_shot",
            "fill-shot",
            "shot ingredient hand1 hand2 dispenser",
            "Fill the clean, empty shot glass held by hand1 with ingredient from dispenser, "
            "which must dispense it; hand2 must be empty. The glass then contains the "
            "ingredient and counts as used for it.",
        ),
        _a(
            "refill_shot",
            "refill-shot",
            "shot ingredient hand1 hand2 dispenser",
            "Refill the empty shot glass held by hand1, last used for ingredient, with the "
            "same ingredient from dispenser; hand2 must be empty.",
        ),
        _a(
            "empty_shot",
            "empty-shot",
            "hand shot beverage",
            "Empty the shot glass held by hand, which contains beverage; it stays used.",
        ),
        _a(
            "clean_shot",
            "clean-shot",
            "shot beverage hand1 hand2",
            "Clean the empty shot glass held by hand1 that was used for beverage; hand2 must "
            "be empty. The glass becomes clean.",
        ),
        _a(
            "pour_shot_to_clean_shaker",
            "pour-shot-to-clean-shaker",
            "shot ingredient shaker hand1 level1 level2",
            "Pour ingredient from the shot glass held by hand1 into the clean, empty shaker, "
            "whose level goes from level1 to the next level, level2. The glass becomes empty "
            "and the shaker holds the ingredient, not yet shaken.",
        ),
        _a(
            "pour_shot_to_used_shaker",
            "pour-shot-to-used-shaker",
            "shot ingredient shaker hand1 level1 level2",
            "Pour ingredient from the shot glass held by hand1 into the shaker that already "
            "holds unshaken ingredients; its level goes from level1 to the next level, "
            "level2. The glass becomes empty.",
        ),
        _a(
            "empty_shaker",
            "empty-shaker",
            "hand shaker cocktail level1 level2",
            "Empty the shaken shaker held by hand, which contains cocktail, from its level "
            "level1 down to its empty level level2. The shaker becomes empty (not clean).",
        ),
        _a(
            "clean_shaker",
            "clean-shaker",
            "hand1 hand2 shaker",
            "Clean the empty shaker held by hand1; hand2 must be empty.",
        ),
        _a(
            "shake",
            "shake",
            "cocktail ingredient1 ingredient2 shaker hand1 hand2",
            "Shake the shaker held by hand1 (hand2 empty) that contains ingredient1 and "
            "ingredient2, the first and second parts of cocktail, unshaken. The shaker then "
            "contains cocktail instead of the two ingredients.",
        ),
        _a(
            "pour_shaker_to_shot",
            "pour-shaker-to-shot",
            "beverage shot hand shaker level1 level2",
            "Pour beverage from the shaken shaker held by hand into the clean, empty shot "
            "glass; the shaker level drops from level1 to the level below it, level2. The "
            "glass then contains the beverage.",
        ),
    ),
    predicates={
        "ontable": "{0} is on the table",
        "holding": "hand {0} is holding {1}",
        "handempty": "hand {0} is empty",
        "empty": "{0} is empty",
        "contains": "{0} contains {1}",
        "clean": "{0} is clean",
        "used": "{0} has been used for {1}",
        "dispenses": "{0} dispenses {1}",
        "shaker-empty-level": "the empty level of {0} is {1}",
        "shaker-level": "{0} is at level {1}",
        "next": "level {1} is one above level {0}",
        "unshaked": "{0} is not shaken",
        "shaked": "{0} is shaken",
        "cocktail-part1": "the first part of {0} is {1}",
        "cocktail-part2": "the second part of {0} is {1}",
    },
)

TYREWORLD = DomainSpec(
    name="tyreworld",
    instruction=(
        "You are a mechanic changing car wheels. The tools (wrench, jack, pump) and spare "
        "wheels start in the boot, which must be opened before anything is fetched from it "
        "or put into it. To swap a wheel on a hub: loosen its nuts with the wrench while the "
        "hub is on the ground, jack the hub up, undo the nuts, remove the wheel, put the "
        "new wheel on, do the nuts up, jack the hub down and tighten the nuts. Spare wheels "
        "must be inflated with the pump. The goal lists where wheels and tools must end up "
        "(usually: the good wheels inflated and on the hubs, the flat wheels and the tools "
        "back in the boot, the boot closed); the task is done when all of it holds at the "
        "same time."
    ),
    actions=(
        _a("open", "open", "container", "Open the container, which must be closed and unlocked."),
        _a("close", "close", "container", "Close the container, which must be open."),
        _a(
            "fetch",
            "fetch",
            "object container",
            "Take object out of the open container; you then have it.",
        ),
        _a(
            "put_away",
            "put-away",
            "object container",
            "Put object, which you have, into the open container.",
        ),
        _a(
            "loosen",
            "loosen",
            "nut hub",
            "Loosen the tight nut on hub with the wrench (which you must have); the hub must "
            "be on the ground.",
        ),
        _a(
            "tighten",
            "tighten",
            "nut hub",
            "Tighten the loose nut on hub with the wrench; the hub must be on the ground.",
        ),
        _a(
            "jack_up",
            "jack-up",
            "hub",
            "Raise hub off the ground with the jack, which you must have; the jack then stays "
            "under the hub until it is lowered.",
        ),
        _a(
            "jack_down",
            "jack-down",
            "hub",
            "Lower the raised hub back onto the ground; you have the jack again.",
        ),
        _a(
            "undo",
            "undo",
            "nut hub",
            "Take the loose nut off the raised, fastened hub with the wrench; you then have "
            "the nut and the hub is unfastened.",
        ),
        _a(
            "do_up",
            "do-up",
            "nut hub",
            "Put the nut you have back on the raised, unfastened hub with the wrench; the hub "
            "is fastened and the nut is loose.",
        ),
        _a(
            "remove_wheel",
            "remove-wheel",
            "wheel hub",
            "Take wheel off the raised, unfastened hub; you then have the wheel and the hub "
            "is free.",
        ),
        _a(
            "put_on_wheel",
            "put-on-wheel",
            "wheel hub",
            "Put the wheel you have on the raised, unfastened, free hub.",
        ),
        _a(
            "inflate",
            "inflate",
            "wheel",
            "Inflate the intact, uninflated wheel with the pump, which you must have.",
        ),
    ),
    predicates={
        "isopen": "{0} is open",
        "closed": "{0} is closed",
        "have": "you have {0}",
        "in": "{0} is in {1}",
        "loose": "nut {0} on {1} is loose",
        "tight": "nut {0} on {1} is tight",
        "unlocked": "{0} is unlocked",
        "on-ground": "{0} is on the ground",
        "not-on-ground": "{0} is jacked up",
        "inflated": "{0} is inflated",
        "not-inflated": "{0} is not inflated",
        "fastened": "{0} is fastened",
        "unfastened": "{0} is unfastened",
        "free": "{0} has no wheel on it",
        "on": "{0} is on {1}",
        "intact": "{0} is intact",
    },
)

SPECS: dict[str, DomainSpec] = {s.name: s for s in (GRIPPER, BLOCKWORLD, BARMAN, TYREWORLD)}
#: The four Robotic Planning domains, in the paper's order.
DOMAINS: tuple[str, ...] = tuple(SPECS)
