"""Usage accounting and the one function every model call goes through.

:func:`invoke_reply` records calls, tokens and wall time in a :class:`Usage` and says
whether the reply was cut off by the output cap (the provider's finish reason), so the
learner can tell a truncated answer from a wrong one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from learnact_langgraph.errors import LearnActError
from learnact_langgraph.models.specs import ModelError


@dataclass
class Usage:
    """LLM calls, tokens and wall time, per node and in total."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    by_node: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, node: str, calls: int, tin: int, tout: int, seconds: float) -> None:
        self.calls += calls
        self.input_tokens += tin
        self.output_tokens += tout
        self.seconds += seconds
        slot = self.by_node.setdefault(
            node, {"calls": 0, "input_tokens": 0, "output_tokens": 0, "seconds": 0.0}
        )
        slot["calls"] += calls
        slot["input_tokens"] += tin
        slot["output_tokens"] += tout
        slot["seconds"] += seconds

    def merge(self, other: Usage | dict[str, Any]) -> None:
        data = other if isinstance(other, dict) else other.to_dict()
        for node, slot in data.get("by_node", {}).items():
            self.add(
                node,
                int(slot["calls"]),
                int(slot["input_tokens"]),
                int(slot["output_tokens"]),
                float(slot["seconds"]),
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "seconds": round(self.seconds, 6),
            "by_node": {k: dict(v) for k, v in sorted(self.by_node.items())},
        }


def _estimate(text: str) -> int:
    return max(1, len(text) // 4)


#: Finish reasons that mean "the output cap cut the reply off" (OpenAI-style and others).
TRUNCATED_REASONS = frozenset({"length", "max_tokens", "MAX_TOKENS"})


@dataclass(frozen=True)
class Reply:
    """A model's text answer and whether the output cap cut it off."""

    text: str
    truncated: bool = False
    output_tokens: int = 0


def finish_reason(message: Any) -> str:
    meta = getattr(message, "response_metadata", None) or {}
    return str(
        meta.get("finish_reason") or meta.get("stop_reason") or meta.get("done_reason") or ""
    )


def _messages(prompt: str | list[BaseMessage], system: str | None) -> list[BaseMessage]:
    messages: list[BaseMessage] = (
        [HumanMessage(content=prompt)] if isinstance(prompt, str) else list(prompt)
    )
    return [SystemMessage(content=system), *messages] if system else messages


def _content_text(reply: Any) -> str:
    text = reply.content if isinstance(reply, AIMessage) else getattr(reply, "content", reply)
    if isinstance(text, list):
        text = "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in text
        )
    return str(text)


def invoke_reply(
    model: BaseChatModel,
    prompt: str | list[BaseMessage],
    *,
    usage: Usage | None = None,
    node: str = "llm",
    system: str | None = None,
    stop: list[str] | None = None,
) -> Reply:
    """Call a chat model; its text, whether it was cut off, and usage under ``node``."""
    messages = _messages(prompt, system)
    start = time.perf_counter()
    try:
        reply = model.invoke(messages, stop=stop) if stop else model.invoke(messages)
    except LearnActError:
        raise
    except Exception as exc:
        raise ModelError(f"The model call in {node!r} failed: {type(exc).__name__}: {exc}") from exc
    elapsed = time.perf_counter() - start
    text = _content_text(reply)
    meta = getattr(reply, "usage_metadata", None) or {}
    tin = int(meta.get("input_tokens") or _estimate("".join(str(m.content) for m in messages)))
    tout = int(meta.get("output_tokens") or _estimate(text))
    if usage is not None:
        usage.add(node, 1, tin, tout, elapsed)
    return Reply(text, finish_reason(reply) in TRUNCATED_REASONS, tout)


def invoke_text(
    model: BaseChatModel,
    prompt: str | list[BaseMessage],
    *,
    usage: Usage | None = None,
    node: str = "llm",
    system: str | None = None,
    stop: list[str] | None = None,
) -> str:
    """Call a chat model and return its text, recording usage under ``node``."""
    return invoke_reply(model, prompt, usage=usage, node=node, system=system, stop=stop).text
