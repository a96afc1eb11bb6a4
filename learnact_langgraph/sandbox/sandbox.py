"""The Sandbox: learned actions run as transactions against one environment.

It ties a backend (where code runs) to an :class:`Environment` (the only world the
code can touch, through base actions). Each call is a transaction: the state is
snapshotted before the first base action; if the call fails it is restored (or kept,
with ``on_error="keep"``, the paper's behaviour). Every base action taken is returned
as a :class:`SubStep`, so the learner never parses observations.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from learnact_langgraph.envs.base import Environment, Snapshot, format_call
from learnact_langgraph.sandbox import gate
from learnact_langgraph.sandbox.agent_lines import base_call
from learnact_langgraph.sandbox.backend import BaseReply, Job, RawOutcome, SandboxBackend, StopCall
from learnact_langgraph.sandbox.env_boundary import (
    BaseActionRunner,
    CallGuard,
    EnvironmentFault,
    _hung,
)
from learnact_langgraph.sandbox.host_paths import scrub
from learnact_langgraph.sandbox.subprocess_backend import SubprocessBackend
from learnact_langgraph.sandbox.types import (
    ErrorKind,
    ExecResult,
    Limits,
    OnError,
    PolicyViolation,
    SandboxError,
    SubStep,
)
from learnact_langgraph.sandbox.worker_replies import returned

BackendFactory = Callable[[list[str], Limits], SandboxBackend]


def _monty(base_actions: list[str], limits: Limits) -> SandboxBackend:
    from learnact_langgraph.sandbox.monty_backend import MontyBackend

    return MontyBackend(base_actions, limits)


BACKENDS: dict[str, BackendFactory] = {"subprocess": SubprocessBackend, "monty": _monty}
NO_ACTION = "The code ran and called no action."
GOAL_REACHED_STOP = "the goal was already reached; the rest of the call was not run"


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``Sandbox(env, backend=name)`` build backends with ``factory``."""
    BACKENDS[name] = factory


