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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from learnact_langgraph.bench import methods as m
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
from learnact_langgraph.envs.registry import ALFWORLD, GROUPS, ROBOTIC_PLANNING
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.executors import (
    ExecutorKind,
    ExecutorSettings,
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
    ModelSettings,
    model_id,
    resolve_roles,
    temperature_of,
)
from learnact_langgraph.models.recording import Recording
from learnact_langgraph.sandbox.types import ON_ERROR_CHOICES, OnError
from learnact_langgraph.validation import SettingError, require_at_least, require_choice

Event = dict[str, Any]


@dataclass
class BenchConfig:
    """What to run. Only the fields in :meth:`hashed` change what an episode does.

    ``library_tag`` names a stored library used instead of learning (``learnact
    eval --store``); it is part of the settings so such runs never mix with learned ones.
    Counts are checked when the config is made (:class:`SettingError`), because a
    negative or zero count would otherwise run a quietly wrong bench (``tasks[:-1]``,
    ``range(0)``). ``tasks_per_domain=None`` means every task, ``memory_steps=0`` shows
    the whole history and ``rounds=0`` learns without revision rounds. Step limits left
    at ``None`` take each domain's own (the paper's: 30 test steps on planning, 20 on
    AlfWorld). ``on_error``
    defaults to ``"keep"``, the paper's behaviour (a failed learned call's valid
    sub-steps stay in effect), so the bench reproduces its protocol.
    """

    methods: Sequence[str] = m.METHODS
    domains: Sequence[str] = ROBOTIC_PLANNING
    repeats: int = 1
    tasks_per_domain: int | None = None
    include_train: bool = False
    max_steps: int | None = None
    memory_steps: int | None = None
    train_steps: int | None = None
    k: int = 4
    rounds: int = 2
    seed: int = 0
    tasks: str = "benchmark"
    data_dir: str | None = None
    concurrency: int = 1
    library_tag: str = ""
    max_tokens: int | None = None
    timeout: float | None = None
    base_url: str | None = None
    on_error: OnError = "keep"
    learner_temperature: float = 0.7
    #: Keep learning runs' checkpoints in ``<out>/checkpoints.sqlite`` so that running
    #: the same command again resumes them (not part of the settings hash).
    checkpoint: bool = True
    #: Where those checkpoints go instead: a PostgreSQL URL (shared by benches on other
    #: machines, which then resume each other's learning runs) or a SQLite file.
    checkpoint_url: str | None = None
    #: Where episodes run (not part of the settings hash: results are the same).
    executor: ExecutorKind = "local"
    ray_address: str | None = None
    workers: int = 2

    def __post_init__(self) -> None:
        for name, minimum in _MINIMA.items():
            require_at_least("BenchConfig", name, getattr(self, name), minimum)
        for name, low in (
            ("tasks_per_domain", 1),
            ("max_steps", 1),
            ("memory_steps", 0),
            ("train_steps", 1),
        ):
            require_at_least("BenchConfig", name, getattr(self, name), low, optional=True)
        require_choice("BenchConfig", "tasks", self.tasks, ("benchmark", "generated"))
        require_choice("BenchConfig", "on_error", self.on_error, ON_ERROR_CHOICES)
        require_at_least("BenchConfig", "learner_temperature", self.learner_temperature, 0.0)
        for name in ("methods", "domains"):
            if not getattr(self, name):
                raise SettingError(f"BenchConfig.{name} must name at least one, got none.")
        check_methods(self.methods)
        expand_domains(self.domains)
        self.model_settings()
        self.executor_settings()

    def executor_settings(self) -> ExecutorSettings:
        """Where episodes run, ``concurrency`` at a time."""
        try:
            return ExecutorSettings(self.executor, self.concurrency, self.ray_address, self.workers)
        except SettingError as exc:
            text = str(exc).replace("ExecutorSettings.kind", "BenchConfig.executor")
            raise SettingError(text.replace("ExecutorSettings.", "BenchConfig.")) from None

    def model_settings(self) -> ModelSettings:
        """Output cap, timeout and endpoint for models given by name."""
        return ModelSettings(self.max_tokens, self.timeout, self.base_url)

    def hashed(self, agent: str, learner: str) -> dict[str, Any]:
        return {
            "agent_model": agent,
            "learner_model": learner,
            "max_steps": self.max_steps,
            "memory_steps": self.memory_steps,
            "train_steps": self.train_steps,
            "k": self.k,
            "rounds": self.rounds,
            "seed": self.seed,
            "tasks": self.tasks,
            "on_error": self.on_error,
            "learner_temperature": self.learner_temperature,
            **({"library": self.library_tag} if self.library_tag else {}),
            **({"max_tokens": self.max_tokens} if self.max_tokens else {}),
        }


#: The smallest allowed value of each count of a :class:`BenchConfig`.
_MINIMA = {
    "repeats": 1,
    "k": 1,
    "rounds": 0,
    "concurrency": 1,
}


def expand_domains(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        for d in GROUPS.get(name, (name,)):
            if d not in (*ROBOTIC_PLANNING, *ALFWORLD):
                choices = ", ".join([*GROUPS, *ROBOTIC_PLANNING, *ALFWORLD])
                raise LearnActError(f"Unknown domain {d!r}; choose from: {choices}.")
            if d not in out:
                out.append(d)
    return out


def check_methods(names: Sequence[str]) -> list[str]:
    bad = [n for n in names if n not in m.METHODS]
    if bad:
        raise LearnActError(f"Unknown method {bad[0]!r}; choose from: {', '.join(m.METHODS)}.")
    return list(dict.fromkeys(names))


def plan_tasks(config: BenchConfig, domain: str) -> list[tuple[str, str]]:
    """(task id, split) of the tasks a domain is evaluated on, in index order."""
    env = m.MethodSettings(domain, None, None, config.tasks, config.data_dir).make_env()  # type: ignore[arg-type]
    tasks = [t for t in env.tasks() if config.include_train or t.split != "train"]
    if config.tasks_per_domain is not None:
        tasks = tasks[: config.tasks_per_domain]
    return [(t.id, t.split) for t in tasks]


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
