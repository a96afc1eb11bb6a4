"""Learned and base actions as LangChain tools, bound to a live environment session.

Each tool is a ``StructuredTool`` with ``response_format="content_and_artifact"``: the
content is what an acting agent sees (the sandbox's observation) and the artifact is
the whole structured result (``ExecResult`` as a dict: sub-steps, error kind, value).
Calls go through the :class:`~learnact_langgraph.sandbox.Sandbox`, so learned code
never runs in the host interpreter and a failed call is rolled back.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, ToolException

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.envs.base import BaseAction, Environment
from learnact_langgraph.tools.schema import base_args_schema, learned_args_schema

if TYPE_CHECKING:
    from learnact_langgraph.library import ActionLibrary
    from learnact_langgraph.sandbox import ExecResult, Sandbox

__all__ = [
    "ActionFailed",
    "ActionTool",
    "ToolSession",
    "base_action_tool",
    "learned_action_tool",
    "library_tools",
]

SessionLike = Any  # Sandbox | Environment | Callable[[], Sandbox] | ToolSession | None


class ToolSession:
    """The sandbox the tools call, resolved on first use.

    ``session`` is a :class:`Sandbox` (used as is; you close it), an
    :class:`Environment` (a subprocess sandbox is started for it and closed by
    :meth:`close`), a zero-argument factory returning a Sandbox, or ``None`` for tools
    that only describe themselves (schemas, exports) and refuse to run.
    """

    def __init__(self, session: SessionLike, sources: dict[str, str]) -> None:
        self._given = session
        self._sources = dict(sources)
        self._sandbox: Sandbox | None = None
        self._owned = False
        self._lock = threading.Lock()
        #: Actions the sandbox refused (name -> why): their tools answer with the reason.
        self.refused: dict[str, str] = {}

    def open(self) -> Sandbox:
        """Start (or take) the sandbox and load the learned actions it accepts.

        An action the sandbox refuses (written under older rules, or for an
        environment with other base actions) is left out and its tool says why, so
        one bad action never stops the others. Raises the sandbox's own errors when
        it cannot start or load at all.
        """
        with self._lock:
            if self._sandbox is None:
                sandbox, owned = self._open()
                try:
                    refused = {n: sandbox.check(s, n) for n, s in self._sources.items()}
                    self.refused = {n: "; ".join(p) for n, p in refused.items() if p}
                    loadable = {n: s for n, s in self._sources.items() if n not in self.refused}
                    if loadable:
                        sandbox.load(loadable)
                except Exception:
                    if owned:
                        sandbox.close()
                    raise
                self._sandbox, self._owned = sandbox, owned
            return self._sandbox

    def sandbox(self) -> Sandbox:
        """:meth:`open` for a tool call: problems become a ``ToolException`` the agent sees."""
        from learnact_langgraph.sandbox import LearnedCodeError, SandboxError

        try:
            return self.open()
        except (LearnedCodeError, SandboxError) as exc:
            raise ToolException(f"The learned actions cannot run: {exc}") from exc

    def _open(self) -> tuple[Sandbox, bool]:
        from learnact_langgraph.sandbox import Sandbox

        given = self._given
        if given is None:
            raise ToolException(
                "This tool is not bound to an environment; build it with "
                "library.as_tools(session) where session is a Sandbox or an Environment."
            )
        if isinstance(given, Sandbox):
            return given, False
        if isinstance(given, Environment):
            return Sandbox(given), True
        if callable(given):
            return given(), True
        raise ToolException(
            f"Cannot run actions in a {type(given).__name__}; pass a Sandbox, an "
            "Environment or a function returning a Sandbox."
        )

    def sync(self, sources: dict[str, str]) -> None:
        """Make the learned actions exactly ``sources`` (a new release), in place.

        An open sandbox loads the new set (refused actions left out, as in
        :meth:`open`); an unopened session only remembers it.
        """
        with self._lock:
            self._sources = dict(sources)
            if self._sandbox is None:
                return
            refused = {n: self._sandbox.check(s, n) for n, s in self._sources.items()}
            self.refused = {n: "; ".join(p) for n, p in refused.items() if p}
            loadable = {n: s for n, s in self._sources.items() if n not in self.refused}
            self._sandbox.load(loadable, replace=True)

    def call(self, name: str, *args: Any) -> ExecResult:
        sandbox = self.sandbox()
        if name in self.refused:
            raise ToolException(f"The learned action {name!r} cannot run: {self.refused[name]}")
        return sandbox.call(name, *args)

    def close(self) -> None:
        with self._lock:
            if self._sandbox is not None and self._owned:
                self._sandbox.close()
            self._sandbox = None


def _runner(
    session: ToolSession, name: str, order: Sequence[str]
) -> Callable[..., tuple[str, dict[str, Any]]]:
    def run(**kwargs: Any) -> tuple[str, dict[str, Any]]:
        args = []
        for param in order:
            if param not in kwargs:
                break  # later parameters keep their defaults
            args.append(kwargs[param])
        result = session.call(name, *args)
        return result.observation, dataclasses.asdict(result)

    run.__name__ = name
    return run


class ActionFailed(ToolException):
    """A learned or base action call that failed, raised by tools built with
    ``raise_failures=True``, so that middleware which acts on exceptions
    (``ToolRetryMiddleware``) sees the failure. ``message`` is the error
    ``ToolMessage`` (with the structured result as its artifact) that
    :class:`~learnact_langgraph.middleware.LearnActMiddleware` answers with when no
    other middleware handled it."""

    def __init__(self, message: ToolMessage) -> None:
        super().__init__(str(message.content))
        self.message = message


def failed(artifact: Any) -> bool:
    """Whether a tool's artifact is a failed sandbox result."""
    return isinstance(artifact, dict) and artifact.get("ok") is False


