"""The executor interface: run many independent jobs, results back as they finish.

Bench episodes and the learner's evaluation episodes are independent jobs, each a
module-level function applied to one picklable item. An :class:`Executor` runs them
with a concurrency limit and hands each result back as soon as it is ready, so the
caller records it at once and a failure later on loses nothing that finished.
:class:`LocalExecutor` (threads in this process) is the default; the Ray backend in
:mod:`.ray_backend` runs the same jobs on a cluster.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeVar

from langchain_core.runnables.config import ContextThreadPoolExecutor

from learnact_langgraph.validation import SettingError, require_at_least, require_choice

__all__ = [
    "EXECUTORS",
    "Executor",
    "ExecutorKind",
    "ExecutorSettings",
    "LocalExecutor",
    "Outcome",
    "stream_jobs",
]

T = TypeVar("T")
R = TypeVar("R")
H = TypeVar("H")
ExecutorKind = Literal["local", "ray"]
EXECUTORS: tuple[ExecutorKind, ...] = ("local", "ray")
#: Seconds between looks at ``stop`` while waiting for results.
POLL_S = 0.25


@dataclass(frozen=True)
class ExecutorSettings:
    """Where jobs run: ``kind`` ``"local"`` (threads here) or ``"ray"`` (a Ray cluster at
    ``ray_address``, with ``workers`` actors), at most ``concurrency`` jobs at once.

    ``ray_address`` ``None`` uses ``$RAY_ADDRESS`` if set, else starts a Ray instance
    on this machine for the life of the process.
    """

    kind: ExecutorKind = "local"
    concurrency: int = 1
    ray_address: str | None = None
    workers: int = 2

    def __post_init__(self) -> None:
        require_choice("ExecutorSettings", "kind", self.kind, EXECUTORS)
        require_at_least("ExecutorSettings", "concurrency", self.concurrency, 1)
        require_at_least("ExecutorSettings", "workers", self.workers, 1)
        if self.ray_address is not None and not str(self.ray_address).strip():
            raise SettingError("ExecutorSettings.ray_address must not be empty; leave it unset.")
        if self.kind == "local" and self.ray_address:
            raise SettingError(
                "A Ray address was given but the executor is local; choose the ray "
                "executor (--executor ray) to use it, or leave the address out."
            )


@dataclass(frozen=True)
class Outcome:
    """One finished job: its item and either its value or the exception it raised."""

    item: Any
    value: Any = None
    error: BaseException | None = None


class Executor(ABC):
    """Runs ``fn(item)`` jobs with at most :attr:`concurrency` at a time.

    ``fn`` must be a module-level function and items picklable when the backend runs
    them in other processes; the local backend runs any callable.
    """

    concurrency: int

    @abstractmethod
    def map(
        self,
        fn: Callable[[Any], Any],
        items: Iterable[Any],
        *,
        stop: threading.Event | None = None,
    ) -> Iterator[Outcome]:
        """Outcomes in the order jobs finish. Once ``stop`` is set no job starts; running
        ones finish and are yielded. A job's exception is returned, not raised."""

    @abstractmethod
    def run(self, fn: Callable[[T], R], item: T) -> R:
        """``fn(item)`` within the concurrency limit, from the calling thread (blocks)."""

    def close(self) -> None:
        """Release workers (threads, actors); a closed executor is not used again."""
        return None

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LocalExecutor(Executor):
    """Threads of this process: right for jobs that mostly wait on model calls.

    Threads start from the caller's context (``ContextThreadPoolExecutor``), so
    callbacks and tracing see each job under the run that started it.
    """

    def __init__(self, concurrency: int = 1) -> None:
        require_at_least("LocalExecutor", "concurrency", concurrency, 1)
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)

    def run(self, fn: Callable[[T], R], item: T) -> R:
        with self._slots:
            return fn(item)

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Iterable[Any],
        *,
        stop: threading.Event | None = None,
    ) -> Iterator[Outcome]:
        def done(futures: list[Future[Any]]) -> Iterable[Future[Any]]:
            return wait(futures, timeout=POLL_S, return_when=FIRST_COMPLETED)[0]

        def collect(fut: Future[Any]) -> tuple[Any, BaseException | None]:
            error = fut.exception()
            return (None if error else fut.result()), error

        with ContextThreadPoolExecutor(max_workers=self.concurrency) as pool:
            yield from stream_jobs(
                items,
                self.concurrency,
                stop,
                submit=lambda item: pool.submit(fn, item),
                done=done,
                collect=collect,
                cancel=lambda fut: fut.cancel(),
            )


def stream_jobs(
    items: Iterable[Any],
    limit: int,
    stop: threading.Event | None,
    *,
    submit: Callable[[Any], H],
    done: Callable[[list[H]], Iterable[H]],
    collect: Callable[[H], tuple[Any, BaseException | None]],
    cancel: Callable[[H], object],
) -> Iterator[Outcome]:
    """The loop every backend's ``map`` shares: keep up to ``limit`` jobs running (none
    started once ``stop`` is set), yield each as it finishes, cancel what is left if the
    caller stops reading. ``done`` waits a while (``POLL_S``) for finished handles."""
    stop = stop or threading.Event()
    pending = iter(items)
    running: dict[H, Any] = {}
    exhausted = False
    try:
        while True:
            while not exhausted and len(running) < limit and not stop.is_set():
                item = next(pending, _END)
                if item is _END:
                    exhausted = True
                    break
                running[submit(item)] = item
            if not running:
                return
            for handle in done(list(running)):
                item = running.pop(handle)
                value, error = collect(handle)
                yield Outcome(item, value, error)
    finally:
        for handle in running:
            cancel(handle)


_END = object()
