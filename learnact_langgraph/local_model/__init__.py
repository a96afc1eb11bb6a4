"""A local OpenAI-compatible model server that sets itself up: ``learnact local-model``.

:func:`ensure_server` downloads Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, 1.05 GB, pinned by
hash), builds llama-cpp-python's server in a venv of its own (portable CPU flags) and
starts it on 127.0.0.1 in the background; clients name the model :data:`MODEL_ALIAS` at
:func:`endpoint`. ``--model local`` (see :mod:`learnact_langgraph.models`) connects to
it. Importing this package is cheap (standard library only), since model resolution does.

The model is for offline demos and smoke tests of the mechanics, not for solving tasks;
see ``docs/local-model.md`` for the measurements behind these choices.
"""

from __future__ import annotations

from learnact_langgraph.local_model.install import (
    CMAKE_ARGS,
    DIR_ENV_VAR,
    FIRST_TIME_NOTE,
    MODEL_FILE,
    MODEL_SHA256,
    MODEL_SIZE,
    RUNTIME_SPEC,
    LocalModelError,
    Progress,
    cache_dir,
    ensure_model,
    ensure_runtime,
    model_path,
    model_present,
    no_progress,
    runtime_installed,
    venv_python,
)
from learnact_langgraph.local_model.server import (
    DEFAULT_PORT,
    MODEL_ALIAS,
    PORT_ENV_VAR,
    LocalStatus,
    ServerInfo,
    endpoint,
    ensure_server,
    server_running,
    start_server,
    status,
    stop_server,
)

__all__ = [
    "CMAKE_ARGS",
    "DEFAULT_PORT",
    "DIR_ENV_VAR",
    "FIRST_TIME_NOTE",
    "MODEL_ALIAS",
    "MODEL_FILE",
    "MODEL_SHA256",
    "MODEL_SIZE",
    "PORT_ENV_VAR",
    "RUNTIME_SPEC",
    "LocalModelError",
    "LocalStatus",
    "Progress",
    "ServerInfo",
    "cache_dir",
    "endpoint",
    "ensure_model",
    "ensure_runtime",
    "ensure_server",
    "model_path",
    "model_present",
    "no_progress",
    "runtime_installed",
    "server_running",
    "start_server",
    "status",
    "stop_server",
    "venv_python",
]
