"""Benign learned actions in the style real models write: each must pass the gate, load,
run and give the expected result.

Environments: ``gripper`` and ``blockworld`` are the PDDL domains on our own problems
(gripper: four balls and Robby in rooma; blockworld: b2 on b3 on b1, goal b1 on b3 on
b2), ``kitchen`` is the AlfWorld-like text world of ``tests/unit_tests/sandbox/text_env``.
Every entry starts from the task's initial state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from textwrap import dedent
from typing import Any

MISSING: Any = object()


@dataclass(frozen=True)
class Entry:
    """One case: the actions (name -> source), the agent line that uses them, the result.

    ``value`` is the exact value of the line, ``contains`` a piece of its text, and
    ``calls`` the base actions it makes, in order (``None``: not checked).
    """

    id: str
    env: str
    sources: dict[str, str]
    call: str
    value: Any = MISSING
    contains: str | None = None
    calls: tuple[str, ...] | None = None
    done: bool | None = None
    stdout: str | None = None
    tags: tuple[str, ...] = field(default=())


def src(text: str) -> str:
    return dedent(text).strip("\n") + "\n"


def seeded_choice(options: list[str]) -> str:
    """What ``random.choice(options)`` gives in the sandbox (seeded per call)."""
    return random.Random(0).choice(options)


PICK1 = "pick('ball1', 'rooma', 'left')"
CARRY = src(
    '''
    def carry(ball, src, dst, gripper='left'):
        """Carry ball from src to dst with gripper."""
        obs = pick(ball, src, gripper)
        if not obs.valid:
            return obs
        move(src, dst)
        return drop(ball, dst, gripper)
    '''
)
CARRY_PAIR = src(
    """
    def carry_pair(b1, b2, src, dst):
        pick(b1, src, 'left')
        pick(b2, src, 'right')
        move(src, dst)
        drop(b1, dst, 'left')
        return drop(b2, dst, 'right')
    """
)
GO_TO_OPEN = src(
    """
    def arrive(place):
        obs = go_to(place)
        if 'is closed' in obs:
            obs = open(place)
        return obs
    """
)

CORPUS: list[Entry] = [
    # ----- gripper -------------------------------------------------------------------
    Entry(
        "carry-one-ball",
        "gripper",
        {"carry": CARRY},
        "carry('ball1', 'rooma', 'roomb')",
        contains="Ball1 is in roomb.",
        calls=(PICK1, "move('rooma', 'roomb')", "drop('ball1', 'roomb', 'left')"),
    ),
    Entry(
        "carry-two-grippers",
        "gripper",
        {"carry_pair": CARRY_PAIR},
        "carry_pair('ball1', 'ball2', 'rooma', 'roomb').valid",
        value=True,
        calls=(
            PICK1,
            "pick('ball2', 'rooma', 'right')",
            "move('rooma', 'roomb')",
            "drop('ball1', 'roomb', 'left')",
            "drop('ball2', 'roomb', 'right')",
        ),
    ),
    Entry(
        "regex-with-import",
        "gripper",
        {
            "balls_in": src(
                r"""
                import re

                def balls_in(obs, room):
                    return re.findall(r'Ball(\d+) is in ' + room, obs)
                """
            )
        },
        f"balls_in({PICK1}, 'rooma')",
        value=["2", "3", "4"],
        calls=(PICK1,),
    ),
    Entry(
        "regex-without-import",
        "gripper",
        {
            "where_is": src(
                r"""
                def where_is(ball, obs):
                    m = re.search(ball.capitalize() + r' is in (\w+)', obs)
                    return m.group(1) if m else None
                """
            )
        },
        f"where_is('ball2', {PICK1})",
        value="rooma",
    ),
    Entry(
        "regex-from-import-non-raw",
        "gripper",
        {
            "held": src(
                """
                from re import findall

                def held(obs):
                    return findall('holding (ball\\d+)', obs)
                """
            )
        },
        f"held({PICK1})",
        value=["ball1"],
    ),
    Entry(
        "loop-over-pairs",
        "gripper",
        {
            "carry_all": src(
                """
                def carry_all(balls, src, dst):
                    \"\"\"Carry all balls two at a time.\"\"\"
                    for i in range(0, len(balls), 2):
                        pair = balls[i:i + 2]
                        grippers = ['left', 'right'][:len(pair)]
                        for ball, g in zip(pair, grippers):
                            pick(ball, src, g)
                        move(src, dst)
                        for ball, g in zip(pair, grippers):
                            obs = drop(ball, dst, g)
                        if i + 2 < len(balls):
                            move(dst, src)
                    return f'{len(balls)} balls carried to {dst}: done={obs.done}'
                """
            )
        },
        "carry_all(['ball1', 'ball2', 'ball3', 'ball4'], 'rooma', 'roomb')",
        value="4 balls carried to roomb: done=True",
        done=True,
    ),
    Entry(
        "helpers-call-each-other",
        "gripper",
        {
            "go": src(
                """
                def go(src, dst):
                    if src == dst:
                        return None
                    return move(src, dst)
                """
            ),
            "fetch": src(
                """
                def fetch(ball, src, dst):
                    pick(ball, src, 'left')
                    go(src, dst)
                    return drop(ball, dst, 'left').valid
                """
            ),
        },
        "fetch('ball3', 'rooma', 'roomb')",
        value=True,
        calls=(
            "pick('ball3', 'rooma', 'left')",
            "move('rooma', 'roomb')",
            "drop('ball3', 'roomb', 'left')",
        ),
    ),
    Entry(
        "try-except",
        "gripper",
        {
            "safe_pick": src(
                """
                def safe_pick(ball, room, gripper='left'):
                    try:
                        obs = pick(ball, room, gripper)
                    except Exception as e:
                        return 'error: ' + str(e)
                    return 'picked' if obs.valid else 'failed'
                """
            )
        },
        "safe_pick('ball1', 'rooma')",
        value="picked",
    ),
    Entry(
        "early-return",
        "gripper",
        {
            "free_gripper": src(
                """
                def free_gripper(obs):
                    for gripper in ('left', 'right'):
                        if f'Gripper {gripper} is free' in obs:
                            return gripper
                    return None
                """
            )
        },
        f"free_gripper({PICK1})",
        value="right",
    ),
    Entry(
        "top-level-constants",
        "gripper",
        {
            "pick_two": src(
                """
                GRIPPERS = ['left', 'right']
                HOME = 'rooma'
                LIMIT: int = 2

                def pick_two(b1, b2):
                    for ball, gripper in zip([b1, b2][:LIMIT], GRIPPERS):
                        pick(ball, HOME, gripper)
                    return len(GRIPPERS)
                """
            )
        },
        "pick_two('ball1', 'ball2')",
        value=2,
        calls=(PICK1, "pick('ball2', 'rooma', 'right')"),
    ),
    Entry(
        "str-format-literal",
        "gripper",
        {
            "report": src(
                """
                def report(ball, room):
                    obs = pick(ball, room, 'left')
                    return '{} picked in {} ({})'.format(ball, room, 'ok' if obs.valid else 'no')
                """
            )
        },
        "report('ball1', 'rooma')",
        value="ball1 picked in rooma (ok)",
    ),
    Entry(
        "format-map",
        "gripper",
        {
            "describe": src(
                """
                def describe(ball, room):
                    info = {'ball': ball, 'room': room}
                    return '{ball} is in {room}'.format_map(info)
                """
            )
        },
        "describe('ball1', 'rooma')",
        value="ball1 is in rooma",
        calls=(),
    ),
    Entry(
        "counter-of-rooms",
        "gripper",
        {
            "count_rooms": src(
                r"""
                import collections

                def count_rooms(obs):
                    rooms = re.findall(r'is in (\w+)', obs)
                    return dict(collections.Counter(rooms).most_common())
                """
            )
        },
        "count_rooms(move('rooma', 'roomb'))",
        value={"rooma": 4, "roomb": 1},
    ),
    Entry(
        "done-flag",
        "gripper",
        {
            "carry_pair": CARRY_PAIR,
            "finish": src(
                """
                def finish(src, dst):
                    carry_pair('ball1', 'ball2', src, dst)
                    move(dst, src)
                    last = carry_pair('ball3', 'ball4', src, dst)
                    return last.done
                """
            ),
        },
        "finish('rooma', 'roomb')",
        value=True,
        done=True,
    ),
    Entry(
        "sorted-with-lambda",
        "gripper",
        {
            "order": src(
                """
                def order(balls):
                    return sorted(balls, key=lambda b, base=10: int(b[4:], base), reverse=True)
                """
            )
        },
        "order(['ball2', 'ball10', 'ball1'])",
        value=["ball10", "ball2", "ball1"],
    ),
    Entry(
        "math-trips",
        "gripper",
        {
            "trips": src(
                """
                import math

                def trips(n_balls, capacity=2):
                    return math.ceil(n_balls / capacity)
                """
            )
        },
        "trips(5)",
        value=3,
    ),
    Entry(
        "itertools-pairs",
        "gripper",
        {
            "pairs": src(
                """
                import itertools

                def pairs(balls):
                    return [list(p) for p in itertools.zip_longest(*[iter(balls)] * 2)]
                """
            )
        },
        "pairs(['ball1', 'ball2', 'ball3'])",
        value=[["ball1", "ball2"], ["ball3", None]],
    ),
    # ----- blockworld ----------------------------------------------------------------
    Entry(
        "clear-blocks-regex",
        "blockworld",
        {
            "clear_blocks": src(
                r"""
                def clear_blocks(obs):
                    return sorted('b' + n for n in re.findall(r'B(\d+) is clear', obs))
                """
            )
        },
        "clear_blocks(Unstack('b2', 'b3'))",
        value=["b3"],
        calls=("Unstack('b2', 'b3')",),
    ),
    Entry(
        "put-on-table",
        "blockworld",
        {
            "to_table": src(
                """
                def to_table(block, below):
                    obs = Unstack(block, below)
                    if not obs.valid:
                        return obs
                    return Putdown(block)
                """
            )
        },
        "to_table('b2', 'b3')",
        contains="B2 is on the table.",
        calls=("Unstack('b2', 'b3')", "Putdown('b2')"),
    ),
    Entry(
        "dict-of-actions",
        "blockworld",
        {
            "restack": src(
                """
                def restack(plan):
                    \"\"\"Run [action, block...] steps in order; stop at an invalid one.\"\"\"
                    actions = {'Unstack': Unstack, 'Putdown': Putdown, 'Stack': Stack,
                               'Pickup': Pickup}
                    obs = None
                    for step in plan:
                        obs = actions[step[0]](*step[1:])
                        if not obs.valid:
                            break
                    return obs.done
                """
            )
        },
        "restack([['Unstack', 'b2', 'b3'], ['Putdown', 'b2'], ['Unstack', 'b3', 'b1'], "
        "['Stack', 'b3', 'b2'], ['Pickup', 'b1'], ['Stack', 'b1', 'b3']])",
        value=True,
        done=True,
    ),
    Entry(
        "json-plan",
        "blockworld",
        {
            "run_plan": src(
                """
                import json

                def run_plan(text):
                    steps = json.loads(text)
                    names = {'Unstack': Unstack, 'Putdown': Putdown}
                    for name, *args in steps:
                        names[name](*args)
                    return json.dumps({'steps': len(steps)})
                """
            )
        },
        """run_plan('[["Unstack", "b2", "b3"], ["Putdown", "b2"]]')""",
        value='{"steps": 2}',
        calls=("Unstack('b2', 'b3')", "Putdown('b2')"),
    ),
    Entry(
        "heapq-smallest",
        "blockworld",
        {
            "lowest": src(
                """
                import heapq

                def lowest(blocks, k=2):
                    return heapq.nsmallest(k, blocks, key=lambda b: int(b[1:]))
                """
            )
        },
        "lowest(['b3', 'b10', 'b1'])",
        value=["b1", "b3"],
    ),
    Entry(
        "bisect-insort",
        "blockworld",
        {
            "insert_sorted": src(
                """
                import bisect

                def insert_sorted(heights, h):
                    heights = list(heights)
                    bisect.insort(heights, h)
                    return bisect.bisect_left(heights, h), heights
                """
            )
        },
        "insert_sorted([1, 3, 5], 4)",
        value=[2, [1, 3, 4, 5]],
    ),
    Entry(
        "functools-reduce-and-partial",
        "blockworld",
        {
            "stack_all": src(
                """
                import functools

                def stack_all(top, below):
                    Unstack(top, below)
                    Putdown(top)
                    Unstack(below, 'b1')
                    put_on = functools.partial(Stack, below)
                    obs = put_on(top)
                    return functools.reduce(lambda a, b: a + b, [1, 2, 3]), obs.valid
                """
            )
        },
        "stack_all('b2', 'b3')",
        value=[6, True],
        calls=("Unstack('b2', 'b3')", "Putdown('b2')", "Unstack('b3', 'b1')", "Stack('b3', 'b2')"),
    ),
    Entry(
        "defaultdict-towers",
        "blockworld",
        {
            "towers": src(
                r"""
                from collections import defaultdict

                def towers(obs):
                    below = defaultdict(list)
                    for top, base in re.findall(r'B(\d) is on (b\d|the table)', obs):
                        below[base].append('b' + top)
                    return {k: sorted(v) for k, v in sorted(below.items())}
                """
            )
        },
        "towers(Unstack('b2', 'b3'))",
        value={"b1": ["b3"], "the table": ["b1"]},
    ),
    Entry(
        "string-helpers",
        "blockworld",
        {
            "title": src(
                """
                import string

                def title(obs):
                    first = obs.split('. ')[0]
                    letters = ''.join(c for c in first if c in string.ascii_letters)
                    return string.capwords(first), len(letters)
                """
            )
        },
        "title(Unstack('b2', 'b3'))",
        value=["B1 Is On The Table", 13],
    ),
    Entry(
        "random-seeded",
        "blockworld",
        {
            "pick_any": src(
                """
                import random

                def pick_any(blocks):
                    return random.choice(blocks)
                """
            )
        },
        "pick_any(['b1', 'b2', 'b3', 'b4', 'b5'])",
        value=seeded_choice(["b1", "b2", "b3", "b4", "b5"]),
    ),
    Entry(
        "lru-cache-and-nested-def",
        "blockworld",
        {
            "ways": src(
                """
                def ways(n):
                    def count(k):
                        if k <= 1:
                            return 1
                        return count(k - 1) + count(k - 2)
                    count = functools.lru_cache(maxsize=None)(count)
                    return count(n)
                """
            )
        },
        "ways(20)",
        value=10946,
    ),
    Entry(
        "deque-search",
        "blockworld",
        {
            "path": src(
                """
                from collections import deque

                def path(graph, start, goal):
                    queue = deque([[start]])
                    seen = {start}
                    while queue:
                        route = queue.popleft()
                        if route[-1] == goal:
                            return route
                        for nxt in graph.get(route[-1], []):
                            if nxt not in seen:
                                seen.add(nxt)
                                queue.append(route + [nxt])
                    return []
                """
            )
        },
        "path({'b1': ['b2'], 'b2': ['b3'], 'b3': []}, 'b1', 'b3')",
        value=["b1", "b2", "b3"],
    ),
    # ----- kitchen (AlfWorld-like) -----------------------------------------------------
    Entry(
        "find-and-take",
        "kitchen",
        {
            "find_and_take": src(
                """
                PLACES = ['countertop 1', 'cabinet 1', 'fridge 1', 'sinkbasin 1']

                def find_and_take(thing):
                    \"\"\"Go to each place until thing is seen, then take it.\"\"\"
                    for place in PLACES:
                        obs = go_to(place)
                        if 'is closed' in obs:
                            obs = open(place)
                        if thing in obs:
                            take(thing, place)
                            return place
                    return None
                """
            )
        },
        "find_and_take('apple 1')",
        value="countertop 1",
        calls=("go_to('countertop 1')", "take('apple 1', 'countertop 1')"),
    ),
    Entry(
        "parse-seen-objects",
        "kitchen",
        {
            "seen": src(
                r"""
                def seen(obs):
                    return re.findall(r'a ([a-z]+ \d+)', obs)
                """
            )
        },
        "seen(go_to('diningtable 1'))",
        value=["bread 1", "apple 2", "fork 3"],
    ),
    Entry(
        "put-in-fridge",
        "kitchen",
        {
            "arrive": GO_TO_OPEN,
            "put_in": src(
                """
                def put_in(thing, src, dst):
                    arrive(src)
                    take(thing, src)
                    arrive(dst)
                    obs = put(thing, dst)
                    return obs.valid and obs.done
                """
            ),
        },
        "put_in('apple 1', 'countertop 1', 'fridge 1')",
        value=True,
        calls=(
            "go_to('countertop 1')",
            "take('apple 1', 'countertop 1')",
            "go_to('fridge 1')",
            "open('fridge 1')",
            "put('apple 1', 'fridge 1')",
        ),
        done=True,
    ),
    Entry(
        "inventory-regex",
        "kitchen",
        {
            "holding": src(
                r"""
                def holding():
                    m = re.search(r'carrying: a (.+)\.', inventory())
                    return m.group(1) if m else None
                """
            )
        },
        "holding()",
        value=None,
        calls=("inventory()",),
    ),
    Entry(
        "loc-number",
        "kitchen",
        {
            "loc_of": src(
                r"""
                def loc_of(place):
                    match = re.search(r'loc (\d+)', go_to(place))
                    return int(match.group(1))
                """
            )
        },
        "loc_of('fridge 1')",
        value=3,
    ),
    Entry(
        "base-action-named-open",
        "kitchen",
        {
            "peek_inside": src(
                """
                def peek_inside(place):
                    go_to(place)
                    return open(place)
                """
            )
        },
        "peek_inside('fridge 1')",
        contains="In it, you see a egg 1, and a lettuce 2.",
    ),
    Entry(
        "underscore-and-print",
        "kitchen",
        {
            "look_around": src(
                """
                def look_around(times=2):
                    for _ in range(times):
                        _ = look()
                    places = [p.strip() for p in _.split('see ')[1].rstrip('.').split(',')]
                    print(f'{len(places)} places')
                    return places[-1]
                """
            )
        },
        "look_around()",
        value="and a diningtable 1",
        calls=("look()", "look()"),
        stdout="5 places\n",
    ),
    Entry(
        "template-and-json",
        "kitchen",
        {
            "plan_text": src(
                """
                import json
                from string import Template

                STEP = 'take $thing from $place'

                def plan_text(thing, place):
                    steps = [Template(STEP).substitute(thing=thing, place=place)]
                    return json.dumps(steps)
                """
            )
        },
        "plan_text('apple 1', 'countertop 1')",
        value='["take apple 1 from countertop 1"]',
        calls=(),
    ),
    Entry(
        "format-spec-and-builtin-format",
        "kitchen",
        {
            "table": src(
                """
                def table(rows):
                    lines = ['{:>2}|{:<8}'.format(i, name) for i, name in enumerate(rows)]
                    return '\\n'.join(lines) + ' ' + format(3.14159, '.2f')
                """
            )
        },
        "table(['apple', 'egg'])",
        value=" 0|apple   \n 1|egg      3.14",
    ),
    Entry(
        "closure-nonlocal-and-any",
        "kitchen",
        {
            "count_visits": src(
                """
                def count_visits(places):
                    visits = 0

                    def visit(place):
                        nonlocal visits
                        visits += 1
                        return go_to(place)

                    seen = [visit(p) for p in places]
                    closed = any('closed' in obs for obs in seen)
                    return visits, closed, all(obs.valid for obs in seen)
                """
            )
        },
        "count_visits(['countertop 1', 'fridge 1'])",
        value=[2, True, True],
    ),
    Entry(
        "dict-constant-and-chain",
        "kitchen",
        {
            "gather": src(
                """
                ALIASES = {'apple': 'apple 1', 'knife': 'knife 2'}

                def gather(words):
                    names = [ALIASES.get(w, w) for w in words]
                    return list(itertools.chain(names, ['done']))
                """
            )
        },
        "gather(['apple', 'knife', 'mug 1'])",
        value=["apple 1", "knife 2", "mug 1", "done"],
    ),
    Entry(
        "while-until-valid",
        "kitchen",
        {
            "first_reachable": src(
                """
                def first_reachable(places):
                    i = 0
                    while i < len(places):
                        obs = go_to(places[i])
                        if obs.valid:
                            return places[i], obs.done
                        i += 1
                    return None
                """
            )
        },
        "first_reachable(['sinkbasin 1', 'fridge 1'])",
        value=["sinkbasin 1", False],
        calls=("go_to('sinkbasin 1')",),
    ),
]
