"""Base actions run in the host, where a faulty environment must not take the sandbox down.

Learned code reaches the world only through ``env.call(...)``, which runs in the host
process. An environment can raise anything there (``SystemExit`` and
``KeyboardInterrupt`` included), return something that is not an observation, or
hang. :class:`BaseActionRunner` turns each of those into :class:`EnvironmentFault`,
which the :class:`~learnact_langgraph.sandbox.Sandbox` reports as the call's
``environment_error``: the environment's fault, never the learned code's.

A hung base action is bounded by what is left of the call's wall time: base actions
run on a helper thread and the caller stops waiting at the deadline. A Python thread
cannot be killed, so a base action that never returns keeps running in the
background (its late result is discarded, and a new helper thread serves later
calls); the state it may still change is restored from the call's snapshot, but
later changes it makes are beyond the sandbox's reach.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from learnact_langgraph.envs.base import (
    BadObservation,
    Environment,
    StepResult,
    format_call,
    observation_text,
)
from learnact_langgraph.sandbox.cpus import join_cpu, set_cpus
from learnact_langgraph.sandbox.host_paths import scrub

T = TypeVar("T")


class EnvironmentFault(Exception):
    """A base action misbehaved; ``message`` is one sentence for the agent."""

    def __init__(self, message: str, *, hung: bool = False) -> None:
        super().__init__(message)
        self.message = message
        #: The base action is still running: the environment's state is unknown.
        self.hung = hung


class _Task:
    """One piece of work handed to the helper thread."""

    __slots__ = ("context", "done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.context = contextvars.copy_context()
        self.done = threading.Lock()
        self.done.acquire()
        self.result: Any = None
        self.error: BaseException | None = None


class _Helper:
    """A daemon thread that runs tasks one at a time until it is told to stop; it
    stays on ``cpu`` (see :class:`BaseActionRunner`)."""

    def __init__(self, cpu: int | None) -> None:
        self.tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        thread = threading.Thread(
            target=self._loop, args=(cpu,), name="learnact-base-actions", daemon=True
        )
        thread.start()

    def _loop(self, cpu: int | None) -> None:
        if cpu is not None:
            set_cpus({cpu})
        while (task := self.tasks.get()) is not None:
            try:
                task.result = task.context.run(task.fn)
            except BaseException as exc:
                task.error = exc
            task.done.release()


class Abandoned(BaseException):
    """Raised on the helper thread when a base action returns after the caller gave
    up on it: the backend must leave the worker (now the caller's) alone."""


class CallGuard:
    """Whether the helper thread is inside the environment, and whether the caller has
    given up on it; the lock makes "return from the environment" and "give up" exclusive."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_env: tuple[str, tuple[Any, ...]] | None = None
        self.abandoned = False

    def enter(self, name: str, args: tuple[Any, ...]) -> None:
        self.in_env = (name, args)

    def leave(self) -> None:
        with self.lock:
            if self.abandoned:
                raise Abandoned
            self.in_env = None

    def give_up(self) -> tuple[str, tuple[Any, ...]] | None:
        """The base action the helper is stuck in (now abandoned), or ``None``."""
        with self.lock:
            if self.in_env is not None:
                self.abandoned = True
            return self.in_env


class BaseActionRunner:
    """Runs base actions with a deadline and turns every misbehaviour into a fault.

    ``cpu`` is the CPU the sandbox's worker runs on: the helper thread stays there, and
    a caller waiting for a whole call (:meth:`run_call`) moves there while it waits, so
    handing the call over and back is a switch on one CPU, not a wake-up of another
    (on the 2-vCPU VM: 29 us against 104 us per hand-over, measured side by side).
    """

    def __init__(self, cpu: int | None = None) -> None:
        self._helper: _Helper | None = None
        self.cpu = cpu

    def _submit(self, fn: Callable[[], Any]) -> _Task:
        helper = self._helper
        if helper is None:
            helper = self._helper = _Helper(self.cpu)
            weakref.finalize(self, helper.tasks.put, None)  # no idle thread outlives us
        task = _Task(fn)
        helper.tasks.put(task)
        return task

    def _retire_helper(self) -> None:
        if self._helper is not None:
            self._helper.tasks.put(None)  # it ends once its stuck task returns
            self._helper = None

    def call(
        self, env: Environment, name: str, args: tuple[Any, ...], timeout: float
    ) -> StepResult:
        """``env.call(name, *args)``, or :class:`EnvironmentFault` after ``timeout`` s."""
        task = self._submit(lambda: env.call(name, *args))
        if not task.done.acquire(timeout=max(timeout, 0.001)):
            self._retire_helper()
            raise EnvironmentFault(_hung(format_call(name, args)), hung=True)
        if task.error is not None:
            raise EnvironmentFault(_describe(format_call(name, args), task.error))
        return checked(env, name, args, task.result)

    def call_here(self, env: Environment, name: str, args: tuple[Any, ...]) -> StepResult:
        """``env.call(name, *args)`` on this thread, every failure a fault (used on the
        helper thread while it runs a whole call, see :meth:`run_call`)."""
        try:
            result = env.call(name, *args)
        except Abandoned:
            raise
        except BaseException as exc:
            raise EnvironmentFault(_describe(format_call(name, args), exc)) from None
        return checked(env, name, args, result)

    def run_call(
        self,
        fn: Callable[[], T],
        deadline: float,
        guard: CallGuard,
        on_hang: Callable[[str, tuple[Any, ...]], T],
    ) -> T:
        """Run a whole sandbox call (``fn``) on the helper thread, so a base action
        costs no hand-over between threads; the caller only waits.

        ``fn`` bounds its own time, except inside the environment: if a base action is
        still running past ``deadline``, the caller gives up on it and returns
        ``on_hang(name, args)``; a fresh helper serves later calls.
        """
        previous = join_cpu(self.cpu)
        try:
            task = self._submit(fn)
            while not task.done.acquire(timeout=max(deadline - time.perf_counter(), 0.001)):
                stuck = guard.give_up()
                if stuck is not None:
                    self._retire_helper()
                    return on_hang(*stuck)
                deadline = time.perf_counter() + 0.05
        finally:
            if previous is not None:
                set_cpus(previous)
        if task.error is not None:
            raise task.error
        result: T = task.result
        return result

    def close(self) -> None:
        self._retire_helper()


def checked(env: Environment, name: str, args: tuple[Any, ...], result: Any) -> StepResult:
    """A base action's result as a :class:`StepResult`, or :class:`EnvironmentFault`."""
    if isinstance(result, StepResult):
        return result
    text = format_call(name, args)  # an environment that overrides call()
    try:
        obs = observation_text(text, result)
    except BadObservation as exc:
        raise EnvironmentFault(_describe(text, exc)) from None
    return StepResult(text, True, obs, env.progress, env.done)


def _hung(call: str) -> str:
    return (
        f"the environment failed: base action {call} was still running when the "
        "call's wall-time limit ran out, so the sandbox stopped waiting for it"
    )


def _describe(call: str, exc: BaseException) -> str:
    """One sentence naming the base action and what it did."""
    if isinstance(exc, BadObservation):
        what = str(exc)
    elif isinstance(exc, SystemExit):
        what = f"base action {call} called sys.exit({exc.code!r})"
    else:
        detail = str(exc).replace("\n", " ")[:300]
        what = f"base action {call} raised {type(exc).__name__}"
        what = f"{what}: {detail}" if detail else what
    return scrub(f"the environment failed: {what}")
