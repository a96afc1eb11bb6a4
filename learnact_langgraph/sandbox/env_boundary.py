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
import os
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

from learnact_langgraph.envs.base import (
    BadObservation,
    Environment,
    StepResult,
    format_call,
    observation_text,
)
from learnact_langgraph.sandbox.host_paths import scrub


class EnvironmentFault(Exception):
    """A base action misbehaved; ``message`` is one sentence for the agent."""

    def __init__(self, message: str, *, hung: bool = False) -> None:
        super().__init__(message)
        self.message = message
        #: The base action is still running: the environment's state is unknown.
        self.hung = hung


class _Task:
    """One base action handed to the helper thread."""

    __slots__ = ("affinity", "context", "done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], StepResult], affinity: set[int] | None) -> None:
        self.fn = fn
        self.affinity = affinity
        self.context = contextvars.copy_context()
        self.done = threading.Lock()
        self.done.acquire()
        self.result: StepResult | None = None
        self.error: BaseException | None = None


class _Helper:
    """A daemon thread that runs tasks one at a time until it is told to stop."""

    def __init__(self) -> None:
        self.tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self.affinity: set[int] | None = None
        thread = threading.Thread(target=self._loop, name="learnact-base-actions", daemon=True)
        thread.start()

    def _loop(self) -> None:
        while (task := self.tasks.get()) is not None:
            if task.affinity is not None and task.affinity != self.affinity:
                # Share the caller's CPU: a wake-up across CPUs costs several times more.
                try:
                    os.sched_setaffinity(0, task.affinity)
                    self.affinity = task.affinity
                except OSError:
                    pass
            try:
                task.result = task.context.run(task.fn)
            except BaseException as exc:
                task.error = exc
            task.done.release()


class BaseActionRunner:
    """Runs base actions with a deadline and turns every misbehaviour into a fault."""

    def __init__(self) -> None:
        self._helper: _Helper | None = None
        self._pin = hasattr(os, "sched_getaffinity")

    def call(
        self, env: Environment, name: str, args: tuple[Any, ...], timeout: float
    ) -> StepResult:
        """``env.call(name, *args)``, or :class:`EnvironmentFault` after ``timeout`` s."""
        text = format_call(name, args)
        helper = self._helper
        if helper is None:
            helper = self._helper = _Helper()
            weakref.finalize(self, helper.tasks.put, None)  # no idle thread outlives us
        affinity = None
        if self._pin:
            try:
                affinity = os.sched_getaffinity(0)
            except OSError:
                self._pin = False
        task = _Task(lambda: env.call(name, *args), affinity)
        helper.tasks.put(task)
        if not task.done.acquire(timeout=max(timeout, 0.001)):
            helper.tasks.put(None)  # it ends once the hung base action returns
            self._helper = None
            raise EnvironmentFault(
                f"the environment failed: base action {text} was still running when the "
                "call's wall-time limit ran out, so the sandbox stopped waiting for it",
                hung=True,
            )
        if task.error is not None:
            raise EnvironmentFault(_describe(text, task.error))
        result: Any = task.result
        if not isinstance(result, StepResult):  # an environment that overrides call()
            try:
                obs = observation_text(text, result)
            except BadObservation as exc:
                raise EnvironmentFault(_describe(text, exc)) from None
            return StepResult(text, True, obs, env.progress, env.done)
        return result

    def close(self) -> None:
        if self._helper is not None:
            self._helper.tasks.put(None)
            self._helper = None


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