class ActionTool(StructuredTool):
    """A ``StructuredTool`` whose failed calls come back as ``status="error"``.

    The content is the observation the agent reads and the artifact stays the whole
    structured result, so retry and failure-aware middleware and tracing see the
    failure while the learner still gets the failed sub-step. With
    ``raise_failures`` a failure is raised as :class:`ActionFailed` instead.
    """

    raise_failures: bool = False
    #: Called with every ``ToolMessage`` this tool returns or raises (the middleware
    #: records trajectories with it, whatever other middleware does with a failure).
    on_result: Callable[[ToolMessage], None] | None = None

    def run(self, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        return self._judged(super().run(tool_input, *args, **kwargs))

    async def arun(self, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        return self._judged(await super().arun(tool_input, *args, **kwargs))

    def _judged(self, output: Any) -> Any:
        if not isinstance(output, ToolMessage):
            return output
        if failed(output.artifact):
            output.status = "error"
        if self.on_result is not None:
            self.on_result(output)
        if output.status == "error" and self.raise_failures:
            raise ActionFailed(output)
        return output


def learned_action_tool(
    action: LearnedAction, session: ToolSession, *, raise_failures: bool = False
) -> StructuredTool:
    """One learned action as a tool; its schema comes from the ``def`` line."""
    return ActionTool.from_function(
        func=_runner(session, action.name, [p.name for p in action.params]),
        name=action.name,
        description=action.full_description(),
        args_schema=learned_args_schema(action),
        response_format="content_and_artifact",
        handle_tool_error=True,
        metadata={"learnact": "learned", "version": action.version},
        raise_failures=raise_failures,
    )


def base_action_tool(
    action: BaseAction, session: ToolSession, *, raise_failures: bool = False
) -> StructuredTool:
    """One base action of the environment as a tool."""
    return ActionTool.from_function(
        func=_runner(session, action.name, [p.name for p in action.params]),
        name=action.name,
        description=action.description or f"Base action {action.signature}.",
        args_schema=base_args_schema(action),
        response_format="content_and_artifact",
        handle_tool_error=True,
        metadata={"learnact": "base"},
        raise_failures=raise_failures,
    )


def base_actions_of(library: ActionLibrary, session: SessionLike) -> Sequence[BaseAction]:
    stored = library.base_actions
    if stored:
        return stored
    env = getattr(session, "env", session)
    return env.base_actions() if isinstance(env, Environment) else ()


def library_tools(
    library: ActionLibrary,
    session: SessionLike = None,
    *,
    include_base: bool = True,
    names: Sequence[str] | None = None,
    generation: int | None = None,
    raise_failures: bool = False,
) -> list[BaseTool]:
    """Tools for the released actions (all, or ``names``) plus the base actions.

    Every released learned action is loaded into the session's sandbox, so learned
    actions can call each other even when only some of them are offered as tools.
    A failed call gives a ``ToolMessage`` with ``status="error"`` (raised as
    :class:`ActionFailed` with ``raise_failures``).
    """
    from learnact_langgraph.sandbox import Sandbox

    actions = library.actions(generation)
    if isinstance(session, ToolSession):
        bound = session
    else:
        bound = ToolSession(session, {a.name: a.source for a in actions})
    if isinstance(session, Sandbox):
        bound.open()  # a sandbox that cannot load should fail here, not at the first call
    chosen = [a for a in actions if names is None or a.name in set(names)]
    tools: list[BaseTool] = []
    if include_base:
        tools += [
            base_action_tool(b, bound, raise_failures=raise_failures)
            for b in base_actions_of(library, session)
        ]
    tools += [learned_action_tool(a, bound, raise_failures=raise_failures) for a in chosen]
    return tools
