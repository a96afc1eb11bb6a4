"""The threads a wave of units runs on: kept between waves, never making a unit wait
for another one."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from learnact_langgraph.graphs.unit_threads import UnitThreads

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def test_waves_run_in_order_on_threads_that_are_kept() -> None:
    units = UnitThreads(size=4)
    seen: list[set[int]] = []
    for _ in range(3):
        idents: set[int] = set()

        def work(i: int, idents: set[int] = idents) -> int:
            idents.add(threading.get_ident())
            time.sleep(0.01)
            return i * i

        assert units.map(work, [0, 1, 2, 3]) == [0, 1, 4, 9]
        seen.append(idents)
    assert threading.get_ident() not in set().union(*seen)
    assert len(set().union(*seen)) == 4  # the same four threads every wave


def test_each_unit_runs_in_the_callers_context() -> None:
    token = WHO.set("caller")
    try:
        assert UnitThreads(size=2).map(lambda i: f"{WHO.get()}-{i}", [0, 1]) == [
            "caller-0",
            "caller-1",
        ]
    finally:
        WHO.reset(token)


def test_a_wave_started_by_a_unit_gets_its_own_threads() -> None:
    units = UnitThreads(size=2)

    def outer(i: int) -> list[int]:
        return units.map(lambda j: 10 * i + j, [0, 1])  # the two kept threads are busy

    assert units.map(outer, [1, 2]) == [[10, 11], [20, 21]]


def test_a_wave_wider_than_the_free_threads_is_not_queued() -> None:
    units = UnitThreads(size=2)
    both = threading.Barrier(3, timeout=5)  # three units must run at once
    assert units.map(lambda i: both.wait() >= 0, [0, 1, 2]) == [True, True, True]

    started = threading.Event()
    release = threading.Event()

    def hold(i: int) -> int:
        started.set()
        release.wait(5)
        return i

    first = threading.Thread(target=units.map, args=(hold, [0, 1]))
    first.start()
    started.wait(5)
    try:
        pair = threading.Barrier(2, timeout=5)  # would block if it waited for the first wave
        assert units.map(lambda i: pair.wait() >= 0, [0, 1]) == [True, True]
    finally:
        release.set()
        first.join(5)


def test_a_failing_unit_raises_and_frees_its_threads() -> None:
    units = UnitThreads(size=2)

    def boom(i: int) -> int:
        if i == 1:
            raise ValueError("unit 1 failed")
        return i

    with pytest.raises(ValueError, match="unit 1 failed"):
        units.map(boom, [0, 1])
    assert units.map(lambda i: i + 1, [0, 1]) == [1, 2]
    assert units._busy == 0
