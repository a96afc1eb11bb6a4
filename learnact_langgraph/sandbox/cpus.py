"""Which CPUs a sandbox's worker and the host side of its calls run on.

Each sandbox's worker is pinned to one CPU, the sandboxes spread over the CPUs this
process may use; the host side of a call joins that CPU, and a call alone in the
process moves the worker to another one at its first base call, where it stays while
calls come alone (see ``SubprocessBackend.cpu`` and :mod:`.spin`).
"""

from __future__ import annotations

import itertools
import os
import threading

CPU_TICKETS = itertools.count()


class InFlight:
    """Calls running now in this process, over all its sandboxes. Polling pays only
    for a call that has the process to itself: with several at once, the polling
    threads would take turns at the GIL and the CPUs the other calls' workers need.

    :meth:`enter` gives the call a ticket; :meth:`leave` with it counts once, so a call
    whose base action hangs can be let go by the caller that gave up on it (see
    ``SubprocessBackend.abort_pending``) and not again when that action returns.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    def enter(self) -> list[bool]:
        """Count a call in; its ticket for :meth:`leave`."""
        with self.lock:
            self.count += 1
        return [True]

    def leave(self, ticket: list[bool]) -> None:
        """Count the call of ``ticket`` out, unless it already is."""
        with self.lock:
            if ticket[0]:
                ticket[0] = False
                self.count -= 1


IN_FLIGHT = InFlight()


def pick_cpu(index: int) -> int | None:
    """A CPU for a new sandbox, spreading sandboxes over the CPUs this process may use."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[index % len(allowed)] if len(allowed) > 1 else None


def set_cpus(cpus: set[int], pid: int = 0) -> bool:
    """Pin process (or thread) ``pid`` (``0``: the calling thread); whether it worked."""
    try:
        os.sched_setaffinity(pid, cpus)
    except (AttributeError, OSError):  # not Linux, a CPU taken away, the worker gone
        return False
    return True


def other_cpu(cpu: int) -> int | None:
    """A CPU this process may use other than ``cpu`` (the caller's, while the worker
    runs on ``cpu``), or ``None`` where there is only the one."""
    allowed = sorted(os.sched_getaffinity(0))
    if cpu not in allowed or len(allowed) < 2:
        return None
    return allowed[(allowed.index(cpu) + 1) % len(allowed)]


def join_cpu(cpu: int | None) -> set[int] | None:
    """Move the calling thread to ``cpu``; the CPUs to give back, or ``None``."""
    if cpu is None:
        return None
    try:
        previous = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return None
    if cpu not in previous or previous == {cpu}:
        return None
    return previous if set_cpus({cpu}) else None
