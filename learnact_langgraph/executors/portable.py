"""Models that travel to other processes (Ray workers) and come back to life there.

A job sent to a Ray worker is pickled, and so is every model in it. A scripted model
pickles as it is; a client model (``ChatOpenAI``) holds locks and sockets and does not.
Those travel as LangChain's own serialised form (``dumpd``), with API keys left out:
the worker reads them from its own environment, which is where a cluster keeps its
secrets (a key it lacks is a placeholder, as for a model named here: an
OpenAI-compatible server needs none). Callbacks bound to a model stay behind. A model
that travels neither way is refused before any job starts, with a sentence that says
what to pass instead.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from learnact_langgraph.errors import LearnActError

__all__ = ["PortableModel", "portable"]

_BUILT: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class PortableModel:
    """A model in a form that pickles: the model itself, or its LangChain serialised form."""

    pickled: bytes = b""
    serialised: Any = None

    def build(self) -> Any:
        """The model, built once per process per recipe (its clients are reused)."""
        key = hashlib.sha256(self.pickled or repr(self.serialised).encode()).hexdigest()
        with _LOCK:
            model = _BUILT.get(key)
        if model is None:
            model = pickle.loads(self.pickled) if self.pickled else _load(self.serialised)
            with _LOCK:
                model = _BUILT.setdefault(key, model)
        return model


def portable(model: Any, role: str) -> Any:
    """``model`` as it can travel: ``None`` and strings as they are, else a
    :class:`PortableModel`; raises :class:`LearnActError` when it cannot travel."""
    if model is None or isinstance(model, str):
        return model
    model = _without_callbacks(model)
    try:
        import cloudpickle

        return PortableModel(pickled=cloudpickle.dumps(model))
    except Exception as exc:  # whatever pickling raised, the next way may still work
        reason = f"{type(exc).__name__}: {exc}"
    try:
        from langchain_core.load import dumpd

        data = dumpd(model)
        if _has_unloadable(data):
            raise ValueError("parts of it are not serialisable")
        _load(data)
        return PortableModel(serialised=data)
    except Exception as exc:  # refused below, with both reasons
        reason = f"{reason}; {type(exc).__name__}: {exc}"
    raise LearnActError(
        f"The {role} model ({type(model).__name__}) cannot be sent to Ray workers ({reason}); "
        "give it by name (an init_chat_model string such as 'openai:gpt-4o-mini') or use "
        "the local executor."
    )


def _without_callbacks(model: Any) -> Any:
    """``model`` without the callbacks bound to it: they observe calls in this process
    (progress, a stop request) and hold locks; a worker's calls report back through the
    usage its job returns."""
    from langchain_core.runnables import RunnableBinding

    if not isinstance(model, RunnableBinding):
        return model
    inner = _without_callbacks(model.bound)
    config = {k: v for k, v in (model.config or {}).items() if k != "callbacks"}
    if not config and not model.kwargs and not model.config_factories:
        return inner
    return model.model_copy(update={"bound": inner, "config": config})


def _has_unloadable(data: Any) -> bool:
    if isinstance(data, dict):
        if data.get("type") == "not_implemented":
            return True
        return any(_has_unloadable(v) for v in data.values())
    if isinstance(data, list):
        return any(_has_unloadable(v) for v in data)
    return False


def _load(data: Any) -> Any:
    """The model ``data`` describes, its secrets read from this process's environment.

    A secret the environment lacks gets a placeholder, as a model named by a string
    does here: an OpenAI-compatible server (the local model, vLLM) needs none, and a
    provider that does answers the first call with an authentication error.
    """
    from langchain_core.load import load

    secrets = {key: os.environ.get(key) or "not-needed" for key in _secret_ids(data)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(data, secrets_map=secrets, allowed_objects="all")


def _secret_ids(data: Any) -> set[str]:
    if isinstance(data, dict):
        if data.get("type") == "secret":
            return {str(i) for i in data.get("id", [])}
        return set().union(*(_secret_ids(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(_secret_ids(v) for v in data))
    return set()
