"""Bench jobs: one test episode as it travels to an executor, and the loop that
collects outcomes as they finish (a stop request, a failed job, Ctrl-C)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from learnact_langgraph.bench import methods as m
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.executors import Executor, LocalExecutor, Outcome
from learnact_langgraph.executors.portable import PortableModel

__all__ = ["BenchStopped", "BenchSummary", "EpisodeJob", "play_episode"]


@dataclass
class BenchSummary:
    results_dir: str
    settings_hash: str
    planned: int
    skipped: int
    finished: int
    failed: list[str] = field(default_factory=list)
    interrupted: bool = False


class BenchStopped(LearnActError):
    """The bench was asked to stop; the episode that saw it is not recorded."""


def record(
    method: str, s: m.MethodSettings, task: tuple[str, str], repeat: int, shash: str, out: Any
) -> dict[str, Any]:
    traj, usage, extra = out
    return {
        "method": method,
        "domain": s.domain,
        "task_id": task[0],
        "split": task[1],
        "repeat": repeat,
        "settings_hash": shash,
        "success": bool(traj.success),
        "progress": float(traj.progress),
        "steps": len(traj.steps),
        "valid_share": float(traj.valid_share),
        "seconds": float(traj.seconds),
        "usage": usage.to_dict(),
        "extra": extra,
        "trajectory": traj.to_dict(),
    }


@dataclass(frozen=True)
class EpisodeJob:
    """One test episode as it travels to an executor (picklable for Ray)."""

    method: str
    settings: m.MethodSettings
    task: tuple[str, str]
    repeat: int
    shash: str
    artifact: dict[str, Any] | None

    def __str__(self) -> str:
        return str((self.method, self.settings.domain, self.task, self.repeat))


def play_episode(job: EpisodeJob) -> dict[str, Any]:
    """Run one episode (here or in a worker process) and return its record."""
    s = job.settings
    if isinstance(s.model, PortableModel) or isinstance(s.learner_model, PortableModel):
        s = replace(s, model=_built(s.model), learner_model=_built(s.learner_model))
    out = m.episode(job.method, s, job.task[0], job.artifact)
    return record(job.method, s, job.task, job.repeat, job.shash, out)


def _built(model: Any) -> Any:
    return model.build() if isinstance(model, PortableModel) else model


def drain(
    executor: Executor,
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    stop: threading.Event,
    summary: BenchSummary,
    what: str,
    keep: Callable[[Any], None] = lambda value: None,
) -> int:
    """Run ``fn`` over ``items`` and ``keep`` each value as its job finishes (here, on
    this thread); returns how many succeeded. Ctrl-C, wherever it lands (a job's wait,
    or keeping a value), lets running jobs finish and skips the rest."""
    ok = 0
    try:
        for outcome in executor.map(fn, items, stop=stop):
            if not failed(outcome, stop, summary, what):
                keep(outcome.value)
                ok += 1
    except KeyboardInterrupt:
        stop.set()
        summary.interrupted = True
    if stop.is_set():
        summary.interrupted = True
    return ok


def failed(outcome: Outcome, stop: threading.Event, summary: BenchSummary, what: str) -> bool:
    """Whether a job failed: a stop request stops the bench, a :class:`LearnActError` is
    recorded in the summary, and anything else is a bug and raised."""
    exc = outcome.error
    if exc is None:
        return False
    if isinstance(exc, BenchStopped):
        stop.set()
    elif isinstance(exc, LearnActError):
        summary.failed.append(f"{what} {outcome.item}: {exc}")
    else:
        raise exc
    return True


def pool(
    items: Sequence[Any],
    fn: Callable[[Any], None],
    workers: int,
    stop: threading.Event,
    summary: BenchSummary,
    what: str,
) -> int:
    """Run ``fn`` over ``items`` on ``workers`` threads; Ctrl-C finishes running ones only."""
    if not items:
        return 0
    return drain(LocalExecutor(workers), fn, items, stop, summary, what)