class Sandbox:
    """Runs agent lines and learned actions against ``env`` away from the host.

    Use as a context manager (or call :meth:`close`) so the worker process ends.
    Not thread-safe across calls of one instance beyond simple serialisation: calls
    are run one at a time.
    """

    def __init__(
        self,
        env: Environment,
        backend: str | SandboxBackend = "subprocess",
        limits: Limits | None = None,
        on_error: OnError = "restore",
    ) -> None:
        if on_error not in ("restore", "keep"):
            raise ValueError(f"on_error must be 'restore' or 'keep', not {on_error!r}.")
        self.env = env
        self.limits = limits or Limits()
        self.on_error: OnError = on_error
        self.base_names = [a.name for a in env.base_actions()]
        self._base_set = frozenset(self.base_names)
        if isinstance(backend, SandboxBackend):
            self.backend = backend
        elif backend in BACKENDS:
            self.backend = BACKENDS[backend](self.base_names, self.limits)
        else:
            known = ", ".join(sorted(BACKENDS))
            raise SandboxError(f"Unknown sandbox backend {backend!r}; choose one of: {known}.")
        self._sources: dict[str, str] = {}
        self._lock = threading.Lock()
        self._base_actions = BaseActionRunner(getattr(self.backend, "cpu", None))

    # ----- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.backend.close()
        self._base_actions.close()

    # ----- learned actions ---------------------------------------------------------------
    @property
    def sources(self) -> dict[str, str]:
        """The learned actions loaded now (name -> source)."""
        return dict(self._sources)

    def check(self, source: str, name: str | None = None) -> list[str]:
        """The gate's problems with ``source`` without running it (empty when it is fine).

        With ``name`` the source is checked as the learned action ``name`` (allowed
        imports, literal constants and one ``def name``, not redefining a base action).
        Once the gate is satisfied the backend adds what it cannot run (the optional
        monty backend lacks some modules).
        """
        base = tuple(self.base_names)
        if name is None:
            problems = list(_code_problems(source, base))
            filename = "<code>"
        else:
            problems = gate.check_action(name, source, base_actions=base)
            filename = f"<learned:{name}>"
        return problems or self.backend.problems(source, filename)

    def load(self, sources: Mapping[str, str], *, replace: bool = False) -> None:
        """Add (or with ``replace`` set exactly) learned actions.

        Raises :class:`PolicyViolation` when the gate refuses one, or
        :class:`LearnedCodeError` when the backend cannot load it; either way the
        actions loaded before stay loaded and the sandbox keeps working.
        """
        loaded = self._sources
        problems = [
            p
            for name, src in sources.items()
            if loaded.get(name) != src  # what loaded already passed the gate
            for p in self.check(src, name)
        ]
        if problems:
            raise PolicyViolation(
                "Learned code was refused: " + "; ".join(problems) + ".", problems
            )
        merged = dict(sources) if replace else {**self._sources, **sources}
        with self._lock:
            self.backend.load(merged)
            self._sources = merged

    def unload(self, *names: str) -> None:
        """Remove learned actions by name."""
        self.load({n: s for n, s in self._sources.items() if n not in names}, replace=True)

    # ----- running -------------------------------------------------------------------------
    def run(self, code: str, *, limits: Limits | None = None) -> ExecResult:
        """Run the agent's line(s) of Python; the value of a final expression is returned.

        A line that is one base action on literal arguments runs no code, so the host
        makes that call itself, without the worker, with the same result
        (:func:`~learnact_langgraph.sandbox.agent_lines.base_call`).

        ``limits`` overrides this sandbox's limits for this call (except ``memory_mb``,
        which is fixed when the worker starts).
        """
        started = time.perf_counter()
        limits = self._call_limits(limits)
        kind, found = _line_problems(code, tuple(self.base_names))
        if kind is not None:
            return self._refused(kind, list(found), started)
        problems = self.backend.problems(code, "<action>")
        if problems:
            return self._refused("policy_violation", problems, started)
        direct = base_call(code, self._base_set)
        if direct is not None and direct[0] not in self._sources:
            return self._transaction(None, started, direct=direct, limits=limits)
        return self._transaction(Job(source=code, limits=limits), started)

    def call(self, name: str, *args: Any, limits: Limits | None = None) -> ExecResult:
        """Call one learned or base action with structured arguments (``limits`` as in
        :meth:`run`)."""
        started = time.perf_counter()
        limits = self._call_limits(limits)
        if name not in self._sources:
            return self._transaction(None, started, direct=(name, args), limits=limits)
        try:
            json.dumps(list(args))
        except (TypeError, ValueError):
            return self._refused(
                "python_exception",
                [f"arguments of {name}() must be strings, numbers, booleans or None"],
                started,
            )
        return self._transaction(Job(call=(name, args), limits=limits), started)

    def _call_limits(self, limits: Limits | None) -> Limits | None:
        if limits is not None and limits.memory_mb != self.limits.memory_mb:
            raise ValueError(
                "memory_mb is fixed per Sandbox (it is set when the worker starts); "
                "create a Sandbox with the memory limit you need."
            )
        return limits

    # ----- the transaction ---------------------------------------------------------------
    def _transaction(
        self,
        job: Job | None,
        started: float,
        direct: tuple[str, tuple[Any, ...]] | None = None,
        limits: Limits | None = None,
    ) -> ExecResult:
        """Run ``job`` in the backend, or else the base action ``direct`` right here (a
        call that runs no code), as one transaction on the environment."""
        env = self.env
        limits = (job.limits if job is not None else limits) or self.limits
        deadline = started + limits.wall_time_s
        steps: list[SubStep] = []
        snap: list[Snapshot] = []
        stopped: list[str] = []
        faults: list[EnvironmentFault] = []
        already_done = env.done
        runner = self._base_actions
        abort_pending = getattr(self.backend, "abort_pending", None)
        guard = CallGuard() if abort_pending is not None and direct is None else None

        def on_call(name: str, args: tuple[Any, ...]) -> BaseReply:
            if len(steps) >= limits.base_calls:
                stopped.append(
                    f"the call made more than {limits.base_calls} base-action calls and was stopped"
                )
                raise StopCall(stopped[0])
            if steps and steps[-1].done and not already_done:
                raise StopCall(GOAL_REACHED_STOP)
            try:
                if guard is None:
                    if not snap:
                        snap.append(self._snapshot(name, args))
                    res = runner.call(env, name, args, deadline - time.perf_counter())
                else:
                    guard.enter(name, args)
                    try:
                        if not snap:
                            snap.append(self._snapshot(name, args))
                        res = runner.call_here(env, name, args)
                    finally:
                        guard.leave()
            except EnvironmentFault as fault:
                faults.append(fault)
                steps.append(SubStep(name, args, False, fault.message, "exception"))
                raise StopCall(fault.message) from None
            step = SubStep(name, args, res.valid, res.observation, res.error, env.done)
            steps.append(step)
            return BaseReply(step.observation, step.valid, env.done)

        def on_hang(name: str, args: tuple[Any, ...]) -> RawOutcome:
            fault = EnvironmentFault(_hung(format_call(name, args)), hung=True)
            faults.append(fault)
            steps.append(SubStep(name, args, False, fault.message, "exception"))
            assert abort_pending is not None
            outcome: RawOutcome = abort_pending(fault.message)
            return outcome

        with self._lock:
            if direct is not None:
                try:
                    raw = RawOutcome(True, returned(on_call(*direct).observation))
                except StopCall as stop:
                    raw = RawOutcome(False, error_kind="limit", message=str(stop))
            elif guard is not None:
                assert job is not None
                backend = self.backend
                raw = runner.run_call(
                    lambda: backend.execute(job, on_call), deadline, guard, on_hang
                )
            else:
                assert job is not None
                raw = self.backend.execute(job, on_call)
        if faults:
            raw = RawOutcome(False, None, "environment_error", faults[0].message, "", raw.stdout)
        elif stopped and raw.ok:
            raw = RawOutcome(False, raw.value, "limit", stopped[0], "", raw.stdout)
        elif not raw.ok and steps and steps[-1].done and not already_done:
            # The goal counts once reached: the code was stopped at its next base call.
            raw = RawOutcome(True, None, stdout=raw.stdout)
        return self._finish(raw, steps, snap, started)

    def _snapshot(self, name: str, args: tuple[Any, ...]) -> Snapshot:
        try:
            return self.env.snapshot()
        except BaseException as exc:
            raise EnvironmentFault(
                scrub(
                    f"the environment failed: it could not take a snapshot before base action "
                    f"{format_call(name, args)} ({type(exc).__name__}: {exc})"
                )
            ) from None

    def _finish(
        self, raw: RawOutcome, steps: list[SubStep], snap: list[Snapshot], started: float
    ) -> ExecResult:
        failed = next((i for i, s in enumerate(steps) if not s.valid), None)
        ok, kind, message = raw.ok, raw.error_kind, scrub(raw.message)
        if ok and failed is not None:
            bad = steps[failed]
            ok, kind = False, "invalid_action"
            message = (
                f"base action {format_call(bad.name, bad.args)} (sub-step {failed + 1} of "
                f"{len(steps)}) was not valid: {bad.observation}"
            )
        rolled_back = False
        # After an environment fault the state is unknown: it is always restored.
        if not ok and snap and (self.on_error == "restore" or kind == "environment_error"):
            try:
                self.env.restore(_keeping_progress(snap[0], self.env.progress))
                rolled_back = True
            except BaseException as exc:
                why = scrub(f"{type(exc).__name__}: {exc}")
                kind = "environment_error"
                message = f"{message}; restoring the environment failed too ({why})"
        substeps = tuple(steps)
        value = scrub(raw.value) if isinstance(raw.value, str) else raw.value
        stdout = scrub(raw.stdout)
        return ExecResult(
            ok=ok,
            value=value,
            error_kind=None if ok else kind,
            message=message,
            traceback=scrub(raw.traceback),
            substeps=substeps,
            duration_s=time.perf_counter() - started,
            stdout=stdout,
            observation=_observation(ok, message, value, stdout, substeps, self.env, rolled_back),
            rolled_back=rolled_back,
            failed_substep=failed,
        )

    def _refused(self, kind: ErrorKind, problems: list[str], started: float) -> ExecResult:
        raw = RawOutcome(False, error_kind=kind, message="; ".join(problems))
        return self._finish(raw, [], [], started)


