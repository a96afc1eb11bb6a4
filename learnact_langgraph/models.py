"""Model resolution and usage accounting.

Models are ``init_chat_model`` strings (``"openai:gpt-4o-mini"``), any
``BaseChatModel``, or ``"scripted"``: the offline stand-in of
:mod:`learnact_langgraph.testing`, for demos and dry runs with no key. The learner and
the acting agent are separate settings. Every call goes through :func:`invoke_text`,
which records calls, tokens and wall time in a :class:`Usage` so runs can report what
they cost.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from learnact_langgraph.errors import LearnActError

MODEL_ENV_VAR = "LEARNACT_MODEL"
#: The model name that gives the offline scripted stand-in for every role.
SCRIPTED = "scripted"


class ModelError(LearnActError):
    """A model could not be created or called."""


def resolve_model(spec: str | BaseChatModel | None, **kwargs: Any) -> BaseChatModel:
    """A chat model from a ``provider:model`` string, an existing model, or ``$LEARNACT_MODEL``."""
    if isinstance(spec, BaseChatModel):
        return spec
    spec = spec or os.environ.get(MODEL_ENV_VAR)
    if not spec:
        raise ModelError(
            f"No model is configured: set {MODEL_ENV_VAR} to an init_chat_model string "
            "such as 'openai:gpt-4o-mini', or to 'scripted' for the offline stand-in "
            "(or pass model=...)."
        )
    if spec.strip() == SCRIPTED:
        from learnact_langgraph.testing import scripted_model

        return scripted_model()
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(spec, **kwargs)
    except ImportError as exc:
        raise ModelError(
            f"The model {spec!r} needs a provider package that is not installed ({exc}); "
            "install it with pip, e.g. `pip install langchain-anthropic`."
        ) from exc
    except ValueError as exc:
        raise ModelError(
            f"Cannot make a chat model from {spec!r} ({exc}); use a 'provider:model' "
            "string such as 'openai:gpt-4o-mini'."
        ) from exc
    except Exception as exc:  # provider constructors raise assorted errors (e.g. no API key)
        raise ModelError(f"Could not create the model {spec!r}: {exc}") from exc


def model_id(model: BaseChatModel) -> str:
    """A stable name of a model for provenance records."""
    for attr in ("model_name", "model", "model_id", "deployment_name"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return f"{model._llm_type}:{value}"
    return model._llm_type


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
    messages: list[BaseMessage]
    if isinstance(prompt, str):
        messages = [HumanMessage(content=prompt)]
    else:
        messages = list(prompt)
    if system:
        messages = [SystemMessage(content=system), *messages]
    start = time.perf_counter()
    try:
        reply = model.invoke(messages, stop=stop) if stop else model.invoke(messages)
    except LearnActError:
        raise
    except Exception as exc:
        raise ModelError(f"The model call in {node!r} failed: {type(exc).__name__}: {exc}") from exc
    elapsed = time.perf_counter() - start
    text = reply.content if isinstance(reply, AIMessage) else getattr(reply, "content", reply)
    if isinstance(text, list):
        text = "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in text
        )
    text = str(text)
    meta = getattr(reply, "usage_metadata", None) or {}
    tin = int(meta.get("input_tokens") or _estimate("".join(str(m.content) for m in messages)))
    tout = int(meta.get("output_tokens") or _estimate(text))
    if usage is not None:
        usage.add(node, 1, tin, tout, elapsed)
    return text
