"""``LearnActMiddleware``: learning inside an agent built with ``create_agent``.

::

    agent = create_agent(model, middleware=[LearnActMiddleware(env, library=library)])

* Before each model call the newest release's learned actions join the request's
  tools (one read of the release pointer when nothing changed).
* Base and learned tool calls run in the sandbox; a failed call is a ``ToolMessage``
  with ``status="error"`` whose artifact is the structured result. Inside the
  middleware a failure is raised as :class:`ActionFailed`, so middleware listed after
  this one (``ToolRetryMiddleware``) sees it; whatever is left is answered here.
* Every run is recorded as a learner trajectory, and learning starts by the policy
  chosen (``when``), inline or on a background thread, from those trajectories.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.runtime import Runtime
from langgraph.store.base.batch import AsyncBatchedBaseStore
from langgraph.types import Command

from learnact_langgraph.envs.base import Environment
from learnact_langgraph.episode import Trajectory
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.graphs.factories import create_learner, env_factory_for, learner_context
from learnact_langgraph.middleware.recorder import TrajectoryRecorder
from learnact_langgraph.tools.learned import ActionFailed, ToolSession
from learnact_langgraph.tools.toolkit import LearnedToolkit
from learnact_langgraph.validation import SettingError, require_at_least, require_choice

__all__ = ["LearnActMiddleware", "LearningOutcome", "When"]

log = logging.getLogger(__name__)

#: When learning starts: at the end of a failed run, after ``failures`` failed tool
#: calls in a run, or only when :meth:`LearnActMiddleware.learn_now` is called.
When = Literal["end", "failures", "manual"]
#: ``state -> success``: the agent's final state says whether it reached its goal
#: (``None`` leaves it to the environment's own goal check).
SuccessHook = Callable[[dict[str, Any]], "bool | None"]


@dataclass(frozen=True)
class LearningOutcome:
    """How one learning run ended: the learner's status and release, or the error."""

    status: str
    release: dict[str, Any] | None
    trajectories: int
    error: str | None = None


