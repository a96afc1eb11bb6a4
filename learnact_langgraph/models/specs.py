"""Model resolution: names and settings in, chat models out.

A model is named by an ``init_chat_model`` string (``"openai:gpt-4o-mini"``), an
OpenAI-compatible endpoint (``"openai:qwen@http://127.0.0.1:8767/v1"``), ``"local"``
(the model server of ``learnact local-model serve``), ``"scripted"`` (the offline
stand-in of :mod:`learnact_langgraph.testing`), or given as any chat model
(a ``BaseChatModel``, or a ``Runnable`` such as ``model.with_retry()``).

:class:`ModelSettings` carries the per-call output cap, timeout and base URL. The cap
is sent the way each server honours it: OpenAI's own endpoint reads
``max_completion_tokens``, but llama-cpp, vLLM and Ollama read ``max_tokens``, so
OpenAI-compatible endpoints get it in the request body.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableBinding

from learnact_langgraph.errors import LearnActError
from learnact_langgraph.validation import SettingError

MODEL_ENV_VAR = "LEARNACT_MODEL"
#: The model name that gives the offline scripted stand-in for every role.
SCRIPTED = "scripted"
#: The model name of the local server started by ``learnact local-model serve``.
LOCAL = "local"
#: Output caps used for the local model when none is set: code needs room, an action line
#: does not.
LOCAL_MAX_TOKENS = {"learner": 640, "agent": 160}
LOCAL_TIMEOUT = 600.0
#: What the package takes as a model: a chat model, or any ``Runnable`` that answers a
#: list of messages with a message (``model.with_retry()``, ``model.with_config(...)``).
ChatModel = BaseChatModel | Runnable[Any, Any]


class ModelError(LearnActError):
    """A model could not be created or called."""


@dataclass(frozen=True)
class ModelSettings:
    """Per-call limits and endpoint of a model made from a name.

    ``max_tokens`` caps each reply, ``timeout`` (seconds) bounds each call, and
    ``base_url`` points an ``openai:`` model at any OpenAI-compatible server. ``None``
    leaves the provider's default.
    """

    max_tokens: int | None = None
    timeout: float | None = None
    base_url: str | None = None

    def __post_init__(self) -> None:
        if self.max_tokens is not None and (
            isinstance(self.max_tokens, bool) or int(self.max_tokens) < 1
        ):
            raise SettingError(
                f"max_tokens must be a whole number of at least 1, got {self.max_tokens!r}."
            )
        if self.timeout is not None and not float(self.timeout) > 0:
            raise SettingError(
                f"timeout must be a number of seconds above 0, got {self.timeout!r}."
            )
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise SettingError(
                f"base_url must start with http:// or https://, got {self.base_url!r}."
            )


def scripted_latency(spec: str) -> float:
    """Seconds per call of a scripted spec: ``"scripted"`` 0, ``"scripted:200ms"`` 0.2,
    ``"scripted:1.5s"`` 1.5 (a stand-in for a remote model's wait)."""
    _, sep, wait = spec.strip().partition(":")
    if not sep:
        return 0.0
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s)", wait.strip())
    if match is None:
        raise ModelError(
            f"Cannot read {spec!r}: write the scripted model's wait per call as "
            "'scripted:200ms' or 'scripted:1.5s'."
        )
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def split_spec(spec: str) -> tuple[str, str | None]:
    """``("openai:qwen", "http://host/v1")`` from ``"openai:qwen@http://host/v1"``."""
    name, sep, url = spec.strip().rpartition("@")
    if sep and url.startswith(("http://", "https://")) and name:
        return name, url
    return spec.strip(), None


def resolve_model(
    spec: str | ChatModel | None,
    *,
    settings: ModelSettings | None = None,
    role: str = "agent",
    **kwargs: Any,
) -> ChatModel:
    """A chat model from a name (or ``$LEARNACT_MODEL``), or ``spec`` itself if it is one.

    ``spec`` may be any ``Runnable`` chat model, wrappers such as ``.with_retry()``
    included. ``role`` ("learner" or "agent") only picks the local model's default
    output cap.
    """
    if isinstance(spec, Runnable):
        return spec
    if spec is not None and not isinstance(spec, str):
        raise ModelError(
            f"A model must be an init_chat_model string or a chat model (a LangChain "
            f"Runnable), not {type(spec).__name__}."
        )
    spec = spec or os.environ.get(MODEL_ENV_VAR)
    if not spec:
        raise ModelError(
            f"No model is configured: set {MODEL_ENV_VAR} to an init_chat_model string "
            "such as 'openai:gpt-4o-mini', to 'local' for the local model server, or to "
            "'scripted' for the offline stand-in (or pass model=...)."
        )
    settings = settings or ModelSettings()
    if spec.strip().partition(":")[0] == SCRIPTED:
        from learnact_langgraph.testing import scripted_model

        latency = scripted_latency(spec)
        return scripted_model(latency=latency) if latency else scripted_model()
    if spec.strip() == LOCAL:
        return _local_model(settings, role, **kwargs)
    name, url = split_spec(spec)
    base_url = settings.base_url or url
    if base_url:
        return _compatible_model(name, base_url, settings, **kwargs)
    return _init_model(name, settings, **kwargs)


def _init_model(spec: str, settings: ModelSettings, **kwargs: Any) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    if settings.max_tokens is not None:
        kwargs.setdefault("max_tokens", settings.max_tokens)
    if settings.timeout is not None:
        kwargs.setdefault("timeout", settings.timeout)
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


