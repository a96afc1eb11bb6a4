"""One sandbox (one worker) shared by the attack cases, with small limits to stay fast.

``LEARNACT_SANDBOX_BACKEND=monty`` runs the attack cases against the optional Monty
backend instead (used to measure it for docs/sandbox.md; not part of ``make unit``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from learnact_langgraph.sandbox import BaseReply, Limits, Sandbox, SubprocessBackend
from tests.unit_tests.sandbox.toy_env import CARRY, fresh_env

SMALL = Limits(
    wall_time_s=1.5,
    cpu_time_s=1.0,
    memory_mb=256,
    output_chars=2_000,
    base_calls=30,
    recursion_depth=100,
)


BACKEND = os.environ.get("LEARNACT_SANDBOX_BACKEND", "subprocess")
# Monty's base actions return plain strings, so its carry cannot branch on .valid.
CARRY_PLAIN = CARRY.replace("    if not obs.valid:\n        return obs\n", "")


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(fresh_env(), backend=BACKEND, limits=SMALL) as sandbox:
        sandbox.load({"carry": CARRY if BACKEND == "subprocess" else CARRY_PLAIN})
        yield sandbox


@pytest.fixture(autouse=True)
def _reset(sb: Sandbox) -> None:
    sb.env.reset(0)


def answer_move(name: str, args: tuple[Any, ...]) -> BaseReply:
    """The host side of a bare worker: every base call is a valid move to b."""
    return BaseReply("You are in b.", True, False)


@pytest.fixture(scope="module")
def backend() -> Iterator[SubprocessBackend]:
    """A bare worker with no policy in front: tests of the layers under it."""
    b = SubprocessBackend(["move"], SMALL)
    yield b
    b.close()
