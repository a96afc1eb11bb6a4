"""Tools of a release from its snapshot: one template per action, copied per session.

Building a ``StructuredTool`` checks every field and the argument schema was built
from the signature each time: at 10,000 actions ``as_tools`` took seconds. Here each
released action gets a *template* tool once per release and process (kept with the
snapshot shard, made from its stored parameters, description and JSON schema), and
``as_tools(session)`` makes a plain copy of it bound to the session. The tools are
the ones ``tools.learned.learned_action_tool`` makes (tests compare them).
"""

from __future__ import annotations

from collections.abc import Set
from functools import lru_cache, partial
from typing import Any

from learnact_langgraph.library_cache import gc_paused
from learnact_langgraph.library_snapshot import ReleaseView
from learnact_langgraph.tools.learned import ActionTool, ToolSession, action_tool, runner
from learnact_langgraph.tools.schema import (
    SCHEMA_FORMAT,
    ParamTriples,
    action_params,
    json_args_schema,
)

__all__ = ["bound_tool", "release_tool", "release_tools"]


def release_tools(
    view: ReleaseView, session: ToolSession, wanted: Set[str] | None, raise_failures: bool
) -> list[ActionTool]:
    """The tools of ``view``'s actions (those in ``wanted``, or all), calling ``session``."""
    with gc_paused():
        return [
            release_tool(view, name, session, raise_failures)
            for name in view.names
            if wanted is None or name in wanted
        ]


def release_tool(
    view: ReleaseView, name: str, session: ToolSession, raise_failures: bool
) -> ActionTool:
    """The tool of one of ``view``'s actions, calling ``session``."""
    template = view.memo(name, "tool", partial(_template, name, view.entry(name)))
    return bound_tool(template, session, raise_failures)


def _template(name: str, entry: dict[str, Any]) -> ActionTool:
    """A released action's tool bound to no session, made once per release and process
    from its snapshot entry (parameters, description and schema stored at publish).

    It is :func:`_action_tool`'s tool, copied from one made that way (``from_function``
    strips the description and checks fields of the types given here).
    """
    params: ParamTriples = tuple((n, a, d) for n, a, d in entry["params"])
    schema = entry.get("schema") if entry.get("schema_format") == SCHEMA_FORMAT else None
    if schema is None:
        schema = json_args_schema(name, action_params(params))
    return _copy_tool(
        _prototype(),
        name=name,
        description=str(entry["described"]).strip(),
        args_schema=schema,
        params=params,
        metadata={"learnact": "learned", "version": int(entry["record"]["version"])},
        func=runner(_UNBOUND, name, params),
    )


#: The session of templates: none, so a template's tool refuses to run (as ``as_tools(None)``).
_UNBOUND = ToolSession(None, {})


@lru_cache(maxsize=1)
def _prototype() -> ActionTool:
    schema = {"properties": {}, "title": "prototype_args", "type": "object"}
    meta = {"learnact": "learned", "version": 0}
    return action_tool("prototype", "Prototype.", (), ToolSession(None, {}), meta, False, schema)


def bound_tool(template: ActionTool, session: ToolSession, raise_failures: bool) -> ActionTool:
    """A copy of ``template`` calling ``session``: the tool ``learned_action_tool`` makes,
    without building its schema and checking its fields again."""
    return _copy_tool(
        template,
        func=runner(session, template.name, template.params or ()),
        metadata=dict(template.metadata or {}),
        raise_failures=raise_failures,
    )


def _copy_tool(template: ActionTool, **values: Any) -> ActionTool:
    """``template.model_copy(update=values)`` for fields ``template`` has set, none of
    them one the tool-call schema memo depends on, made directly: at 10,000 actions
    the copies were most of the time of ``as_tools``."""
    tool = ActionTool.__new__(ActionTool)
    fields = template.__dict__.copy()
    fields.update(values)
    object.__setattr__(tool, "__dict__", fields)
    object.__setattr__(tool, "__pydantic_fields_set__", set(template.__pydantic_fields_set__))
    object.__setattr__(tool, "__pydantic_extra__", None)
    object.__setattr__(tool, "__pydantic_private__", dict(_PRIVATE))
    return tool


_PRIVATE = {k: a.get_default() for k, a in ActionTool.__private_attributes__.items()}