# The gate is a pure function of the code and the base actions' names, and an agent
# sends the same lines, and the learner the same sources, again and again: its
# verdicts are kept (as tuples, so no caller can change a kept one).
@functools.lru_cache(maxsize=4096)
def _line_problems(code: str, base: tuple[str, ...]) -> tuple[ErrorKind | None, tuple[str, ...]]:
    tree, problems = gate.parse_source(code, "<action>")
    if tree is None:
        return "python_exception", tuple(problems)
    problems = gate.check_parsed(tree, code, "<action>", list(base))
    return ("policy_violation" if problems else None), tuple(problems)


@functools.lru_cache(maxsize=2048)
def _code_problems(source: str, base: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(gate.check_code(source, base_actions=list(base)))


def _keeping_progress(snap: Snapshot, progress: float) -> Snapshot:
    """``snap`` with the episode's best progress so far: a rollback undoes the state,
    not the progress rate the episode already reached (the paper's metric is a maximum)."""
    best, done, steps, observation = snap.bookkeeping
    return replace(snap, bookkeeping=(max(best, progress), done, steps, observation))


def _observation(
    ok: bool,
    message: str,
    value: Any,
    stdout: str,
    steps: tuple[SubStep, ...],
    env: Environment,
    rolled_back: bool,
) -> str:
    """What the acting agent sees for this step.

    After a rollback it describes the state the world is in again, never a sub-step
    observation that was undone.
    """
    if ok:
        if steps:
            return env.call_observation([s.observation for s in steps])
        if value is not None:
            return scrub(str(value))
        return stdout.strip() or NO_ACTION
    parts = [f"Error: {message}"]
    if rolled_back:
        parts.append(
            "Every sub-step of this call was undone; the environment is back in the state "
            f"before it: {env.observation}"
        )
        return " ".join(parts)
    valid = [s.observation for s in steps if s.valid]
    if valid:
        shown = env.call_observation(valid)
        label = "Last valid observation" if shown == valid[-1] else "The valid sub-steps showed"
        parts.append(f"{label}: {shown}")
        parts.append("The effects of the valid sub-steps before the error were kept.")
    else:
        parts.append("Nothing changed in the environment.")
    return " ".join(parts)
