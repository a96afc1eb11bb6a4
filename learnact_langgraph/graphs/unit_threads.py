"""Threads for the units of a wave (``Durable.map`` outside a checkpointed run), kept
for the life of the process.

A learner run maps its K samples and its episodes onto threads, wave after wave. A
new pool per wave started new threads every time, and on a busy 2-core machine a
thread start waits for the GIL: 6-8 starts per scripted learning run took 18-46 ms
of its 0.7-1.0 s (``benchmarks/bench_learning.py``). Here the threads stay.

The pool never makes one unit wait for another: a wave that would not find enough
idle threads (several runs at once, or a very wide wave), and a wave started from a
unit of the pool itself, get threads of their own as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from langchain_core.runnables.config import ContextThreadPoolExecutor

T = TypeVar("T")

#: Threads kept: enough for a few runs of K=4 samples at once.
SIZE = 16


class UnitThreads:
    """``map`` on threads kept between calls, each unit in a copy of the caller's
    context (``ContextThreadPoolExecutor``, as before)."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._pool: ContextThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._busy = 0
        self._mine = threading.local()

    def map(self, work: Callable[[int], T], items: Sequence[int]) -> list[T]:
        """``[work(i) for i in items]``, one thread per item, results in order."""
        pool = self._take(len(items))
        if pool is None:
            with ContextThreadPoolExecutor(max_workers=len(items)) as own:
                return list(own.map(work, items))
        try:
            return list(pool.map(lambda i: self._run(work, i), items))
        finally:
            with self._lock:
                self._busy -= len(items)

    def _take(self, count: int) -> ContextThreadPoolExecutor | None:
        """The kept pool with ``count`` threads set aside, or ``None`` when they are
        not free or the caller is one of its units."""
        if getattr(self._mine, "unit", False):
            return None
        with self._lock:
            if self._busy + count > self.size:
                return None
            self._busy += count
            if self._pool is None:
                self._pool = ContextThreadPoolExecutor(
                    max_workers=self.size, thread_name_prefix="learnact-units"
                )
            return self._pool

    def _run(self, work: Callable[[int], T], item: int) -> T:
        self._mine.unit = True
        try:
            return work(item)
        finally:
            self._mine.unit = False


UNITS = UnitThreads()
