"""Waiting for the other side of a sandbox pipe by polling briefly before sleeping.

During a call the host and the worker take turns: each base action is a request one
way and an answer the other, and the answer usually comes within tens of
microseconds. Sleeping in ``read`` and being woken costs more than that on a VM (a
wake-up of another CPU), and running both sides on one CPU (which turns the wake-up
into a switch) makes them evict each other's caches. So once a call has made its
first base call, its worker moves to another CPU and each side polls the pipe for a short
budget before it sleeps (``SubprocessBackend.cpu`` says when). Measured on the
2-vCPU VM, side by side in one process over four runs: a learned action making 20
base calls took 1.1–1.4 ms with polling against 1.3–1.9 ms without
(``docs/performance.md``).

Polling burns the CPU it runs on, so it is bounded and adaptive: a wait that
outlasts the budget (a slow environment, learned code computing between its calls,
a machine too busy to run the other side) makes the next waits sleep at once, for
a number of waits that doubles with each miss in a row (up to :data:`MAX_SKIP`).

Stdlib-only: the worker loads this file by path before it locks itself down.
"""

from __future__ import annotations

import select
import time

#: The most waits in a row that sleep at once after polling failed.
MAX_SKIP = 64


class Spinner:
    """Polls ``fd`` for up to ``budget_s`` before the caller blocks on it."""

    __slots__ = ("budget_s", "misses", "poller", "skip")

    def __init__(self, fd: int, budget_s: float) -> None:
        self.poller = select.poll()
        self.poller.register(fd, select.POLLIN)
        self.budget_s = budget_s
        self.misses = 0
        self.skip = 0

    def wait(self) -> bool:
        """Whether ``fd`` became readable while polling (the caller's blocking read
        then returns at once); ``False`` means the caller sleeps as usual."""
        if self.skip:
            self.skip -= 1
            return False
        poll = self.poller.poll
        end = time.perf_counter() + self.budget_s
        while not poll(0):
            if time.perf_counter() >= end:
                self.misses += 1
                self.skip = min(2 ** (self.misses - 1), MAX_SKIP)
                return False
        self.misses = 0
        return True
