"""``run_bench``: methods x domains x test tasks x repeats, stored and resumable.

The runner plans every episode, drops those already in the results store (resume),
prepares what the methods learn (LearnAct releases, Reflexion plans, also stored and
reused), then runs the episodes on an executor: threads here by default, or the actors
of a Ray cluster (``executor="ray"``; learning runs then evaluate there too). Results
come back as episodes finish and are stored at once, so a worker that dies loses no
finished episode. Progress goes to an
``on_event`` callback (the CLI draws rich progress bars from it). Ctrl-C (or setting
``stop``) lets running episodes finish, skips the rest and keeps everything finished.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from learnact_langgraph.bench import methods as m
from learnact_langgraph.bench.config import BenchConfig, check_methods, expand_domains, plan_tasks
from learnact_langgraph.bench.jobs import (
    BenchStopped,
    BenchSummary,
    EpisodeJob,
    drain,
    play_episode,
    pool,
)
from learnact_langgraph.bench.store import ResultStore, environment_info, settings_hash
from learnact_langgraph.checkpoints import open_checkpointer
from learnact_langgraph.envs.registry import ROBOTIC_PLANNING
from learnact_langgraph.executors import (
    make_executor,
)
from learnact_langgraph.executors.portable import portable
from learnact_langgraph.graphs.resumable import (
    BENCH_CHECKPOINTS,
    has_checkpoints,
    remove_if_empty,
)
from learnact_langgraph.models import (
    ChatModel,
    model_id,
    resolve_roles,
    temperature_of,
)
from learnact_langgraph.models.recording import Recording
from learnact_langgraph.validation import SettingError

Event = dict[str, Any]

__all__ = [
    "ROBOTIC_PLANNING",
    "BenchConfig",
    "BenchSummary",
    "check_methods",
    "expand_domains",
    "plan_tasks",
    "run_bench",
]


class _StopCheck(BaseCallbackHandler):
    """Raises at the next model call once ``stop`` is set, so Ctrl-C does not wait."""

    raise_error = True

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        if self.stop.is_set():
            raise BenchStopped("the bench was stopped")

    def on_llm_start(self, *args: Any, **kwargs: Any) -> None:
        self.on_chat_model_start()


class _QuietStop(logging.Filter):
    """LangChain logs a warning for every callback error; a requested stop is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "BenchStopped" not in record.getMessage()


logging.getLogger("langchain_core.callbacks.manager").addFilter(_QuietStop())


def _stoppable(model: ChatModel, stop: threading.Event) -> ChatModel:
    """``model`` with a callback that stops the bench at its next call once asked to.

    A binding rather than a copy, so that any Runnable model (``.with_retry()`` ones too)
    can be stopped; :func:`model_id` and the temperature helpers see through it.
    """
    return model.with_config(callbacks=[_StopCheck(stop)])


def run_bench(
    config: BenchConfig,
    *,
    model: str | ChatModel,
    learner_model: str | ChatModel | None = None,
    out: str = "bench-results",
    on_event: Callable[[Event], None] | None = None,
    stop: threading.Event | None = None,
    invocation: dict[str, Any] | None = None,
    preset: Mapping[str, dict[str, Any]] | None = None,
    recording: Recording | None = None,
) -> BenchSummary:
    """Run (or finish) a bench into ``out``; see the module docstring.

    ``recording`` records every model call, or replays a recorded run without models.

    ``preset`` maps a domain to a ready LearnAct artifact (actions and usage examples
    from a stored library): the ``learnact`` method then tests it instead of learning.
    Models and task lists are resolved before ``out`` is touched, and a run that fails
    before recording any episode or artifact leaves ``out`` as it found it.
    """
    methods = check_methods(config.methods)
    domains = expand_domains(config.domains)
    if recording is not None and config.executor != "local":
        raise SettingError(
            "A recorded or replayed bench runs on the local executor only (the recording "
            "is one file here); leave --executor at local."
        )
    agent, learner = resolve_roles(
        model,
        learner_model,
        settings=config.model_settings(),
        learner_temperature=config.learner_temperature,
        recording=recording,
    )
    tasks = {domain: plan_tasks(config, domain) for domain in domains}
    if config.executor == "ray":  # an unreachable cluster fails before ``out`` is touched
        from learnact_langgraph.executors.ray_backend import connect

        connect(config.ray_address)
    store = ResultStore(out)
    store.check_writable()
    before = store.snapshot()
    checkpoints: Path | str | None = None
    if config.checkpoint and not recording:
        checkpoints = config.checkpoint_url or store.root / BENCH_CHECKPOINTS
    try:
        with ExitStack() as stack:
            saver = stack.enter_context(open_checkpointer(checkpoints)) if checkpoints else None
            summary = _run(
                config,
                store,
                methods,
                tasks,
                agent,
                learner,
                on_event,
                stop,
                invocation,
                preset,
                saver,
            )
    except BaseException:
        _tidy(store, before, checkpoints)
        raise
    if summary.failed or summary.interrupted:
        _tidy(store, before, checkpoints)
    elif checkpoints is not None:
        remove_if_empty(checkpoints)
    return summary