def _same_objects(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _offer(given: tuple[Any, ...], learned: tuple[BaseTool, ...], mine: set[int]) -> list[Any]:
    """The tools for the model: the request's, then the learned ones. A learned tool
    replaces a given one of its name; a tool of the agent's own with a base action's
    name wins over ours."""
    names = {t.name for t in learned}
    theirs = {getattr(t, "name", None) for t in given if id(t) not in mine} - names
    kept = [
        t
        for t in given
        if getattr(t, "name", None) not in names
        and (id(t) not in mine or getattr(t, "name", None) not in theirs)
    ]
    return [*kept, *learned]


class LearnActMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Learn new actions from an agent's own failures, and offer them as tools.

    Args:
        env_or_session: the live :class:`Environment` the agent acts in (reset it to a
            task before each run), or a :class:`~learnact_langgraph.sandbox.Sandbox`
            bound to one.
        library: the :class:`~learnact_langgraph.library.ActionLibrary` read and
            published to.
        learner_model: writes and revises actions (default: the agent's own model).
        agent_model: plays candidates when ``evaluate_with="text"`` (default: the
            learner's).
        when: ``"end"`` (a failed run), ``"failures"`` (``failures`` failed tool calls
            in a run) or ``"manual"`` (:meth:`learn_now` only).
        background: learn on a thread that never blocks the agent (see :meth:`wait`).
        env_factory: makes fresh environments for the learner's episodes (default:
            copies of the live one as it is when the middleware is made).
        success: a hook that reads the agent's final state and says whether the goal
            was reached; the environment's goal check is used when it returns ``None``.
        evaluate_with: ``"agent"`` scores candidates with an agent built like this one
            (its model and system prompt, the candidate's tools); ``"text"`` with the
            paper's text agent.
        base_tools: register the environment's base actions as tools. A tool of the
            agent's own with a base action's name is used instead of ours, and its
            calls are recorded too (with its text result only).
        trajectory_log: a JSONL file each finished run is appended to.
        learner_settings: more :class:`~learnact_langgraph.graphs.LearnerContext`
            fields (``k``, ``rounds``, ``train_steps``, ...).

    On an async store (``AsyncSqliteStore``, ``AsyncPostgresStore``) build it off the
    event loop (``await asyncio.to_thread(LearnActMiddleware, env, library=...)``):
    it reads the library when made, and in async runs it reads it on a worker thread.
    """

    def __init__(
        self,
        env_or_session: Any,
        *,
        library: Any,
        learner_model: Any = None,
        agent_model: Any = None,
        when: When = "end",
        failures: int = 3,
        background: bool = False,
        env_factory: Callable[[], Environment] | None = None,
        success: SuccessHook | None = None,
        evaluate_with: Literal["text", "agent"] = "text",
        base_tools: bool = True,
        trajectory_log: str | os.PathLike[str] | None = None,
        **learner_settings: Any,
    ) -> None:
        require_choice("LearnActMiddleware", "when", when, ("end", "failures", "manual"))
        require_choice("LearnActMiddleware", "evaluate_with", evaluate_with, ("text", "agent"))
        require_at_least("LearnActMiddleware", "failures", failures, 1)
        if learner_settings.get("require_approval"):
            raise SettingError(
                "LearnActMiddleware learns without a person in the loop; to approve "
                "releases, run create_learner(..., require_approval=True) with a "
                "checkpointer on the trajectories in middleware.trajectories."
            )
        env = getattr(env_or_session, "env", env_or_session)
        if not isinstance(env, Environment):
            raise SettingError(
                "LearnActMiddleware needs the agent's Environment (or a Sandbox bound to "
                f"one), not {type(env_or_session).__name__}."
            )
        if not library.base_actions:
            library.set_base_actions(env)
        self.env = env
        self.library = library
        self.learner_model = learner_model
        self.agent_model = agent_model
        self.when: When = when
        self.failure_limit = failures
        self.background = background
        self.success = success
        self.evaluate_with = evaluate_with
        self.learner_settings = dict(learner_settings)
        # Copied now, while the agent is not using the environment: a background
        # learning run must never copy it mid-step.
        self._env_factory = env_factory or env_factory_for(env)
        # A bad learner setting fails here, not in the middle of an agent run.
        learner_context(learner_model, env=self._env_factory, **learner_settings)
        self._base_names = {a.name for a in env.base_actions()}
        self.session = ToolSession(env_or_session, {})
        self.recorder = TrajectoryRecorder(env, log_path=trajectory_log)
        self.toolkit = LearnedToolkit(
            library=library,
            session=self.session,
            include_base=base_tools,
            raise_failures=True,
            on_result=self._on_result,
        )
        #: The last failed attempt of each call in flight (its message has the artifact).
        self._failed: dict[str, ToolMessage] = {}
        self.tools: list[BaseTool] = self.toolkit.base_tools()
        self._async_store = isinstance(library.store, AsyncBatchedBaseStore)
        self.outcomes: list[LearningOutcome] = []
        self._learned_from = 0
        self._model: Any = None
        self._system_prompt: str | None = None
        self._learning: threading.Thread | None = None
        self._learn_lock = threading.Lock()
        #: The tools last offered to the model, with the learned and given ones they
        #: came from; and the learned tools by name (both re-made when those change).
        self._offered: tuple[tuple[BaseTool, ...], tuple[Any, ...], list[Any]] = ((), (), [])
        self._learned_names: tuple[tuple[BaseTool, ...], dict[str, BaseTool]] = ((), {})

    # ----- tools ------------------------------------------------------------------------
    def learned_tools(self) -> list[BaseTool]:
        """The newest release's learned actions as tools (recorded like the base ones)."""
        return self.toolkit.learned_tools()

    def _ours(self, name: str) -> tuple[BaseTool, bool] | None:
        for tool in self.tools:
            if tool.name == name:
                return tool, False
        learned, by_name = self._learned_names
        current = self.toolkit.current_learned()
        if current is not learned:
            by_name = {t.name: t for t in current}
            self._learned_names = (current, by_name)
        found = by_name.get(name)
        return (found, True) if found is not None else None

    def _with_learned(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        learned = self.toolkit.current_learned()
        if self._model is None:
            self._model, self._system_prompt = request.model, request.system_prompt
        given = tuple(request.tools)
        seen_learned, seen_given, offered = self._offered
        if learned is not seen_learned or not _same_objects(given, seen_given):
            offered = _offer(given, learned, {id(t) for t in self.tools})
            self._offered = (learned, given, offered)
        return request.override(tools=list(offered))

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        return handler(self._with_learned(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        if self._async_store:  # its sync reads refuse to run on the event loop
            return await handler(await asyncio.to_thread(self._with_learned, request))
        return await handler(self._with_learned(request))

    def _prepare(self, request: ToolCallRequest) -> ToolCallRequest | None:
        """Our tool for this call (recorded as it runs), or ``None`` to pass it on.

        A tool the agent brought itself is never swapped for ours, even with a base
        action's name; calls of such tools are still recorded when the name is a
        base action's (see :meth:`_record_theirs`).
        """
        call = request.tool_call
        given = request.tool
        if given is not None and not (given.metadata or {}).get("learnact"):
            return None
        found = self._ours(call["name"])
        if found is None:
            return None
        tool, learned = found
        args = dict(call.get("args") or {})
        self.recorder.expect(str(call["id"]), call["name"], args, list(tool.args), learned)
        return request if tool is given else request.override(tool=tool)

    def _expect_theirs(self, request: ToolCallRequest) -> bool:
        call = request.tool_call
        if call["name"] not in self._base_names:
            return False
        params = list(request.tool.args) if request.tool is not None else []
        self.recorder.expect(
            str(call["id"]), call["name"], dict(call.get("args") or {}), params, False
        )
        return True

    def _on_result(self, message: ToolMessage) -> None:
        if message.status == "error":
            self._failed[str(message.tool_call_id)] = message
        self.recorder.on_result(message)

    def _with_artifact(self, result: Any) -> Any:
        """An error answer made by middleware after this one (``ToolRetryMiddleware``
        giving up) gets the last attempt's structured result as its artifact."""
        if not isinstance(result, ToolMessage) or result.status != "error":
            return result
        last = self._failed.get(str(result.tool_call_id))
        if result.artifact is not None or last is None:
            return result
        return result.model_copy(update={"artifact": last.artifact})

    def _record_theirs(self, result: Any) -> None:
        if isinstance(result, ToolMessage):
            self.recorder.on_result(result)

    def _after_call(self) -> None:
        if self.when == "failures" and self.recorder.failures >= self.failure_limit:
            self.recorder.failures = 0
            self._trigger(include_current=True)

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        ours = self._prepare(request)
        if ours is None:
            if not self._expect_theirs(request):
                return handler(request)
            result = handler(request)
            self._record_theirs(result)
            self._after_call()
            return result
        try:
            return self._with_artifact(handler(ours))
        except ActionFailed as exc:
            return exc.message
        finally:
            self._failed.pop(str(request.tool_call["id"]), None)
            self._after_call()

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        if self._async_store:
            ours = await asyncio.to_thread(self._prepare, request)
        else:
            ours = self._prepare(request)
        if ours is None:
            if not self._expect_theirs(request):
                return await handler(request)
            result = await handler(request)
            self._record_theirs(result)
            self._after_call()
            return result
        try:
            return self._with_artifact(await handler(ours))
        except ActionFailed as exc:
            return exc.message
        finally:
            self._failed.pop(str(request.tool_call["id"]), None)
            self._after_call()

    # ----- runs -------------------------------------------------------------------------
    def before_agent(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        self.recorder.start()
        return None

    def after_agent(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        verdict = self.success(dict(state)) if self.success is not None else None
        traj = self.recorder.finish(verdict)
        if traj is not None and not traj.success and self.when == "end":
            self._trigger()
        return None

    async def abefore_agent(
        self, state: AgentState[Any], runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        return self.before_agent(state, runtime)

    async def aafter_agent(
        self, state: AgentState[Any], runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        return await asyncio.to_thread(self.after_agent, state, runtime)

    @property
    def trajectories(self) -> list[Trajectory]:
        """Finished runs, oldest first (the newest 100)."""
        return list(self.recorder.finished)

    # ----- learning ---------------------------------------------------------------------
    def _pending_failures(self, include_current: bool) -> list[Trajectory]:
        finished = self.recorder.since(self._learned_from)
        failed = [t for t in finished if not t.success and t.task_id]
        current = self.recorder.current
        if include_current and current is not None and current.task_id:
            failed.append(Trajectory.from_dict(current.to_dict()))
        return failed

    def _trigger(self, *, include_current: bool = False) -> None:
        trajs = self._pending_failures(include_current)
        if not trajs:
            return
        if not self.background:
            self.learn_now(trajs)
            return
        with self._learn_lock:
            if self._learning is not None and self._learning.is_alive():
                return  # one learning run at a time; later failures wait for the next
            ctx = contextvars.copy_context()
            self._learning = threading.Thread(
                target=ctx.run, args=(self.learn_now, trajs), name="learnact-learn", daemon=True
            )
            self._learning.start()

    def learn_now(self, trajectories: list[Trajectory] | None = None) -> LearningOutcome:
        """Run the learner now on ``trajectories`` (default: failed runs not learned from
        yet) and publish what it finds; blocks until it is done.

        Errors do not reach the agent: they are the outcome's ``error``, logged too.
        """
        trajs = trajectories if trajectories is not None else self._pending_failures(False)
        self._learned_from = self.recorder.count
        if not trajs:
            raise LearnActError(
                "Nothing to learn from yet: no failed run on one of the environment's "
                "tasks was recorded (reset the environment to a task before each run)."
            )
        model = self.learner_model if self.learner_model is not None else self._model
        if model is None:
            raise LearnActError(
                "No learner model: pass learner_model=..., or let the agent make one model "
                "call first (its model then learns)."
            )
        try:
            learner = create_learner(
                model,
                env=self._env_factory,
                agent_model=self.agent_model,
                library=self.library,
                tool_agent=self._tool_agent(),
                **self.learner_settings,
            )
            out = learner.invoke({"learnact_trajectories": [t.to_dict() for t in trajs]})
            outcome = LearningOutcome(
                str(out.get("learnact_status")), out.get("learnact_release"), len(trajs)
            )
        except Exception as exc:  # a learning failure must never break the agent
            log.warning("LearnAct learning failed: %s", exc)
            outcome = LearningOutcome("error", None, len(trajs), f"{type(exc).__name__}: {exc}")
        self.outcomes.append(outcome)
        return outcome

    def _tool_agent(self) -> Callable[[list[Any]], Any] | None:
        if self.evaluate_with != "agent":
            return None
        model, system = self._model, self._system_prompt
        if model is None:
            raise LearnActError(
                "evaluate_with='agent' needs one model call of the agent first, to learn "
                "which model and system prompt it uses."
            )

        def make(tools: list[Any]) -> Any:
            from langchain.agents import create_agent

            return create_agent(model, tools=tools, system_prompt=system)

        return make

    def wait(self, timeout: float | None = None) -> LearningOutcome | None:
        """Wait for a background learning run; its outcome, or ``None`` if none ran."""
        thread = self._learning
        if thread is not None:
            thread.join(timeout)
        return self.outcomes[-1] if self.outcomes else None

    def close(self) -> None:
        """Wait for learning, then close the sandbox this middleware started."""
        self.wait()
        self.session.close()
