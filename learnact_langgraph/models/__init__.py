"""Chat models: naming and settings (:mod:`.specs`), and calls with usage (:mod:`.usage`)."""

from learnact_langgraph.models.retry import RetryPolicy, TransientModelError
from learnact_langgraph.models.specs import (
    LOCAL,
    MODEL_ENV_VAR,
    SCRIPTED,
    ChatModel,
    ModelError,
    ModelSettings,
    at_temperature,
    model_id,
    resolve_model,
    resolve_roles,
    split_spec,
    temperature_of,
)
from learnact_langgraph.models.usage import Reply, Usage, invoke_reply, invoke_text

__all__ = [
    "LOCAL",
    "ChatModel",
    "RetryPolicy",
    "TransientModelError",
    "MODEL_ENV_VAR",
    "SCRIPTED",
    "ModelError",
    "ModelSettings",
    "Reply",
    "Usage",
    "at_temperature",
    "invoke_reply",
    "invoke_text",
    "model_id",
    "resolve_model",
    "resolve_roles",
    "split_spec",
    "temperature_of",
]
