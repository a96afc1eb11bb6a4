"""Durable units of work inside graph nodes: what a resumed run does not do again.

A learner node makes many model calls: K samples, or the steps of an episode. Each
unit runs as a LangGraph task, so the checkpointer keeps its result as soon as it
finishes. When the node fails (a model that is still down after its retries, a killed
process) and the run is resumed from its checkpoint, finished units come back from the
checkpoint and only the unfinished one runs again: an episode goes on from its last
finished step, and a node's finished samples are kept.

A unit that fails with a :class:`LearnActError` returns a record of the failure, with
the usage it spent, instead of raising; the node raises once its other units are done.
A failure record left by an earlier attempt of the node is told apart by its token: its
usage is counted and the unit runs again. So usage totals count every call ever made,
those of interrupted attempts included. Outside a graph run the units simply run.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

from langgraph.config import get_config
from langgraph.func import task

from learnact_langgraph.errors import LearnActError
from learnact_langgraph.graphs.unit_threads import UNITS
from learnact_langgraph.models import Usage

Unit = Callable[[Usage], Any]
#: Threads a learner run may use (LangGraph's ``max_concurrency``). Parallel branches
#: that wait on their own durable units need a thread each for the unit as well, and
#: LangGraph's default pool (CPUs + 4) would run out with K x tasks branches.
RUN_THREADS = 64


def in_graph_run() -> bool:
    """Whether the caller runs inside a graph node of a run that keeps checkpoints.

    Without a checkpointer nothing can be resumed, so units run as plain calls: a
    LangGraph task per unit costs a thread hand-over each, which in a scripted run was
    a third of the wall time.
    """
    try:
        config = get_config()
    except RuntimeError:
        return False
    try:
        from langgraph._internal._constants import CONFIG_KEY_CHECKPOINTER
    except ImportError:  # a LangGraph that moved it: keep units durable
        return True
    return config.get("configurable", {}).get(CONFIG_KEY_CHECKPOINTER) is not None


def steps_can_be_durable(branches: int) -> bool:
    """Whether ``branches`` parallel nodes can each wait on a unit without starving the
    run's thread pool (a unit needs a free thread while its node's thread waits).

    When they cannot (a graph invoked with a small ``max_concurrency``), episodes are
    still durable as a whole, just not step by step.
    """
    try:
        config = get_config()
    except RuntimeError:
        return False
    workers = config.get("max_concurrency") or min(32, (os.cpu_count() or 1) + 4)
    return int(workers) >= 2 * max(1, branches)


#: LangGraph's runner scans its table of running tasks, without a lock, while it
#: schedules one from inside a node, and parallel branches change that table
#: (``RuntimeError: dictionary changed size during iteration``): our own schedules
#: take turns, and a scan that still collides is tried again.
_SCHEDULING = threading.Lock()
_SCHEDULE_TRIES = 8


def _schedule(run: Any, key: str) -> Any:
    for attempt in range(_SCHEDULE_TRIES):
        try:
            with _SCHEDULING:
                return run(key)
        except RuntimeError as exc:
            if "changed size during iteration" not in str(exc) or attempt + 1 == _SCHEDULE_TRIES:
                raise
    raise AssertionError("unreachable")


class Durable:
    """Runs the units of one node execution; ``usage`` collects every unit's usage.

    Unit results must be plain data (the checkpointer stores them).
    """

    def __init__(self, name: str, usage: Usage) -> None:
        self.name = name
        self.usage = usage
        self.token = uuid.uuid4().hex
        self.durable = in_graph_run()
        self._errors: dict[str, BaseException] = {}

    def _body(self, fn: Unit) -> Callable[[str], dict[str, Any]]:
        def body(key: str) -> dict[str, Any]:
            part = Usage()
            try:
                value = fn(part)
            except LearnActError as exc:
                self._errors[key] = exc
                return {
                    "ok": False,
                    "error": str(exc),
                    "usage": part.to_dict(),
                    "token": self.token,
                }
            return {"ok": True, "value": value, "usage": part.to_dict()}

        return body

    def _submit(self, fn: Unit, key: str) -> Callable[[], dict[str, Any]]:
        body = self._body(fn)
        if not self.durable:
            return lambda: body(key)
        run: Any = task(name=self.name)(body)  # type: ignore[arg-type]
        wait: Callable[[], dict[str, Any]] = _schedule(run, key).result
        return wait

    def _settle(self, record: dict[str, Any]) -> str:
        """Count ``record``'s usage; ``"ok"``, ``"again"`` (an old failure) or ``"failed"``."""
        self.usage.merge(record.get("usage") or {})
        if record.get("ok"):
            return "ok"
        return "again" if record.get("token") != self.token else "failed"

    def _raise(self, record: dict[str, Any], key: str) -> None:
        exc = self._errors.get(key)
        if exc is not None:
            raise exc
        raise LearnActError(str(record.get("error") or f"{self.name} failed"))

    def call(self, fn: Unit) -> Any:
        """Run one unit (the next one of this node) and return its value."""
        while True:
            key = uuid.uuid4().hex
            record = self._submit(fn, key)()
            verdict = self._settle(record)
            if verdict == "ok":
                return record["value"]
            if verdict == "failed":
                self._raise(record, key)

    def map(self, fn: Callable[[int, Usage], Any], count: int, concurrency: int) -> list[Any]:
        """Run units ``fn(0) .. fn(count-1)``, ``concurrency`` at a time; values in order.

        The units of a wave all finish (or come back from the checkpoint) before a
        failure is raised, so one failing sample does not throw away the others; later
        waves are not started once one failed (a resumed run starts them).
        """
        values: list[Any] = [None] * count
        pending = list(range(count))
        failed: list[tuple[dict[str, Any], str]] = []
        width = max(1, concurrency)
        while pending and not failed:
            again: list[int] = []
            for start in range(0, len(pending), width):
                if failed:
                    break
                wave = pending[start : start + width]
                keys = {i: uuid.uuid4().hex for i in wave}
                if self.durable:
                    waits = [self._submit(_bind(fn, i), keys[i]) for i in wave]
                    records = [wait() for wait in waits]
                else:
                    records = self._local(fn, wave, keys)
                for i, record in zip(wave, records, strict=True):
                    verdict = self._settle(record)
                    if verdict == "ok":
                        values[i] = record["value"]
                    elif verdict == "again":
                        again.append(i)
                    else:
                        failed.append((record, keys[i]))
            pending = again
        if failed:
            self._raise(*failed[0])
        return values

    def _local(
        self, fn: Callable[[int, Usage], Any], wave: list[int], keys: dict[int, str]
    ) -> list[dict[str, Any]]:
        if len(wave) == 1:
            return [self._body(_bind(fn, wave[0]))(keys[wave[0]])]
        return UNITS.map(lambda i: self._body(_bind(fn, i))(keys[i]), wave)


def _bind(fn: Callable[[int, Usage], Any], index: int) -> Unit:
    return lambda part: fn(index, part)
