"""``BenchConfig``: what a bench runs, checked when it is made, and the plan of its tasks.

Split from :mod:`learnact_langgraph.bench.runner`, which runs a config; the CLI and the
Python API build one here, so a bad setting fails before anything starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from learnact_langgraph.bench import methods as m
from learnact_langgraph.envs.registry import ALFWORLD, GROUPS, ROBOTIC_PLANNING
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.executors import ExecutorKind, ExecutorSettings
from learnact_langgraph.models import ModelSettings
from learnact_langgraph.sandbox.types import ON_ERROR_CHOICES, OnError
from learnact_langgraph.validation import SettingError, require_at_least, require_choice

__all__ = ["BenchConfig", "check_methods", "expand_domains", "plan_tasks"]


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
