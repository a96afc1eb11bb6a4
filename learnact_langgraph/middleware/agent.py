"""``create_learnact_agent``: one call for a tool-calling agent that learns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from learnact_langgraph import prompts
from learnact_langgraph.middleware.middleware import LearnActMiddleware, When
from learnact_langgraph.models import resolve_model

__all__ = ["create_learnact_agent"]


def create_learnact_agent(
    model: Any,
    env_or_session: Any,
    *,
    library: Any,
    learner_model: Any = None,
    when: When = "end",
    background: bool = False,
    learnact: LearnActMiddleware | None = None,
    tools: Sequence[Any] = (),
    system_prompt: str | None = None,
    middleware: Sequence[Any] = (),
    **agent_kwargs: Any,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """A ``create_agent`` agent with the base tools, the learned toolkit and learning.

    ``model`` acts (a chat model or an ``init_chat_model`` string); it also learns
    unless ``learner_model`` is given. The :class:`LearnActMiddleware` is built from
    ``library``, ``when`` and ``background``, or passed ready-made as ``learnact``
    (keep a reference to it to call ``learn_now()`` or ``wait()``). It comes first in
    the middleware list, so ``middleware`` such as ``ToolRetryMiddleware`` runs inside
    it and sees failed calls. ``tools`` are your own extra tools; other keyword
    arguments go to ``create_agent`` (``checkpointer``, ``store``, ``name``, ...).
    """
    from langchain.agents import create_agent

    chat = resolve_model(model) if isinstance(model, str) or model is None else model
    mw = learnact or LearnActMiddleware(
        env_or_session,
        library=library,
        learner_model=learner_model,
        when=when,
        background=background,
    )
    if system_prompt is None:
        system_prompt = prompts.TOOL_AGENT_SYSTEM.format(instruction=mw.env.instruction)
    return create_agent(
        chat,  # type: ignore[arg-type]
        tools=list(tools),
        system_prompt=system_prompt,
        middleware=[mw, *middleware],
        **agent_kwargs,
    )
