"""Warm environments and sandboxes shared by the episodes of one process.

A learning run plays dozens of short episodes and dry runs. Building a fresh
environment (parsing a PDDL problem, loading a game) and a fresh sandbox worker for
each one used to be most of a scripted run's wall time. Here a finished episode hands
its environment and sandbox back, and the next episode with the same environment
settings takes them.

Reuse keeps what isolation needs: the taker resets the environment to its own task
(``Environment.reset`` starts a fresh episode by contract) and replaces the sandbox's
whole action set (``load(..., replace=True)``), so nothing of the previous user's
actions stays loaded; the worker restores learned code's state between calls anyway.
A session whose user raised is closed, never pooled. Idle sessions are few (at most
``MAX_IDLE``), are closed after ``IDLE_S`` seconds unused, and at exit.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from learnact_langgraph.envs.base import Environment
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.sandbox.types import OnError

#: Idle sessions kept in all (the oldest goes first).
MAX_IDLE = 16
#: Seconds an idle session is kept.
IDLE_S = 60.0
#: Environments kept only to read metadata (names, base actions, default settings).
MAX_REFERENCE = 16


@dataclass
class _Idle:
    key: Hashable
    env: Environment
    sandbox: Sandbox
    since: float = field(default_factory=time.monotonic)


class SessionPool:
    """Idle (environment, sandbox) pairs by settings key, and one read-only
    environment per key for metadata."""

    def __init__(self, max_idle: int = MAX_IDLE, idle_s: float = IDLE_S) -> None:
        self.max_idle = max_idle
        self.idle_s = idle_s
        self._idle: list[_Idle] = []
        self._reference: dict[Hashable, Environment] = {}
        self._lock = threading.Lock()
        #: Sessions handed out again instead of built (for benchmarks and tests).
        self.reused = 0

    @contextmanager
    def session(
        self,
        key: Hashable,
        make_env: Callable[[], Environment],
        *,
        backend: str = "subprocess",
        on_error: OnError = "restore",
        sources: Mapping[str, str] | None = None,
    ) -> Iterator[tuple[Environment, Sandbox]]:
        """An environment and a sandbox holding exactly ``sources``; handed back after."""
        full = (key, backend, on_error)
        taken = self._take(full)
        if taken is None:
            env = make_env()
            sandbox = Sandbox(env, backend=backend, on_error=on_error)
        else:
            env, sandbox = taken.env, taken.sandbox
        try:
            if sources or taken is not None:
                sandbox.load(dict(sources or {}), replace=True)
            yield env, sandbox
        except BaseException:
            sandbox.close()
            raise
        self._give_back(_Idle(full, env, sandbox))

    def reference(self, key: Hashable, make_env: Callable[[], Environment]) -> Environment:
        """One environment per key that callers only read (never reset or step)."""
        with self._lock:
            env = self._reference.get(key)
        if env is None:
            env = make_env()
            with self._lock:
                if len(self._reference) >= MAX_REFERENCE:
                    self._reference.pop(next(iter(self._reference)))
                env = self._reference.setdefault(key, env)
        return env

    def close_idle(self) -> int:
        """Close every idle session now (returns how many); later sessions start fresh."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._reference.clear()
        for item in idle:
            item.sandbox.close()
        return len(idle)

    def _take(self, key: Hashable) -> _Idle | None:
        expired = []
        taken = None
        with self._lock:
            now = time.monotonic()
            keep = []
            for item in self._idle:
                if now - item.since > self.idle_s:
                    expired.append(item)
                elif taken is None and item.key == key:
                    taken = item
                else:
                    keep.append(item)
            self._idle = keep
            if taken is not None:
                self.reused += 1
        for item in expired:
            item.sandbox.close()
        return taken

    def _give_back(self, item: _Idle) -> None:
        with self._lock:
            self._idle.append(item)
            extra = self._idle[: max(len(self._idle) - self.max_idle, 0)]
            del self._idle[: len(extra)]
        for old in extra:
            old.sandbox.close()


POOL = SessionPool()
atexit.register(POOL.close_idle)


def context_key(ctx: Any) -> Hashable:
    """What makes two contexts' environments interchangeable.

    An ``env_factory`` is compared by identity: the pool keeps a reference to it with
    the idle sessions, so its id cannot be taken by another object meanwhile.
    """
    factory = getattr(ctx, "env_factory", None)
    if factory is not None:
        return ("factory", id(factory), Held(factory))
    return (
        "named",
        str(ctx.env),
        repr(getattr(ctx, "tasks", None)),
        str(getattr(ctx, "data_dir", None)),
    )


class Held:
    """Holds an object in a key without taking part in equality or hashing."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Held)

    def __hash__(self) -> int:
        return 0