def _compatible_model(
    name: str, base_url: str, settings: ModelSettings, **kwargs: Any
) -> BaseChatModel:
    """An ``openai:`` model on another OpenAI-compatible server (llama-cpp, vLLM, Ollama)."""
    provider, sep, model = name.partition(":")
    if not sep:
        provider, model = "openai", name
    if provider != "openai" or not model:
        raise ModelError(
            f"A base URL only works with OpenAI-compatible servers; name the model as "
            f"'openai:<model>@{base_url}', not {name!r}."
        )
    from langchain_openai import ChatOpenAI

    if settings.max_tokens is not None:
        kwargs["extra_body"] = {**kwargs.get("extra_body", {}), "max_tokens": settings.max_tokens}
    if settings.timeout is not None:
        kwargs.setdefault("timeout", settings.timeout)
    kwargs.setdefault("api_key", os.environ.get("OPENAI_API_KEY") or "not-needed")
    try:
        return ChatOpenAI(model=model, base_url=base_url, **kwargs)
    except Exception as exc:
        raise ModelError(f"Could not create the model {model!r} at {base_url}: {exc}") from exc


def _local_model(settings: ModelSettings, role: str, **kwargs: Any) -> BaseChatModel:
    from learnact_langgraph import local_model

    base_url = settings.base_url or local_model.endpoint()
    if not local_model.server_running(base_url):
        raise ModelError(
            f"The local model server is not answering at {base_url}; start it with "
            "`learnact local-model serve` (the first time it downloads and builds it)."
        )
    local = ModelSettings(
        max_tokens=settings.max_tokens or LOCAL_MAX_TOKENS.get(role, LOCAL_MAX_TOKENS["agent"]),
        timeout=settings.timeout or LOCAL_TIMEOUT,
        base_url=base_url,
    )
    kwargs.setdefault("max_retries", 1)
    return _compatible_model(f"openai:{local_model.MODEL_ALIAS}", base_url, local, **kwargs)


def model_id(model: Any) -> str:
    """A stable name of a model for provenance records, with its endpoint when not default.

    Wrappers (recording, replay) name the model they stand for via ``learnact_model_id``.
    """
    own = getattr(model, "learnact_model_id", None)
    if isinstance(own, str) and own:
        return own
    inner = _bound(model)
    if inner is not None:
        return model_id(inner)
    name = ""
    for attr in ("model_name", "model", "model_id", "deployment_name"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            name = value
            break
    kind = getattr(model, "_llm_type", type(model).__name__)
    ident = f"{kind}:{name}" if name else kind
    base = getattr(model, "openai_api_base", None)
    if isinstance(base, str) and base:
        ident += f"@{base}"
    return ident


def _bound(model: Any) -> Any:
    """The model inside a ``RunnableBinding`` (``with_retry``, ``bind``, ``with_config``)."""
    if isinstance(model, RunnableBinding) and isinstance(model.bound, Runnable):
        return model.bound
    return None


def resolve_roles(
    agent: str | ChatModel | None,
    learner: str | ChatModel | None = None,
    *,
    settings: ModelSettings | None = None,
    learner_temperature: float = 0.7,
    recording: Any = None,
) -> tuple[ChatModel, ChatModel]:
    """The acting and learning models; the learner defaults to the agent's name.

    The agent acts greedily (temperature 0) and the learner samples. A ``recording``
    (:class:`~learnact_langgraph.models.recording.Recording`) records both, or replays
    them without creating (or reaching) any model.
    """
    if recording is not None and recording.mode == "replay":
        return recording.wrap(None, "agent"), recording.wrap(None, "learner")
    agent_chat = resolve_model(agent, settings=settings, role="agent", temperature=0)
    if learner is None and isinstance(agent, Runnable):
        learner_chat = at_temperature(agent_chat, learner_temperature)
    else:
        learner_chat = resolve_model(
            learner if learner is not None else agent,
            settings=settings,
            role="learner",
            temperature=learner_temperature,
        )
    if recording is not None:
        return recording.wrap(agent_chat, "agent"), recording.wrap(learner_chat, "learner")
    return agent_chat, learner_chat


def at_temperature(model: ChatModel, temperature: float) -> ChatModel:
    """``model`` sampling at ``temperature`` (a copy), where the model has that setting.

    The learner samples K candidates; at temperature 0 they differ only by seed, so
    whichever model learns (its own, or the agent's) samples at the learner temperature.
    Recording wrappers pass it to the model they record; a replay has none to set.
    Wrappers (``with_retry``, ``bind``) keep wrapping the model at its new temperature.
    """
    inner = _bound(model)
    if inner is not None:
        changed = at_temperature(inner, temperature)
        if changed is inner:
            return model
        return model.model_copy(update={"bound": changed})  # type: ignore[union-attr]
    fields = getattr(type(model), "model_fields", {})
    if "inner" in fields and isinstance(getattr(model, "inner", None), Runnable):
        changed = at_temperature(model.inner, temperature)  # type: ignore[union-attr]
        if changed is model.inner:  # type: ignore[union-attr]
            return model
        return model.model_copy(update={"inner": changed})  # type: ignore[union-attr]
    if "temperature" in fields and getattr(model, "temperature", None) != temperature:
        return model.model_copy(update={"temperature": temperature})  # type: ignore[union-attr]
    return model


def temperature_of(model: Any) -> float | None:
    """The sampling temperature a model object is set to, for manifests (None: unknown)."""
    inner = getattr(model, "inner", None) or _bound(model)
    if isinstance(inner, Runnable):
        return temperature_of(inner)
    value = getattr(model, "temperature", None)
    return float(value) if isinstance(value, int | float) else None
