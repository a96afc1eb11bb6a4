"""Tools for agents facing thousands of learned actions: find a few, then run one.

In the style of langgraph-bigtool: instead of binding every learned action as a tool
(thousands of schemas in every prompt), the agent gets ``retrieve_actions(query)``,
which returns the signatures and descriptions of the ``k`` best matches from
``ActionLibrary.search``, and ``run_action(name, arguments)``, which runs one of them
in the sandbox. Base actions stay ordinary tools.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field

from learnact_langgraph.tools.learned import (
    ActionTool,
    SessionLike,
    ToolSession,
    base_action_tool,
)
from learnact_langgraph.tools.toolkit import LiveRelease

if TYPE_CHECKING:
    from learnact_langgraph.library import ActionLibrary

__all__ = ["retrieval_tools"]


class _RetrieveArgs(BaseModel):
    query: str = Field(description="What the action should do, in a few words.")


class _RunArgs(BaseModel):
    name: str = Field(description="The learned action's name, as retrieve_actions listed it.")
    arguments: dict[str, Any] = Field(
        default_factory=dict, description="Argument name -> value, as in its signature."
    )


def retrieval_tools(
    library: ActionLibrary, session: SessionLike = None, *, k: int = 5, include_base: bool = True
) -> list[BaseTool]:
    """``[*base action tools, retrieve_actions, run_action]`` over the newest release.

    Both follow the library as it changes: each call reads the release pointer and
    loads a new release into the session first. A failed or malformed ``run_action``
    call comes back with ``status="error"``.
    """
    bound = session if isinstance(session, ToolSession) else ToolSession(session, {})
    live = LiveRelease(library, bound)
    live.current()

    def retrieve_actions(query: str) -> tuple[str, list[str]]:
        live.current()
        hits = library.search(query, k)
        if not hits:
            return "No learned action matches that; try other words or use base actions.", []
        lines = [f"{a.signature}: {a.full_description()}" for a in hits]
        return "\n".join(lines), [a.name for a in hits]

    def run_action(name: str, arguments: dict[str, Any] | None = None) -> tuple[str, Any]:
        action = live.current()[1].get(name)
        if action is None:
            raise ToolException(
                f"There is no learned action {name!r}; call retrieve_actions first."
            )
        arguments = arguments or {}
        unknown = set(arguments) - {p.name for p in action.params}
        if unknown:
            raise ToolException(f"{action.signature} has no parameter(s) {sorted(unknown)}.")
        args = []
        for p in action.params:
            if p.name not in arguments:
                if p.required:
                    raise ToolException(f"{action.signature} needs a value for {p.name!r}.")
                break
            args.append(arguments[p.name])
        result = bound.call(name, *args)
        return result.observation, dataclasses.asdict(result)

    tools: list[BaseTool] = []
    if include_base:
        tools += [base_action_tool(b, bound) for b in library.base_actions]
    tools.append(
        StructuredTool.from_function(
            func=retrieve_actions,
            name="retrieve_actions",
            description="Find learned actions for a sub-goal; returns their signatures and "
            "descriptions. Run one with run_action.",
            args_schema=_RetrieveArgs,
            response_format="content_and_artifact",
        )
    )
    tools.append(
        ActionTool.from_function(
            func=run_action,
            name="run_action",
            description="Run a learned action found with retrieve_actions.",
            args_schema=_RunArgs,
            response_format="content_and_artifact",
            handle_tool_error=True,
        )
    )
    return tools
