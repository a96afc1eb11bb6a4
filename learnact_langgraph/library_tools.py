"""Tools of a release from its snapshot: one template per action, copied per session.

Building a ``StructuredTool`` checks every field and the argument schema was built
from the signature each time: at 10,000 actions ``as_tools`` took seconds. Here each
released action gets a *template* once per release and process (kept with the
snapshot shard, made from its stored parameters, description and JSON schema), and
``as_tools(session)`` makes a tool of it bound to the session. The tools are the ones
``tools.learned.learned_action_tool`` makes (tests compare them).

Every call makes new tool objects: callers change their tools (``LearnedToolkit``
sets ``on_result``, a validating model is kept in a tool's private state at its first
call), so tools are never shared between two ``as_tools`` calls. What is shared is
immutable: the template's strings, the stored schema dict and the parameter tuple.
"""

from __future__ import annotations

from collections.abc import Set
from functools import lru_cache
from typing import Any, NamedTuple

from learnact_langgraph.library_cache import gc_paused
from learnact_langgraph.library_snapshot import ReleaseView
from learnact_langgraph.tools.learned import ActionTool, ToolSession, action_tool, runner
from learnact_langgraph.tools.schema import (
    SCHEMA_FORMAT,
    ParamTriples,
    action_params,
    json_args_schema,
)

__all__ = ["ToolTemplate", "bound_tool", "release_tool", "release_tools"]


class ToolTemplate(NamedTuple):
    """What one released action's tool holds beyond the fields every such tool shares.

    A tuple rather than a tool: binding a template then reads one small object and the
    few values it points to, instead of a whole tool's field dict, which at 10,000
    actions was most of the memory traffic of ``as_tools``.
    """

    name: str
    description: str
    args_schema: dict[str, Any]
    params: ParamTriples
    version: int


def release_tools(
    view: ReleaseView, session: ToolSession, wanted: Set[str] | None, raise_failures: bool
) -> list[ActionTool]:
    """The tools of ``view``'s actions (those in ``wanted``, or all), calling ``session``.

    All of them come from the view's list of templates; a few (``names=``) from those
    actions' own, so asking for one tool never makes the other templates.
    """
    with gc_paused():
        if wanted is None:
            templates = view.derived("tool templates", lambda: _templates(view))
        else:
            templates = [_template_of(view, n) for n in view.names if n in wanted]
        return [bound_tool(t, session, raise_failures) for t in templates]


def release_tool(
    view: ReleaseView, name: str, session: ToolSession, raise_failures: bool
) -> ActionTool:
    """The tool of one of ``view``'s actions, calling ``session``."""
    return bound_tool(_template_of(view, name), session, raise_failures)


def _templates(view: ReleaseView) -> list[ToolTemplate]:
    """Every template of ``view``, in name order (made once per view)."""
    return [_template_of(view, name) for name in view.names]


def _template_of(view: ReleaseView, name: str) -> ToolTemplate:
    """One action's template, made once per shard: releases that leave the action's
    shard alone share it."""
    return view.memo(name, "tool", lambda: _template(name, view.entry(name)))


def _template(name: str, entry: dict[str, Any]) -> ToolTemplate:
    """A released action's template, from its snapshot entry (parameters, description
    and schema stored at publish); the schema is built again only for an entry written
    with an older schema format."""
    params: ParamTriples = tuple((n, a, d) for n, a, d in entry["params"])
    schema = entry.get("schema") if entry.get("schema_format") == SCHEMA_FORMAT else None
    if schema is None:
        schema = json_args_schema(name, action_params(params))
    described = str(entry["described"]).strip()
    return ToolTemplate(name, described, schema, params, int(entry["record"]["version"]))


class _Shared(NamedTuple):
    """The field dict, set fields and private state every learned-action tool starts from."""

    fields: dict[str, Any]
    fields_set: frozenset[str]
    private: dict[str, Any]


@lru_cache(maxsize=1)
def _shared() -> _Shared:
    """Taken from a tool ``action_tool`` made (``from_function`` strips the description
    and checks every field), so the copies have exactly its fields, in its order."""
    schema = {"properties": {}, "title": "prototype_args", "type": "object"}
    meta = {"learnact": "learned", "version": 0}
    proto = action_tool("prototype", "Prototype.", (), ToolSession(None, {}), meta, False, schema)
    private = {k: a.get_default() for k, a in ActionTool.__private_attributes__.items()}
    return _Shared(dict(proto.__dict__), frozenset(proto.__pydantic_fields_set__), private)


def bound_tool(template: ToolTemplate, session: ToolSession, raise_failures: bool) -> ActionTool:
    """The tool ``learned_action_tool`` makes for ``template``'s action, calling
    ``session``, made directly: no schema built and no field checked again (they were,
    for the prototype tool whose fields these copy)."""
    shared = _shared()
    name, params = template.name, template.params
    fields = shared.fields.copy()
    fields["name"] = name
    fields["description"] = template.description
    fields["args_schema"] = template.args_schema
    fields["metadata"] = {"learnact": "learned", "version": template.version}
    fields["func"] = runner(session, name, params)
    fields["raise_failures"] = raise_failures
    fields["params"] = params
    tool = ActionTool.__new__(ActionTool)
    object.__setattr__(tool, "__dict__", fields)
    object.__setattr__(tool, "__pydantic_fields_set__", set(shared.fields_set))
    object.__setattr__(tool, "__pydantic_extra__", None)
    object.__setattr__(tool, "__pydantic_private__", shared.private.copy())
    return tool
