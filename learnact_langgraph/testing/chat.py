"""The scripted chat model: replies are a function of the conversation, with no network.

A :class:`ScriptedChatModel` answers with a *function of the conversation*, so a test
can say "when the prompt asks for a revision, return this fix" instead of relying on
the order of calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

Responder = Callable[[list[BaseMessage]], "str | AIMessage"]


def _approx_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class ScriptedChatModel(BaseChatModel):
    """A chat model whose reply is ``respond(messages)``.

    ``bind_tools`` returns a copy with the tools in ``bound_tools`` (the model itself
    is left as it was, like a real chat model), so it works inside ``create_agent``
    and ``ToolNode`` graphs; the responder decides whether to
    return tool calls. Token usage is estimated (4 characters a token) so cost
    accounting has numbers to add up. ``calls`` records every prompt it was sent (a copy
    sent to another process, a Ray worker say, starts with none). ``latency`` seconds are
    slept before each reply, to stand in for a remote model in throughput benchmarks.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    respond: Callable[[list[BaseMessage]], Any]
    model_name: str = "scripted"
    # Out of the repr: langchain-core serializes a model on every call it makes (its
    # repr, for a model that is not serializable), and these grow with every call.
    bound_tools: list[Any] = Field(default_factory=list, repr=False)
    calls: list[list[BaseMessage]] = Field(default_factory=list, repr=False)
    #: Every tool list bound to it (shared with its bound copies), for tests to read.
    bindings: list[list[Any]] = Field(default_factory=list, repr=False)
    latency: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        """A copy with ``tools`` bound; it records its calls in this model's ``calls`` and
        the binding in its ``bindings``."""
        self.bindings.append(list(tools))
        return self.model_copy(update={"bound_tools": list(tools)})

    def __getstate__(self) -> dict[Any, Any]:
        state: dict[Any, Any] = super().__getstate__()
        state["__dict__"] = {**state["__dict__"], "calls": [], "bindings": []}
        return state

    def reply(self, messages: list[BaseMessage]) -> str | AIMessage:
        """The answer to ``messages``; subclasses may also look at ``bound_tools``."""
        reply: str | AIMessage = self.respond(messages)
        return reply

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(list(messages))
        if self.latency > 0:
            time.sleep(self.latency)
        reply = self.reply(list(messages))
        message = reply if isinstance(reply, AIMessage) else AIMessage(content=str(reply))
        if stop and isinstance(message.content, str):
            cut = min((message.content.find(s) for s in stop if s in message.content), default=-1)
            if cut >= 0:
                message = AIMessage(
                    content=message.content[:cut],
                    tool_calls=message.tool_calls,
                    response_metadata=message.response_metadata,
                )
        prompt_text = "".join(str(m.content) for m in messages)
        message.usage_metadata = message.usage_metadata or {
            "input_tokens": _approx_tokens(prompt_text),
            "output_tokens": _approx_tokens(str(message.content)),
            "total_tokens": _approx_tokens(prompt_text) + _approx_tokens(str(message.content)),
        }
        message.response_metadata = {"model_name": self.model_name, **message.response_metadata}
        return ChatResult(generations=[ChatGeneration(message=message)])


def scripted(
    respond: Callable[[list[BaseMessage]], Any], name: str = "scripted"
) -> ScriptedChatModel:
    """Shorthand: ``scripted(lambda msgs: "move('rooma', 'roomb')")``."""
    return ScriptedChatModel(respond=respond, model_name=name)


def last_text(messages: list[BaseMessage]) -> str:
    """The text of the last message (what most responders look at)."""
    return str(messages[-1].content) if messages else ""