def _tidy(store: ResultStore, before: Any, checkpoints: Path | str | None) -> None:
    """After a failed run: keep what was recorded and any learning run's checkpoint (a
    rerun resumes it); a run that left neither leaves the folder as it found it."""
    if checkpoints is not None:
        remove_if_empty(checkpoints)
    if checkpoints is None or not has_checkpoints(checkpoints):
        store.undo(before)


def _run(
    config: BenchConfig,
    store: ResultStore,
    methods: list[str],
    tasks: dict[str, list[tuple[str, str]]],
    agent: ChatModel,
    learner: ChatModel,
    on_event: Callable[[Event], None] | None,
    stop: threading.Event | None,
    invocation: dict[str, Any] | None,
    preset: Mapping[str, dict[str, Any]] | None,
    saver: Any = None,
) -> BenchSummary:
    emit = on_event or (lambda e: None)
    stop = stop or threading.Event()
    hashed = config.hashed(model_id(agent), model_id(learner))
    remote = config.executor != "local"
    # Jobs sent to other processes carry portable models; a stop there ends submissions.
    travelling = (portable(agent, "agent"), portable(learner, "learner")) if remote else None
    agent, learner = _stoppable(agent, stop), _stoppable(learner, stop)
    shash = settings_hash(hashed)
    provenance = {
        "settings": hashed,
        "models": {
            "agent": model_id(agent),
            "learner": model_id(learner),
            # Reflexion's reflections are written by the learner model, as in the paper.
            "reflections": model_id(learner),
        },
        "temperatures": {"agent": temperature_of(agent), "learner": temperature_of(learner)},
        "on_error": config.on_error,
        **environment_info(),
    }
    store.record_run(shash, provenance, invocation or {"config": asdict(config)})

    def settings(domain: str) -> m.MethodSettings:
        return m.MethodSettings(
            domain,
            agent,
            learner,
            config.tasks,
            config.data_dir,
            config.max_steps,
            config.memory_steps,
            config.train_steps,
            config.k,
            config.rounds,
            config.seed,
            on_error=config.on_error,
            learner_temperature=config.learner_temperature,
            checkpointer=saver,
            run_key=shash,
            executor=config.executor_settings() if remote else None,
        )

    def job_settings(domain: str) -> m.MethodSettings:
        if travelling is None:
            return settings(domain)
        return replace(
            settings(domain),
            model=travelling[0],
            learner_model=travelling[1],
            checkpointer=None,
            executor=None,
        )

    done = store.episode_keys()
    jobs = []
    planned = 0
    for domain, domain_tasks in tasks.items():
        for task in domain_tasks:
            for method in methods:
                for repeat in range(config.repeats):
                    planned += 1
                    if (method, domain, task[0], repeat, shash) not in done:
                        jobs.append((method, domain, task, repeat))
    units = sorted({(j[0], j[1], j[3]) for j in jobs if j[0] in m.PREPARED})
    artifacts = {(a["method"], a["domain"], a["repeat"]): a for a in store.artifacts(shash)}
    todo_units = [u for u in units if u not in artifacts]
    summary = BenchSummary(str(store.root), shash, planned, planned - len(jobs), 0)
    emit(
        {
            "type": "plan",
            "planned": planned,
            "skipped": summary.skipped,
            "episodes": len(jobs),
            "prepare": len(todo_units),
        }
    )
    lock = threading.Lock()

    def prep(unit: tuple[str, str, int]) -> None:
        method, domain, repeat = unit
        emit({"type": "prepare_start", "method": method, "domain": domain, "repeat": repeat})
        if method == "learnact" and preset and domain in preset:
            data = {"status": "preset", "usage": {}, "seconds": 0.0, **preset[domain]}
        else:
            data = m.prepare(method, settings(domain), repeat)
        rec = {"method": method, "domain": domain, "repeat": repeat, "settings_hash": shash, **data}
        store.add_artifact(rec)
        if saver is not None:
            saver.delete_thread(m.thread_of(method, settings(domain), repeat))
        with lock:
            artifacts[unit] = rec
        emit({"type": "prepare_done", **rec})

    pool(todo_units, prep, config.concurrency, stop, summary, "prepare")
    runnable = [j for j in jobs if j[0] not in m.PREPARED or (j[0], j[1], j[3]) in artifacts]

    def planned_jobs() -> Iterator[EpisodeJob]:
        for method, domain, task, repeat in runnable:
            emit({"type": "episode_start", "method": method, "task_id": task[0], "repeat": repeat})
            art = artifacts.get((method, domain, repeat))
            yield EpisodeJob(method, job_settings(domain), task, repeat, shash, art)

    if runnable and not stop.is_set():

        def keep(rec: dict[str, Any]) -> None:
            store.add_episode(rec)
            summary.finished += 1
            emit({"type": "episode_done", **rec})

        with make_executor(config.executor_settings()) as executor:
            drain(executor, play_episode, planned_jobs(), stop, summary, "episode", keep)
    emit({"type": "end", "summary": asdict(summary)})
    return summary
