"""A sandbox over the toy environment with small limits, shared per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from learnact_langgraph.sandbox import Limits, Sandbox
from tests.unit_tests.sandbox.toy_env import CARRY, fresh_env

SMALL = Limits(wall_time_s=1.0, cpu_time_s=1.0, memory_mb=256, output_chars=200, base_calls=10)


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(fresh_env(), limits=SMALL) as sandbox:
        sandbox.load({"carry": CARRY})
        yield sandbox


@pytest.fixture(autouse=True)
def _reset(request: pytest.FixtureRequest) -> None:
    if "sb" in request.fixturenames:
        request.getfixturevalue("sb").env.reset(0)
