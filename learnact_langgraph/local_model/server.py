"""Start, find and stop the local OpenAI-compatible server (``python -m llama_cpp.server``).

The server runs detached in its own session so it outlives ``learnact local-model serve``;
``server.json`` in :func:`~learnact_langgraph.local_model.install.cache_dir` records its
pid and port, which is how ``status``, ``stop`` and :func:`endpoint` find it again. Before
signalling a recorded pid we check its command line, since after a reboot the pid may
belong to something else. The GGUF's own chat template is used (no ``--chat_format``):
``chatml-function-calling`` HTML-escapes prompts, and the model then copies ``&#39;``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Any

from learnact_langgraph.local_model import install
from learnact_langgraph.local_model.install import LocalModelError, Progress, no_progress

MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"
DEFAULT_PORT = 8767
PORT_ENV_VAR = "LEARNACT_LOCAL_PORT"
#: Seconds to wait for a started server to answer ``/v1/models``.
START_TIMEOUT = 180.0
SERVER_MARK = "llama_cpp.server"
#: Servers this process started, so stopping them also reaps them (no zombies in tests).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ServerInfo:
    """A running server: ``started`` is False when it was already running."""

    base_url: str
    pid: int
    port: int
    started: bool
    log: Path


def state_file() -> Path:
    return install.cache_dir() / "server.json"


def log_file() -> Path:
    return install.cache_dir() / "server.log"


def _read_state() -> dict[str, Any] | None:
    try:
        state = json.loads(state_file().read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(state, dict) and isinstance(state.get("pid"), int)
    return state if ok and isinstance(state.get("port"), int) else None


def configured_port() -> int:
    """``$LEARNACT_LOCAL_PORT``, else :data:`DEFAULT_PORT`."""
    raw = os.environ.get(PORT_ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise LocalModelError(f"{PORT_ENV_VAR} must be a port number 1-65535, got {raw!r}.")
    return int(raw)


def url_for(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1"


def endpoint() -> str:
    """The base URL of the recorded server, else of the configured (or default) port."""
    state = _read_state()
    return url_for(state["port"] if state else configured_port())


def server_running(base_url: str | None = None, timeout: float = 2.0) -> bool:
    """``GET {base_url}/models`` answers 200 (proxies bypassed: it is on loopback).

    llama-cpp's ``/v1/models`` waits for the model lock, so while a long completion runs
    it answers late: a connection that was accepted but timed out waiting for the answer
    counts as running, or a busy server would be reported down (and restarted).
    """
    url = (base_url or endpoint()).rstrip("/") + "/models"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return bool(resp.status == 200)
    except TimeoutError:  # connected and sent; urllib wraps connect timeouts in URLError
        return True
    except (OSError, HTTPException, ValueError):
        return False


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie still answers kill(0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        pass
    try:  # no /proc (macOS)
        ps = ["ps", "-o", "command=", "-p", str(pid)]
        return subprocess.run(ps, capture_output=True, text=True).stdout
    except OSError:
        return ""


def is_server_process(pid: int) -> bool:
    """``pid`` is alive and runs ``llama_cpp.server`` (not a process that reused the pid)."""
    return _alive(pid) and SERVER_MARK in _cmdline(pid)


def running_server() -> ServerInfo | None:
    """The recorded server if its process is alive and it answers, else None."""
    state = _read_state()
    if state is None or not is_server_process(state["pid"]):
        return None
    base_url = str(state.get("base_url") or url_for(state["port"]))
    if not server_running(base_url):
        return None
    log = Path(state.get("log") or log_file())
    return ServerInfo(base_url, state["pid"], state["port"], False, log)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def server_command(python: Path, model: Path, port: int, threads: int, n_ctx: int) -> list[str]:
    """The command line of the server (``--model_alias`` names the model for clients)."""
    return [
        str(python), "-m", "llama_cpp.server", "--model", str(model),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_threads", str(threads), "--n_threads_batch", str(threads),
        "--n_ctx", str(n_ctx), "--model_alias", MODEL_ALIAS,
    ]  # fmt: skip


def start_server(
    *,
    port: int | None = None,
    threads: int | None = None,
    n_ctx: int = 8192,
    progress: Progress = no_progress,
) -> ServerInfo:
    """Launch the server in the background and wait until it answers (or return the one
    already running). The model and runtime must be set up (see :func:`ensure_server`)."""
    current = running_server()
    if current is not None:
        return current
    stop_server()  # a stale record, or a recorded server that stopped answering
    model, python = install.model_path(), install.venv_python()
    if not install.model_present() or not python.exists():
        raise LocalModelError(
            "The local model or its runtime is not set up; run `learnact local-model serve`."
        )
    port = port or configured_port()
    base_url = url_for(port)
    if not _port_free(port):
        raise LocalModelError(
            f"Port {port} on 127.0.0.1 is already in use by another program; pick another "
            f"with `learnact local-model serve --port N` or {PORT_ENV_VAR}."
        )
    threads = max(1, threads or min(install.cpu_count(), 4))
    cmd = server_command(python, model, port, threads, n_ctx)
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    progress("server", f"starting the server on {base_url} with {threads} thread(s)")
    log = log_file()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True, close_fds=True,
        )  # fmt: skip
    _CHILDREN[proc.pid] = proc
    state = {"pid": proc.pid, "port": port, "base_url": base_url, "log": str(log)}
    state["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    state_file().write_text(json.dumps(state, indent=2) + "\n")
    try:
        _wait_until_up(proc, base_url, log, progress)
    except BaseException:
        stop_server()
        raise
    progress("server", f"server ready at {base_url}")
    return ServerInfo(base_url, proc.pid, port, True, log)


def _wait_until_up(
    proc: subprocess.Popen[bytes], base_url: str, log: Path, progress: Progress
) -> None:
    start = time.monotonic()
    while not server_running(base_url, timeout=1.0):
        waited = time.monotonic() - start
        if proc.poll() is not None:
            raise LocalModelError(
                f"The local model server exited with code {proc.returncode} while starting "
                f"(last lines: {install._tail(log)}); see {log}."
            )
        if waited > START_TIMEOUT:
            raise LocalModelError(
                f"The local model server did not answer within {START_TIMEOUT:.0f} s (last "
                f"lines: {install._tail(log)}); see {log}, the machine may be too busy."
            )
        progress("server", f"loading the model ({install.elapsed(waited)})", transient=True)
        time.sleep(0.5)


def ensure_server(progress: Progress | None = None, **kwargs: Any) -> ServerInfo:
    """Set up whatever is missing (model, runtime), then start the server (or find it).

    ``kwargs`` go to :func:`start_server` (``port``, ``threads``, ``n_ctx``).
    """
    progress = progress or no_progress
    with install.setup_lock(progress):
        current = running_server()
        if current is not None:
            return current
        if not install.model_present() or not install.runtime_installed():
            progress("setup", install.FIRST_TIME_NOTE)
        install.ensure_model(progress)
        install.ensure_runtime(progress)
        return start_server(progress=progress, **kwargs)


def stop_server(timeout: float = 10.0) -> bool:
    """Stop the recorded server (its whole process group); False if none was running.

    A recorded pid that now belongs to another program is left alone.
    """
    state = _read_state()
    state_file().unlink(missing_ok=True)
    if state is None or not is_server_process(state["pid"]):
        return False
    pid = state["pid"]
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    _CHILDREN.pop(pid, None)
    return True


def _signal(pid: int, sig: signal.Signals) -> None:
    """Signal ``pid``'s process group when it leads one (as started), else just ``pid``."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


