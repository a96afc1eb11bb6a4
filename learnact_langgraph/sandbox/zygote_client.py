"""The host's side of the zygote (``zygote.py``): one per host process, started lazily.

:func:`spawn` hands the worker's ends of two fresh pipes to the zygote, which forks a
warm worker in about a millisecond, against tens of milliseconds for a new
interpreter. One lock serialises the control socket, so any number of host threads
may start workers at once. A zygote that died (or stopped answering) is replaced on
the next spawn; where zygotes cannot work (no ``fork`` or no descriptor passing), or
one cannot start, :func:`spawn` returns ``None`` and the caller starts the worker as
its own interpreter, as before.

The host cannot ``waitpid`` a worker that is the zygote's child, so
:class:`ForkedWorker` asks the zygote for its exit status and has the zygote kill
and reap it (a pid the zygote has not reaped cannot be reused, so the kill never hits
another process).
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ZYGOTE = Path(__file__).with_name("zygote.py")
#: The only variable a worker (and so the zygote) gets: big blocks go back to the OS on free.
WORKER_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}
START_TIMEOUT_S = 20.0
#: How long a zygote may take to answer anything (a kill waits for the reaping).
ANSWER_TIMEOUT_S = 30.0
#: After a zygote failed to start, workers start as interpreters for this long.
RETRY_AFTER_S = 5.0

AVAILABLE = (
    sys.platform.startswith("linux")
    and hasattr(os, "fork")
    and hasattr(socket, "SCM_RIGHTS")
    and hasattr(socket, "SOCK_SEQPACKET")
    and hasattr(socket, "send_fds")
)


class ZygoteGone(Exception):
    """The zygote closed its socket, broke the protocol or stopped answering."""


class Zygote:
    """One running zygote and the host's end of its control socket."""

    def __init__(self) -> None:
        host, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            starter = subprocess.Popen(
                [sys.executable, "-I", "-S", "-B", str(ZYGOTE), str(child.fileno())],
                pass_fds=[child.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                env=dict(WORKER_ENV),
                start_new_session=True,
            )
        except BaseException:
            host.close()
            raise
        finally:
            child.close()
        try:
            starter.wait(START_TIMEOUT_S)  # it forks the real zygote and exits
            host.settimeout(START_TIMEOUT_S)
            hello = self._decode(host.recv(4096))
            self.pid = int(hello["pid"])
        except BaseException:
            host.close()
            starter.kill()
            starter.wait()
            raise
        host.settimeout(ANSWER_TIMEOUT_S)
        self.sock = host
        self.closed = False

    @staticmethod
    def _decode(data: bytes) -> dict[str, Any]:
        if not data:
            raise ZygoteGone("the zygote closed its socket")
        try:
            message = json.loads(data)
        except ValueError:
            raise ZygoteGone("the zygote sent a malformed answer") from None
        if not isinstance(message, dict):
            raise ZygoteGone("the zygote sent a malformed answer")
        return message

    def ask(self, request: dict[str, Any], fds: tuple[int, ...] = ()) -> dict[str, Any]:
        """One request and its answer (the caller holds the lock)."""
        data = json.dumps(request).encode()
        try:
            if fds:
                rights = array.array("i", fds).tobytes()
                self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
            else:
                self.sock.send(data)
            return self._decode(self.sock.recv(65536))
        except OSError as exc:  # includes socket timeouts
            raise ZygoteGone(str(exc)) from None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.zygote: Zygote | None = None
        self.broken_until = 0.0


_state = _State()


def _forget_after_fork() -> None:
    """A forked host must not share its parent's zygote (their requests would mix)."""
    global _state
    _state = _State()


if AVAILABLE:
    os.register_at_fork(after_in_child=_forget_after_fork)


def _drop(zygote: Zygote) -> None:
    zygote.close()
    if _state.zygote is zygote:
        _state.zygote = None


def current_pid() -> int | None:
    """The pid of this process's zygote, if one runs (for tests and tools)."""
    zygote = _state.zygote
    return None if zygote is None or zygote.closed else zygote.pid


def worker_pids() -> list[int]:
    """Live (not yet exited) workers forked by this process's zygote, found in /proc:
    for tests that count leftover workers (they are not the host's children)."""
    zygote, pids = current_pid(), list[int]()
    if zygote is None:
        return pids
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == zygote and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def prestart() -> None:
    """Start this process's zygote in the background if none runs yet, so the first
    worker does not wait for an interpreter to start (about 50 ms): for code that
    knows sandboxes are coming, such as a learner graph being built."""
    if AVAILABLE and _state.zygote is None and time.monotonic() >= _state.broken_until:
        threading.Thread(target=_ensure, name="learnact-zygote-start", daemon=True).start()


def _ensure() -> None:
    state = _state
    with state.lock:
        if state.zygote is None and time.monotonic() >= state.broken_until:
            try:
                state.zygote = Zygote()
            except (OSError, ValueError, KeyError, ZygoteGone, subprocess.SubprocessError):
                state.broken_until = time.monotonic() + RETRY_AFTER_S


def spawn(cwd: str, rfd: int, wfd: int) -> ForkedWorker | None:
    """A worker forked by the zygote, reading ``rfd`` and writing ``wfd`` (the caller
    closes its copies), or ``None`` when zygotes are unavailable now."""
    if not AVAILABLE:
        return None
    state = _state
    with state.lock:
        for _ in range(2):  # a dead zygote is replaced once per spawn
            zygote = state.zygote
            if zygote is None:
                if time.monotonic() < state.broken_until:
                    return None
                try:
                    zygote = state.zygote = Zygote()
                except (OSError, ValueError, KeyError, ZygoteGone, subprocess.SubprocessError):
                    state.broken_until = time.monotonic() + RETRY_AFTER_S
                    return None
            try:
                reply = zygote.ask({"op": "spawn", "cwd": cwd}, (rfd, wfd))
            except ZygoteGone:
                _drop(zygote)
                continue
            if isinstance(reply.get("pid"), int):
                return ForkedWorker(zygote, reply["pid"])
            raise OSError(f"the zygote could not start a worker: {reply.get('error')}")
    return None


class ForkedWorker:
    """A worker process that is the zygote's child, managed through the zygote."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None
        self.reaped = False

    def poll(self) -> int | None:
        return self.wait(0.0)

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status once the worker has ended (waiting up to ``timeout`` s)."""
        if self.returncode is not None or self.reaped:
            return self.returncode
        reply = self._ask({"op": "wait", "pid": self.pid, "timeout": timeout or 0.0})
        if reply is not None and isinstance(reply.get("status"), int):
            self.returncode = reply["status"]
        return self.returncode

    def kill(self) -> None:
        """SIGKILL the worker's process group and have it reaped."""
        if self.reaped:
            return
        reply = self._ask({"op": "kill", "pid": self.pid})
        if reply is None:  # its zygote is gone: the worker is an orphan, init reaps it
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        elif isinstance(reply.get("status"), int):
            self.returncode = reply["status"]
        self.reaped = True

    def _ask(self, request: dict[str, Any]) -> dict[str, Any] | None:
        with _state.lock:
            if self.zygote.closed or self.zygote is not _state.zygote:
                return None
            try:
                return self.zygote.ask(request)
            except ZygoteGone:
                _drop(self.zygote)
                return None
