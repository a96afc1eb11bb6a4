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
from pydantic import PrivateAttr

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.envs.base import BaseAction, Environment
from learnact_langgraph.tools.schema import (
    ParamTriples,
    action_params,
    args_model,
    base_params,
    json_args_schema,
    triples,
)

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


def runner(
    session: ToolSession, name: str, params: ParamTriples
) -> Callable[..., tuple[str, dict[str, Any]]]:
    """The function a tool calls: arguments by position, in ``params``' order."""

    def run(**kwargs: Any) -> tuple[str, dict[str, Any]]:
        args = []
        for param, _, _ in params:
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

    ``args_schema`` is the JSON schema (what listings and exports show); the pydantic
    model that validates a call is built from ``params`` at the first call, so
    building thousands of tools creates no model, and a call is validated (and its
    errors worded) exactly as with the model as ``args_schema``.
    """

    raise_failures: bool = False
    #: Called with every ``ToolMessage`` this tool returns or raises (the middleware
    #: records trajectories with it, whatever other middleware does with a failure).
    on_result: Callable[[ToolMessage], None] | None = None
    #: ``(name, annotation, default)`` of each parameter, as source text: the validating
    #: model is built from them (``None``: ``args_schema`` is that model).
    params: ParamTriples | None = None
    _validating: StructuredTool | None = PrivateAttr(default=None)

    def run(self, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        return self._judged(super().run(tool_input, *args, **kwargs))

    async def arun(self, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        return self._judged(await super().arun(tool_input, *args, **kwargs))

    def _to_args_and_kwargs(
        self, tool_input: str | dict[str, Any], tool_call_id: str | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if self.params is None:
            return super()._to_args_and_kwargs(tool_input, tool_call_id)
        if self._validating is None:
            model = args_model(self.name, action_params(self.params))
            self._validating = self.model_copy(update={"args_schema": model, "params": None})
        return self._validating._to_args_and_kwargs(tool_input, tool_call_id)

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
    action: LearnedAction,
    session: ToolSession,
    *,
    raise_failures: bool = False,
    description: str | None = None,
) -> StructuredTool:
    """One learned action as a tool; its schema comes from the ``def`` line.

    ``description`` is ``action.full_description()`` when the caller already has it.
    """
    return action_tool(
        action.name,
        action.full_description() if description is None else description,
        triples(action.params),
        session,
        {"learnact": "learned", "version": action.version},
        raise_failures,
    )


def base_action_tool(
    action: BaseAction, session: ToolSession, *, raise_failures: bool = False
) -> StructuredTool:
    """One base action of the environment as a tool."""
    return action_tool(
        action.name,
        action.description or f"Base action {action.signature}.",
        triples(base_params(action)),
        session,
        {"learnact": "base"},
        raise_failures,
    )


def action_tool(
    name: str,
    description: str,
    params: ParamTriples,
    session: ToolSession,
    metadata: dict[str, Any],
    raise_failures: bool,
    schema: dict[str, Any] | None = None,
) -> ActionTool:
    """An :class:`ActionTool` for an action with these ``(name, annotation, default)``
    parameters (``schema``: their JSON schema, when known already)."""
    tool = ActionTool.from_function(
        func=runner(session, name, params),
        name=name,
        description=description,
        args_schema=json_args_schema(name, action_params(params)) if schema is None else schema,
        response_format="content_and_artifact",
        handle_tool_error=True,
        metadata=metadata,
        raise_failures=raise_failures,
        params=params,
    )
    assert isinstance(tool, ActionTool)
    return tool


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

    view = library.release_view(generation)
    actions = [] if view is not None else library.actions(generation)
    if isinstance(session, ToolSession):
        bound = session
    elif view is not None:
        bound = ToolSession(session, view.sources() if session is not None else {})
    else:
        bound = ToolSession(session, {a.name: a.source for a in actions})
    if isinstance(session, Sandbox):
        bound.open()  # a sandbox that cannot load should fail here, not at the first call
    wanted = None if names is None else set(names)
    tools: list[BaseTool] = []
    if include_base:
        tools += [
            base_action_tool(b, bound, raise_failures=raise_failures)
            for b in base_actions_of(library, session)
        ]
    if view is None:
        chosen = [a for a in actions if wanted is None or a.name in wanted]
        tools += [learned_action_tool(a, bound, raise_failures=raise_failures) for a in chosen]
        return tools
    from learnact_langgraph.library_tools import release_tools

    return tools + release_tools(view, bound, wanted, raise_failures)
