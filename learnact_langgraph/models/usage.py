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
from langchain_core.runnables import RunnableBinding

from learnact_langgraph.errors import LearnActError
from learnact_langgraph.models import retry
from learnact_langgraph.models.retry import RetryPolicy, classify, fatal_hint
from learnact_langgraph.models.specs import ChatModel, ModelError
from learnact_langgraph.models.tracing import call_config


@dataclass
class Usage:
    """LLM calls, tokens and wall time, per node and in total.

    ``calls`` counts answered calls; ``retries`` counts attempts that failed (a rate
    limit, a timeout) and were asked again, or that ended the call, so every request
    sent is in one of the two.
    """

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    retries: int = 0
    by_node: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(
        self, node: str, calls: int, tin: int, tout: int, seconds: float, retries: int = 0
    ) -> None:
        self.calls += calls
        self.input_tokens += tin
        self.output_tokens += tout
        self.seconds += seconds
        self.retries += retries
        slot = self.by_node.setdefault(
            node, {"calls": 0, "input_tokens": 0, "output_tokens": 0, "seconds": 0.0}
        )
        slot["calls"] += calls
        slot["input_tokens"] += tin
        slot["output_tokens"] += tout
        slot["seconds"] += seconds
        if retries:
            slot["retries"] = slot.get("retries", 0) + retries

    def merge(self, other: Usage | dict[str, Any]) -> None:
        data = other if isinstance(other, dict) else other.to_dict()
        for node, slot in data.get("by_node", {}).items():
            self.add(
                node,
                int(slot["calls"]),
                int(slot["input_tokens"]),
                int(slot["output_tokens"]),
                float(slot["seconds"]),
                int(slot.get("retries", 0)),
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "seconds": round(self.seconds, 6),
            "retries": self.retries,
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


def _brief(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _takes_stop(model: Any) -> bool:
    """Whether ``model`` takes ``stop=`` (chat models do; any other Runnable may not)."""
    while isinstance(model, RunnableBinding):
        model = model.bound
    return isinstance(model, BaseChatModel)


def _cut_at(reply: Any, stop: list[str]) -> Any:
    """``reply`` cut at its first stop sequence, as a server would have stopped."""
    text = _content_text(reply)
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    if cut < 0:
        return reply
    if isinstance(reply, AIMessage):
        return reply.model_copy(update={"content": text[:cut]})
    return AIMessage(content=text[:cut])


def _call(
    model: ChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    usage: Usage | None,
    node: str,
    policy: RetryPolicy | None,
    run_name: str | None = None,
) -> tuple[Any, float]:
    """One answer from ``model``, asking again after transient errors (see :mod:`.retry`)."""
    policy = policy or RetryPolicy.from_env()
    config = call_config(node, run_name)
    attempt = 0
    while True:
        attempt += 1
        start = time.perf_counter()
        try:
            if stop and _takes_stop(model):
                reply = model.invoke(messages, config, stop=stop)
            else:
                reply = model.invoke(messages, config)
                if stop:
                    reply = _cut_at(reply, stop)
            return reply, time.perf_counter() - start
        except LearnActError:
            raise
        except Exception as exc:
            verdict = classify(exc)
            if usage is not None:
                usage.add(node, 0, 0, 0, time.perf_counter() - start, retries=1)
            if verdict == "fatal":
                raise ModelError(
                    f"The model refused the call in {node!r} ({_brief(exc)}): {fatal_hint(exc)}."
                ) from exc
            if verdict == "other":
                raise ModelError(f"The model call in {node!r} failed: {_brief(exc)}") from exc
            if attempt >= policy.max_attempts:
                raise ModelError(
                    f"The model call in {node!r} still failed after {attempt} attempts "
                    f"({_brief(exc)}); the work finished so far is kept: run the same command "
                    "again later to resume."
                ) from exc
            retry.sleep(policy.delay(attempt))


def invoke_reply(
    model: ChatModel,
    prompt: str | list[BaseMessage],
    *,
    usage: Usage | None = None,
    node: str = "llm",
    system: str | None = None,
    stop: list[str] | None = None,
    policy: RetryPolicy | None = None,
    run_name: str | None = None,
) -> Reply:
    """Call a chat model; its text, whether it was cut off, and usage under ``node``.

    Transient errors (rate limits, timeouts, 5xx) are retried with backoff under
    ``policy``; each failed attempt counts in ``usage.retries``. The call is traced as
    ``run_name`` (default: the role of ``node``, see :mod:`.tracing`).
    """
    messages = _messages(prompt, system)
    reply, elapsed = _call(model, messages, stop, usage, node, policy, run_name)
    text = _content_text(reply)
    meta = getattr(reply, "usage_metadata", None) or {}
    tin = int(meta.get("input_tokens") or _estimate("".join(str(m.content) for m in messages)))
    tout = int(meta.get("output_tokens") or _estimate(text))
    if usage is not None:
        usage.add(node, 1, tin, tout, elapsed)
    return Reply(text, finish_reason(reply) in TRUNCATED_REASONS, tout)


def invoke_text(
    model: ChatModel,
    prompt: str | list[BaseMessage],
    *,
    usage: Usage | None = None,
    node: str = "llm",
    system: str | None = None,
    stop: list[str] | None = None,
    policy: RetryPolicy | None = None,
) -> str:
    """Call a chat model and return its text, recording usage under ``node``."""
    return invoke_reply(
        model, prompt, usage=usage, node=node, system=system, stop=stop, policy=policy
    ).text
