"""The Ray backend: jobs run on actors of a Ray cluster, results stream back.

Each actor is a long-lived worker process. What a process keeps warm (the session pool
of environments and sandbox workers, the sandbox zygote, parsed PDDL problems, built
models) therefore stays warm across the episodes an actor runs. An actor runs several
jobs at once (threads), since jobs mostly wait on model calls.

Fault tolerance is Ray's own: a killed actor is restarted and the jobs it was running
are sent again (``max_restarts``, ``max_task_retries``). The caller records each result
as it arrives, so a worker that dies loses only the jobs it had not finished, and those
run again. A job that keeps killing its workers comes back as an error, not a hang.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from learnact_langgraph.errors import LearnActError
from learnact_langgraph.executors.base import POLL_S, Executor, Outcome, stream_jobs

__all__ = ["RayExecutor", "RayError"]

T = TypeVar("T")
R = TypeVar("R")
#: Restarts of a dead actor, and resends of the job it was running, before giving up.
RETRIES = 3
#: Seconds to wait for a TCP connection to the head before calling it unreachable.
CONNECT_TIMEOUT_S = 5.0


class RayError(LearnActError):
    """Ray is missing, unreachable, or lost a job for good."""


class _Worker:
    """The actor: runs jobs in its own process; its process-wide caches stay warm."""

    def call(self, fn: Callable[[Any], Any], item: Any) -> Any:
        return fn(item)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RayError(
            "The Ray executor needs the ray extra: pip install 'learnact-langgraph[ray]'."
        ) from exc
    return ray


def _probe(address: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at a ``host:port`` address
    (``ray.init`` retries an unreachable head for minutes)."""
    if address in ("auto", "local") or "://" in address and not address.startswith("ray://"):
        return
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    host, port = parts.hostname, parts.port
    if not host or port is None:
        raise RayError(
            f"Cannot read the Ray address {address!r}; give host:port of the head "
            "(127.0.0.1:6379), ray://host:10001, or 'auto'."
        )
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise RayError(
            f"Cannot reach the Ray head at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head --node-ip-address=127.0.0.1` or fix --ray-address."
        ) from None


def connect(address: str | None) -> Any:
    """The ``ray`` module, connected to ``address`` (``None``: ``$RAY_ADDRESS``, else a
    Ray instance started here for the life of this process)."""
    where = address or os.environ.get("RAY_ADDRESS") or None
    if where and "ray" not in sys.modules:  # Ray reads its settings when imported
        _probe(where)
        _match_token_auth()
    ray = _import_ray()
    if ray.is_initialized():
        return ray
    if where:
        _probe(where)
    try:
        _on_lasting_thread(
            lambda: ray.init(
                address=where,
                include_dashboard=False,
                logging_level=logging.ERROR,
                log_to_driver=False,
                ignore_reinit_error=True,
            )
        )
    except ConnectionError as exc:
        raise RayError(
            f"Cannot connect to the Ray cluster at {where} ({exc}); start a head with "
            "`ray start --head --node-ip-address=127.0.0.1` or fix --ray-address."
        ) from None
    return ray


def _match_token_auth() -> None:
    """Use this machine's Ray token the way ``ray start`` does: a head started where
    ``~/.ray/auth_token`` exists requires it, but a driver joining a cluster sends it
    only in token mode (set before Ray is imported: it reads its settings then)."""
    if "RAY_AUTH_MODE" not in os.environ and (Path.home() / ".ray" / "auth_token").is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


def _on_lasting_thread(fn: Callable[[], Any]) -> Any:
    """``fn()`` on the main thread, or on a thread that lives as long as the process.

    A Ray instance started here is tied to the thread that started it: Linux signals
    its processes when that thread ends (``PR_SET_PDEATHSIG``), so one started from a
    pool thread died with the thread.
    """
    if threading.current_thread() is threading.main_thread():
        return fn()
    box: dict[str, Any] = {}
    ready = threading.Event()

    def keeper() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc
        ready.set()
        threading.Event().wait()

    threading.Thread(target=keeper, name="learnact-ray-keeper", daemon=True).start()
    ready.wait()
    if "error" in box:
        raise box["error"]
    return box.get("value")


class RayExecutor(Executor):
    """``workers`` Ray actors sharing at most ``concurrency`` jobs at a time."""

    def __init__(self, address: str | None = None, workers: int = 2, concurrency: int = 2) -> None:
        self._ray = connect(address)
        self.concurrency = max(1, concurrency)
        per_actor = max(1, math.ceil(self.concurrency / workers))
        self._actor_class = self._ray.remote(
            num_cpus=0,
            max_restarts=RETRIES,
            max_task_retries=RETRIES,
            max_concurrency=per_actor,
        )(_Worker)
        self._actors = [self._actor_class.remote() for _ in range(workers)]
        self._load = [0] * workers
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.concurrency)

    # ----- jobs -------------------------------------------------------------------------
    def _submit(self, fn: Callable[[Any], Any], item: Any) -> tuple[Any, int]:
        with self._lock:
            index = min(range(len(self._actors)), key=self._load.__getitem__)
            self._load[index] += 1
            actor = self._actors[index]
        return actor.call.remote(fn, item), index

    def _finish(self, ref: Any, index: int) -> tuple[Any, BaseException | None]:
        with self._lock:
            self._load[index] -= 1
        try:
            return self._ray.get(ref), None
        except self._ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            return None, cause
        except self._ray.exceptions.RayActorError as exc:
            return None, RayError(
                f"A Ray worker died {RETRIES + 1} times running one job, so it was given up "
                f"({type(exc).__name__}); the results that came back are kept."
            )

    def run(self, fn: Callable[[T], R], item: T) -> R:
        with self._slots:
            ref, index = self._submit(fn, item)
            value, error = self._finish(ref, index)
        if error is not None:
            raise error
        return value

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Iterable[Any],
        *,
        stop: threading.Event | None = None,
    ) -> Iterator[Outcome]:
        actors: dict[Any, int] = {}

        def submit(item: Any) -> Any:
            ref, index = self._submit(fn, item)
            actors[ref] = index
            return ref

        def done(refs: list[Any]) -> list[Any]:
            ready, _ = self._ray.wait(refs, num_returns=1, timeout=POLL_S)
            return list(ready)

        yield from stream_jobs(
            items,
            self.concurrency,
            stop,
            submit=submit,
            done=done,
            collect=lambda ref: self._finish(ref, actors.pop(ref)),
            cancel=self._ray.cancel,
        )

    # ----- workers ----------------------------------------------------------------------
    def close(self) -> None:
        actors, self._actors = self._actors, []
        if not self._ray.is_initialized():
            return
        for actor in actors:
            try:
                self._ray.kill(actor)
            except self._ray.exceptions.RayError:  # a session already gone took it along
                pass
