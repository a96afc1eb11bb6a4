"""One sandbox (one worker) shared by the attack cases, with small limits to stay fast."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from learnact_langgraph.sandbox import Limits, Sandbox
from tests.unit_tests.sandbox.toy_env import CARRY, fresh_env

SMALL = Limits(
    wall_time_s=1.5,
    cpu_time_s=1.0,
    memory_mb=256,
    output_chars=2_000,
    base_calls=30,
    recursion_depth=100,
)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(fresh_env(), limits=SMALL) as sandbox:
        sandbox.load({"carry": CARRY})
        yield sandbox


@pytest.fixture(autouse=True)
def _reset(sb: Sandbox) -> None:
    sb.env.reset(0)
