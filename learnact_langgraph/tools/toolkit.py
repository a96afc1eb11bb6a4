"""The live toolkit: tools that follow the library's newest release.

``library.as_tools(session)`` is a snapshot: an agent built before a release never
sees what it added. :class:`LearnedToolkit` is a LangChain ``BaseToolkit`` whose
``get_tools()`` reads the release pointer (one store read) and rebuilds only when it
moved, loading the new release into the same sandbox session.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from langchain_core.tools import BaseTool, BaseToolkit
from pydantic import ConfigDict, PrivateAttr

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.tools.learned import (
    ActionTool,
    SessionLike,
    ToolSession,
    base_action_tool,
    learned_action_tool,
)

if TYPE_CHECKING:
    from learnact_langgraph.library import ActionLibrary
    from learnact_langgraph.library_snapshot import ReleaseView

__all__ = ["LearnedToolkit", "LiveRelease"]

Pointer = tuple[int, frozenset[int]]


class LiveRelease:
    """The library's current release, re-read only when the release pointer moves.

    ``session`` (a :class:`ToolSession`) is kept loaded with the release's sources.
    """

    def __init__(self, library: ActionLibrary, session: ToolSession) -> None:
        self.library = library
        self.session = session
        self._lock = threading.Lock()
        self._pointer: Pointer | None = None
        self._actions: dict[str, LearnedAction] = {}
        #: The current release's snapshot (``None``: it has none, tools are built anew).
        self.view: ReleaseView | None = None

    def current(self) -> tuple[Pointer, dict[str, LearnedAction], bool]:
        """(pointer, actions by name, whether they changed since the last call)."""
        pointer = self.library.pointer()
        with self._lock:
            if pointer == self._pointer:
                return pointer, self._actions, False
            view = self.library.release_view(pointer[0])
            found = view.actions() if view is not None else self.library.actions(pointer[0])
            actions = {a.name: a for a in found}
            self.session.sync({n: a.source for n, a in actions.items()})
            self._pointer, self._actions, self.view = pointer, actions, view
            return pointer, actions, True


class LearnedToolkit(BaseToolkit):
    """Base-action tools plus one tool per action of the library's newest release.

    Build it with :meth:`ActionLibrary.toolkit <learnact_langgraph.library.ActionLibrary.toolkit>`.
    ``get_tools()`` is cheap when nothing changed (one read of the release pointer);
    after a release it returns the new set, and the session's sandbox has loaded it.
    Tools of unchanged actions are the same objects as before. ``raise_failures``
    makes failed calls raise :class:`~learnact_langgraph.tools.learned.ActionFailed`
    (for retry middleware); otherwise they return ``status="error"`` messages.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    library: Any
    session: Any = None
    include_base: bool = True
    raise_failures: bool = False
    #: Given to every tool this toolkit makes (see ``ActionTool.on_result``).
    on_result: Any = None

    _live: LiveRelease = PrivateAttr()
    _bound: ToolSession = PrivateAttr()
    _base: list[BaseTool] = PrivateAttr(default_factory=list)
    _learned: dict[tuple[str, int], BaseTool] = PrivateAttr(default_factory=dict)
    _tools: tuple[BaseTool, ...] | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any) -> None:
        given: SessionLike = self.session
        self._bound = given if isinstance(given, ToolSession) else ToolSession(given, {})
        self._live = LiveRelease(self.library, self._bound)
        if self.include_base:
            from learnact_langgraph.tools.learned import base_actions_of

            self._base = [
                self._own(base_action_tool(b, self._bound, raise_failures=self.raise_failures))
                for b in base_actions_of(self.library, given)
            ]

    def _own(self, tool: BaseTool) -> BaseTool:
        if self.on_result is not None and isinstance(tool, ActionTool):
            tool.on_result = self.on_result
        return tool

    @property
    def tool_session(self) -> ToolSession:
        """The session every tool of this toolkit runs in."""
        return self._bound

    def base_tools(self) -> list[BaseTool]:
        """The base actions' tools (they never change)."""
        return list(self._base)

    def learned_tools(self) -> list[BaseTool]:
        """Tools of the current release's learned actions only."""
        return list(self.current_learned())

    def current_learned(self) -> tuple[BaseTool, ...]:
        """The current release's learned tools, as one tuple that stays the same object
        until a release changes them: a caller that derives something from it (the
        middleware's tool list for the model) can keep that while ``is`` holds."""
        _, actions, changed = self._live.current()
        view = self._live.view
        with self._lock:
            if changed or self._tools is None:
                tools = {}
                for action in actions.values():
                    key = (action.name, action.version)
                    tools[key] = self._learned.get(key) or self._own(self._tool(action, view))
                self._learned = tools
                self._tools = tuple(tools.values())
            return self._tools

    def _tool(self, action: LearnedAction, view: ReleaseView | None) -> BaseTool:
        """A new action's tool: from the release snapshot's template when there is one."""
        from learnact_langgraph.library_tools import release_tool

        if view is not None and action.name in view:
            return release_tool(view, action.name, self._bound, self.raise_failures)
        return learned_action_tool(action, self._bound, raise_failures=self.raise_failures)

    def get_tools(self) -> list[BaseTool]:
        """Base tools and the newest release's learned tools."""
        return [*self._base, *self.learned_tools()]

    def close(self) -> None:
        """Close the sandbox this toolkit started (a given Sandbox is left open)."""
        self._bound.close()
