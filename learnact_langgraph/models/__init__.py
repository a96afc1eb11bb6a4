"""Chat models: naming and settings (:mod:`.specs`), and calls with usage (:mod:`.usage`)."""

from learnact_langgraph.models.specs import (
    LOCAL,
    MODEL_ENV_VAR,
    SCRIPTED,
    ModelError,
    ModelSettings,
    model_id,
    resolve_model,
    resolve_roles,
    split_spec,
)
from learnact_langgraph.models.usage import Reply, Usage, invoke_reply, invoke_text

__all__ = [
    "LOCAL",
    "MODEL_ENV_VAR",
    "SCRIPTED",
    "ModelError",
    "ModelSettings",
    "Reply",
    "Usage",
    "invoke_reply",
    "invoke_text",
    "model_id",
    "resolve_model",
    "resolve_roles",
    "split_spec",
]