@dataclass(frozen=True)
class LocalStatus:
    """What is set up and what runs, for ``learnact local-model status``."""

    cache_dir: Path
    model_path: Path
    model_size: int | None
    runtime_installed: bool
    server_url: str
    server_pid: int | None
    running: bool
    parts: int = 0

    @property
    def model_present(self) -> bool:
        return self.model_size == install.MODEL_SIZE

    def lines(self) -> list[str]:
        if self.model_size is not None and self.model_present:
            model = f"present, {self.model_size / 2**30:.2f} GiB ({self.model_path})"
        elif self.model_size is not None:
            model = f"incomplete, {self.model_size} B ({self.model_path})"
        elif self.parts:
            model = f"not joined yet ({self.parts}/{len(install.PARTS)} parts downloaded)"
        else:
            model = "not downloaded (about 1.05 GB; `learnact local-model serve` fetches it)"
        runtime = (
            f"installed ({install.RUNTIME_SPEC})"
            if self.runtime_installed
            else "not installed (`learnact local-model serve` builds it, 4-16 min)"
        )
        server = (
            f"running at {self.server_url} (pid {self.server_pid}, model {MODEL_ALIAS})"
            if self.running
            else f"not running (would listen at {self.server_url})"
        )
        return [
            f"cache: {self.cache_dir}",
            f"model: {model}",
            f"runtime: {runtime}",
            f"server: {server}",
        ]


def status() -> LocalStatus:
    """The model, runtime and server state; never starts or changes anything."""
    path = install.model_path()
    size = path.stat().st_size if path.is_file() else None
    current = running_server()
    return LocalStatus(
        cache_dir=install.cache_dir(),
        model_path=path,
        model_size=size,
        runtime_installed=install.runtime_installed(),
        server_url=current.base_url if current else endpoint(),
        server_pid=current.pid if current else None,
        running=current is not None,
        parts=sum((install.cache_dir() / "parts" / name).is_file() for name, _ in install.PARTS),
    )
