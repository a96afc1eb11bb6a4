"""Seeded generators of fresh gripper and blocks-world problems (no download needed).

Each problem is PDDL text for our own domain files in ``domains/``, whose operators and
predicates match the benchmark domains, so actions learned on generated tasks work on
the benchmark ones. The same ``(domain, seed, size, index)`` always gives the same text.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from importlib import resources

from learnact_langgraph.errors import EnvironmentError_


def domain_text(domain: str) -> str:
    """Our own PDDL domain file for ``domain`` (``gripper`` or ``blockworld``)."""
    if domain not in GENERATORS:
        raise EnvironmentError_(
            f"Generated tasks exist for {', '.join(sorted(GENERATORS))}, not {domain!r}; "
            "use tasks='benchmark' for the other domains."
        )
    return (
        resources.files("learnact_langgraph.envs.pddl")
        .joinpath(f"domains/{domain}.pddl")
        .read_text()
    )


def gripper_problem(size: int, rng: random.Random, name: str) -> str:
    """``size`` balls spread over two rooms; every ball must go to the other room."""
    if size < 1:
        raise EnvironmentError_(f"A gripper problem needs size >= 1 ball, got {size}.")
    rooms = ("rooma", "roomb")
    balls = [f"ball{i}" for i in range(1, size + 1)]
    start = {b: rng.choice(rooms) for b in balls}
    init = [f"(room {r})" for r in rooms] + ["(gripper left)", "(gripper right)"]
    init += ["(free left)", "(free right)", f"(at-robby {rng.choice(rooms)})"]
    init += [f"(ball {b})" for b in balls] + [f"(at {b} {start[b]})" for b in balls]
    goal = [f"(at {b} {rooms[1 - rooms.index(start[b])]})" for b in balls]
    objects = " ".join([*rooms, *balls, "left", "right"])
    return _problem(name, "gripper", objects, init, goal)


def _towers(blocks: list[str], rng: random.Random) -> list[list[str]]:
    """A random arrangement of ``blocks`` into towers (bottom first)."""
    order = blocks[:]
    rng.shuffle(order)
    towers: list[list[str]] = []
    for b in order:
        if towers and rng.random() < 0.5:
            towers[-1].append(b)
        else:
            towers.append([b])
    return towers


def _on_atoms(towers: list[list[str]]) -> set[str]:
    return {f"(on {t[i]} {t[i - 1]})" for t in towers for i in range(1, len(t))}


def blockworld_problem(size: int, rng: random.Random, name: str) -> str:
    """``size`` blocks in random towers; the goal is another random set of towers."""
    if size < 2:
        raise EnvironmentError_(f"A blocks-world problem needs size >= 2 blocks, got {size}.")
    blocks = [f"b{i}" for i in range(1, size + 1)]
    towers = _towers(blocks, rng)
    start = _on_atoms(towers)
    goal: set[str] = set()
    while not goal or goal <= start:
        goal = _on_atoms(_towers(blocks, rng))
    init = ["(arm-empty)", *sorted(start)]
    init += [f"(on-table {t[0]})" for t in towers] + [f"(clear {t[-1]})" for t in towers]
    return _problem(name, "blockworld", " ".join(blocks), init, sorted(goal))


def _problem(name: str, domain: str, objects: str, init: list[str], goal: list[str]) -> str:
    lines = [f"(define (problem {name})", f"  (:domain {domain})", f"  (:objects {objects})"]
    lines += ["  (:init", *(f"    {a}" for a in init), "  )"]
    lines += ["  (:goal (and", *(f"    {a}" for a in goal), "  ))", ")"]
    return "\n".join(lines) + "\n"


GENERATORS: dict[str, Callable[[int, random.Random, str], str]] = {
    "gripper": gripper_problem,
    "blockworld": blockworld_problem,
}


def generate(domain: str, *, n: int, size: int, seed: int) -> list[str]:
    """``n`` problems of ``domain`` with ``size`` balls/blocks, determined by ``seed``."""
    domain_text(domain)  # a clear error for domains without a generator
    make = GENERATORS[domain]
    if n < 1:
        raise EnvironmentError_(f"Ask for at least one generated task (n >= 1), got n={n}.")
    return [
        make(size, random.Random(f"{domain}:{seed}:{size}:{i}"), f"{domain}-s{seed}-n{size}-{i}")
        for i in range(n)
    ]
