"""Live sessions of running agent graphs (``graphs/agent.py``), keyed by ``session_id``.

A run's graph state holds only plain data; the environment, the sandbox bound to it
and what the nodes would otherwise rebuild on every step (the typed trajectory the
prompt is laid out from, the learned actions' views, the resolved model) live here,
in this process. A run resumed elsewhere, or forked from an earlier checkpoint, finds
no entry (or one whose steps differ from its state) and gets a fresh one, rebuilt by
replaying its recorded steps.

Sessions come from the process's pool (``session_pool.py``): the environment is reset
to the run's task and the sandbox holds exactly the run's actions, as for learning
episodes. A finished run hands its session back; a failed one closes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from learnact_langgraph.episode import SimpleAction, Step, Trajectory
from learnact_langgraph.graphs.sessions import Session, open_session
from learnact_langgraph.models import ChatModel, resolve_model

__all__ = ["FIELDS", "LiveRun", "SESSIONS", "action_views", "step_dict"]

FIELDS = ("name", "source", "signature", "description", "notes")

#: The fields of :class:`Step`, in order (what ``Step.to_dict`` writes).
_STEP_FIELDS = tuple(Step.__dataclass_fields__)


def action_views(actions: Sequence[Any]) -> list[SimpleAction]:
    """Learned actions (dicts or objects with :data:`FIELDS`) as the agent sees them."""
    out = []
    for a in actions:
        data = a if isinstance(a, dict) else {k: getattr(a, k, None) for k in FIELDS}
        out.append(
            SimpleAction(
                str(data["name"]),
                str(data["source"]),
                str(data["signature"]),
                str(data.get("description") or ""),
                tuple(data.get("notes") or ()),
            )
        )
    return out


def step_dict(step: Step) -> dict[str, Any]:
    """``step.to_dict()`` without ``asdict``'s recursive deep copy.

    The substeps' dicts are fresh per step (``execute_line`` makes them) and shared
    with the run's typed trajectory, which only reads them.
    """
    return {name: getattr(step, name) for name in _STEP_FIELDS}


@dataclass
class LiveRun:
    """One run's live part: its session and the typed mirror of its state."""

    manager: Any
    session: Session
    actions: list[SimpleAction]
    learned: set[str]
    #: The run's steps so far as typed objects; ``steps`` in the state are their dicts.
    trajectory: Trajectory
    used: float = field(default_factory=time.monotonic)
    _model: tuple[Any, ChatModel] | None = None

    def model(self, spec: Any) -> ChatModel:
        """The chat model ``spec`` names, resolved once per run (a name) or itself."""
        if not (isinstance(spec, str) or spec is None):
            return spec
        if self._model is None or self._model[0] != spec:
            self._model = (spec, resolve_model(spec, temperature=0))
        return self._model[1]

    def matches(self, steps: Sequence[Mapping[str, Any]]) -> bool:
        """Whether this entry's environment is where ``steps`` (a state's) left it."""
        mine = self.trajectory.steps
        if len(mine) != len(steps):
            return False
        return not mine or mine[-1].action == steps[-1].get("action")

    def close(self, failed: bool = False) -> None:
        """End the run's use of its session: a finished run hands the environment and
        sandbox back to the process's pool for the next run; a failed one closes them."""
        if failed:
            error = RuntimeError("the agent run failed")
            self.manager.__exit__(RuntimeError, error, None)
        else:
            self.manager.__exit__(None, None, None)


class Sessions:
    """Live runs of agent graphs in this process, keyed by ``session_id``.

    A session is closed when its run finishes, when a node of the run fails, and, for
    runs that simply stop (a cancelled or abandoned run), when it has been idle for
    ``idle_seconds``: each ``get`` closes those.
    """

    def __init__(self, idle_seconds: float = 600.0) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, LiveRun] = {}
        self.idle_seconds = idle_seconds

    def __len__(self) -> int:
        return len(self._open)

    def get(self, state: Mapping[str, Any], ctx: Any) -> Session:
        """The run's session, opened (and its steps replayed) if this process has none."""
        return self.live(state, ctx).session

    def live(self, state: Mapping[str, Any], ctx: Any, *, fresh: bool = False) -> LiveRun:
        """The run's live part; rebuilt when missing or behind/ahead of ``state``.

        ``fresh`` (a run's start) always opens a new session on the reset task, and
        takes the steps already in the state (a thread played before) as its history
        without replaying them.
        """
        sid = state["session_id"]
        steps = state.get("steps") or []
        self._reap()
        with self._lock:
            run = self._open.get(sid)
            if run is not None:
                run.used = time.monotonic()
        if run is not None:
            if not fresh and run.matches(steps):
                return run
            self.close(sid)  # forked from another checkpoint: replay that one's steps
        run = self._open_run(state, ctx, steps, replay=not fresh)
        with self._lock:
            self._open[sid] = run
        return run

    def _open_run(
        self, state: Mapping[str, Any], ctx: Any, steps: Sequence[Mapping[str, Any]], replay: bool
    ) -> LiveRun:
        raw = state["actions"] if "actions" in state else getattr(ctx, "actions", [])
        actions = action_views(raw)
        manager = open_session(ctx, sources={a.name: a.source for a in actions}, pooled=True)
        session = manager.__enter__()
        try:
            env = session.env
            env.reset(state["task"])
            trajectory = Trajectory(state["task"], env.goal, env.observation)
            for data in steps:
                step = Step.from_dict(dict(data))
                if replay and step.kind not in ("think", "unparsable"):
                    session.sandbox.run(step.action)
                trajectory.steps.append(step)
        except BaseException as exc:
            manager.__exit__(type(exc), exc, exc.__traceback__)  # closed, never pooled
            raise
        return LiveRun(manager, session, actions, {a.name for a in actions}, trajectory)

    def _reap(self) -> None:
        cutoff = time.monotonic() - self.idle_seconds
        with self._lock:
            idle = [sid for sid, run in self._open.items() if run.used < cutoff]
        for sid in idle:
            self.close(sid)

    def close(self, sid: str, failed: bool = False) -> None:
        """End run ``sid``'s session (see :meth:`LiveRun.close`)."""
        with self._lock:
            run = self._open.pop(sid, None)
        if run is not None:
            run.close(failed)


SESSIONS = Sessions()
