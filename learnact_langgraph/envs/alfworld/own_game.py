"""A small AlfWorld room of our own, for worked examples that leak no benchmark answer.

The paper's games share one PDDL domain and one grammar; only the problem (the room)
and the task sentence differ. :func:`write_game` takes the domain and grammar from any
game file the user has, puts our own room and task in, and writes a game file that
TextWorld plays like any other. The room is a kitchen corner with eight receptacles;
none of the 134 benchmark games is this room. (TextWorld numbers objects of a kind in
reverse order of their ids: ``Cup_bar_2`` is "cup 1".)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

#: Receptacle -> (type, opens?, objects in it).
ROOM: dict[str, tuple[str, bool, tuple[str, ...]]] = {
    "Countertop_bar_1": ("Countertop", False, ("Bread_bar_1", "Knife_bar_1")),
    "Cabinet_bar_1": ("Cabinet", True, ()),
    "Drawer_bar_1": ("Drawer", True, ("Spoon_bar_1",)),
    "Fridge_bar_1": ("Fridge", True, ("Egg_bar_1",)),
    "Microwave_bar_1": ("Microwave", True, ()),
    "Sink_bar_1_bar_Basin": ("SinkBasin", False, ("Cup_bar_2", "Plate_bar_1")),
    "SideTable_bar_1": ("SideTable", False, ("DeskLamp_bar_1", "Book_bar_1")),
    "Shelf_bar_1": ("Shelf", False, ("Cup_bar_1",)),
}
#: What each object can undergo (all can be picked up, except the lamp).
OBJECTS: dict[str, tuple[str, ...]] = {
    "Bread": ("cleanable", "heatable", "coolable"),
    "Knife": ("cleanable",),
    "Spoon": ("cleanable",),
    "Egg": ("heatable", "coolable"),
    "Cup": ("cleanable", "heatable", "coolable"),
    "Plate": ("cleanable", "heatable", "coolable"),
    "Book": (),
    "DeskLamp": ("toggleable",),
}
#: Receptacle type -> object types it holds.
HOLDS: dict[str, tuple[str, ...]] = {
    "Countertop": ("Bread", "Knife", "Spoon", "Egg", "Cup", "Plate", "Book"),
    "Cabinet": ("Cup", "Plate", "Spoon", "Book", "Bread"),
    "Drawer": ("Knife", "Spoon", "Book"),
    "Fridge": ("Bread", "Egg", "Cup", "Plate"),
    "Microwave": ("Bread", "Egg", "Cup", "Plate"),
    "SinkBasin": ("Cup", "Plate", "Knife", "Spoon", "Egg"),
    "SideTable": ("Book", "DeskLamp", "Cup", "Plate", "Bread"),
    "Shelf": ("Cup", "Plate", "Book", "Bread"),
}


@dataclass(frozen=True)
class Case:
    """One task in our room: its sentence, the goal formula and a plan that solves it."""

    sentence: str
    goal: str
    plan: tuple[str, ...]


def _placed(obj: str, recep: str, extra: str = "") -> str:
    return (
        f"(exists (?r - receptacle) (exists (?o - object) (and (inReceptacle ?o ?r) "
        f"(objectType ?o {obj}Type) (receptacleType ?r {recep}Type) {extra})))"
    )


CASES: dict[str, Case] = {
    "put": Case(
        "put a spoon in countertop.",
        _placed("Spoon", "Countertop"),
        (
            "goto('drawer 1')",
            "open('drawer 1')",
            "take('spoon 1', 'drawer 1')",
            "goto('countertop 1')",
            "put('spoon 1', 'countertop 1')",
        ),
    ),
    "clean": Case(
        "put a clean plate in cabinet.",
        _placed("Plate", "Cabinet", "(isClean ?o)"),
        (
            "goto('sinkbasin 1')",
            "take('plate 1', 'sinkbasin 1')",
            "clean('plate 1', 'sinkbasin 1')",
            "goto('cabinet 1')",
            "open('cabinet 1')",
            "put('plate 1', 'cabinet 1')",
        ),
    ),
    "heat": Case(
        "heat some egg and put it in countertop.",
        _placed("Egg", "Countertop", "(isHot ?o)"),
        (
            "goto('fridge 1')",
            "open('fridge 1')",
            "take('egg 1', 'fridge 1')",
            "goto('microwave 1')",
            "heat('egg 1', 'microwave 1')",
            "goto('countertop 1')",
            "put('egg 1', 'countertop 1')",
        ),
    ),
    "cool": Case(
        "cool some bread and put it in shelf.",
        _placed("Bread", "Shelf", "(isCool ?o)"),
        (
            "goto('countertop 1')",
            "take('bread 1', 'countertop 1')",
            "goto('fridge 1')",
            "cool('bread 1', 'fridge 1')",
            "goto('shelf 1')",
            "put('bread 1', 'shelf 1')",
        ),
    ),
    "examine": Case(
        "look at book under the desklamp.",
        "(and (exists (?ot - object ?r - receptacle ?a - agent ?l - location) (and "
        "(objectType ?ot DeskLampType) (toggleable ?ot) (isToggled ?ot) "
        "(receptacleAtLocation ?r ?l) (atLocation ?a ?l) (inReceptacle ?ot ?r))) "
        "(exists (?o - object ?a - agent) (and (objectType ?o BookType) (holds ?a ?o))))",
        ("goto('sidetable 1')", "take('book 1', 'sidetable 1')", "use('desklamp 1')"),
    ),
    "puttwo": Case(
        "put two cup in cabinet.",
        "(exists (?r - receptacle) (exists (?o1 - object) (and (objectType ?o1 CupType) "
        "(receptacleType ?r CabinetType) (inReceptacle ?o1 ?r) (exists (?o2 - object) "
        "(and (not (= ?o1 ?o2)) (objectType ?o2 CupType) (inReceptacle ?o2 ?r))))))",
        (
            "goto('sinkbasin 1')",
            "take('cup 1', 'sinkbasin 1')",
            "goto('cabinet 1')",
            "open('cabinet 1')",
            "put('cup 1', 'cabinet 1')",
            "goto('shelf 1')",
            "take('cup 2', 'shelf 1')",
            "goto('cabinet 1')",
            "put('cup 2', 'cabinet 1')",
        ),
    ),
}


def problem_text(goal: str) -> str:
    """Our room as a PDDL problem of the ALFRED domain, with ``goal``."""
    objects = sorted({o for _, _, inside in ROOM.values() for o in inside})
    kinds = sorted(OBJECTS)
    lines = [
        "(define (problem learnact_own_room)",
        "(:domain alfred)",
        "(:objects",
        "agent1 - agent",
    ]
    lines += [f"{o} - object" for o in objects]
    lines += [f"{k}Type - otype" for k in kinds]
    lines += [f"{r} - receptacle" for r in ROOM]
    lines += [f"{t}Type - rtype" for t in HOLDS]
    lines += [f"loc_bar_{i} - location" for i in range(len(ROOM) + 1)]
    lines += [")", "(:init", "(atLocation agent1 loc_bar_0)"]
    for i, (recep, (rtype, opens, inside)) in enumerate(ROOM.items(), start=1):
        lines.append(f"(receptacleType {recep} {rtype}Type)")
        lines.append(f"(receptacleAtLocation {recep} loc_bar_{i})")
        if opens:
            lines.append(f"(openable {recep})")
        for obj in inside:
            kind = obj.split("_bar_")[0]
            lines.append(f"(objectType {obj} {kind}Type)")
            lines.append(f"(inReceptacle {obj} {recep})")
            lines.append(f"(objectAtLocation {obj} loc_bar_{i})")
            lines += [f"({prop} {obj})" for prop in OBJECTS[kind]]
            if kind != "DeskLamp":
                lines.append(f"(pickupable {obj})")
    lines += [f"(canContain {r}Type {o}Type)" for r, held in HOLDS.items() for o in held]
    lines += [")", f"(:goal {goal})", ")"]
    return "\n".join(lines)


_TASK_RULE = re.compile(r'("task":\s*\[\s*\{\s*"rhs":\s*")Your task is to: [^"]*(")')


def write_game(source: Path, case: Case, target: Path) -> Path:
    """Write our room with ``case``'s task to ``target``, domain and grammar from ``source``."""
    data = json.loads(source.read_text())
    grammar, found = _TASK_RULE.subn(
        lambda m: f"{m[1]}Your task is to: {case.sentence}{m[2]}", data["grammar"]
    )
    if found != 1:
        raise ValueError(f"{source} has no task sentence in its grammar.")
    game = {
        "pddl_domain": data["pddl_domain"],
        "grammar": grammar,
        "pddl_problem": problem_text(case.goal),
        "solvable": True,
    }
    target.write_text(json.dumps(game))
    return target
