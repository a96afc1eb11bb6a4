"""One sandbox worker process seen from the host: its pipes, its frames, its death.

Split from :mod:`learnact_langgraph.sandbox.subprocess_backend`, which decides when
a worker is started, replaced or stopped; this module only talks to one of them.
The host never unpickles or evaluates anything the worker sends.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from learnact_langgraph.sandbox import zygote_client
from learnact_langgraph.sandbox.types import ErrorKind
from learnact_langgraph.sandbox.zygote_client import ForkedWorker

WORKER = Path(__file__).with_name("worker.py")
MAX_FRAME = 8 * 1024 * 1024


class ProtocolError(Exception):
    """The worker broke the protocol (``policy_violation``) or died (``limit``)."""

    def __init__(self, message: str, kind: ErrorKind = "policy_violation") -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


class WorkerTimeout(Exception):
    """The worker did not answer before the deadline."""


class PopenHandle:
    """A worker started as its own interpreter (where no zygote can be used)."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.pid = popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.popen.wait()


def _start(workdir: str, rfd: int, wfd: int, zygote: bool) -> PopenHandle | ForkedWorker:
    """Fork the worker from the zygote, or else start it as a new interpreter."""
    if zygote:
        forked = zygote_client.spawn(workdir, rfd, wfd)
        if forked is not None:
            return forked
    popen = subprocess.Popen(
        [sys.executable, "-I", "-S", "-B", str(WORKER)],
        stdin=rfd,
        stdout=wfd,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
        env=dict(zygote_client.WORKER_ENV),
        start_new_session=True,
        close_fds=True,
    )
    return PopenHandle(popen)


class WorkerProcess:
    """One worker process and its framed pipes."""

    def __init__(self, config: dict[str, Any], workdir: str, *, zygote: bool = True) -> None:
        to_worker, self.wfd = os.pipe()
        self.rfd, from_worker = os.pipe()
        try:
            self.proc: PopenHandle | ForkedWorker = _start(workdir, to_worker, from_worker, zygote)
        except BaseException:
            os.close(self.wfd)
            os.close(self.rfd)
            raise
        finally:
            os.close(to_worker)
            os.close(from_worker)
        self.forked = isinstance(self.proc, ForkedWorker)
        self.poll = select.poll()
        self.poll.register(self.rfd, select.POLLIN)
        self.buf = bytearray()
        self.ready = False
        self.pending_load = False
        self.closed = False
        try:
            self.send(config)
        except ProtocolError:
            pass  # killed at once: the handshake finds it dead and starts another

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        """Whether an idle worker can take a request: not reaped, and its output not
        hung up or holding an unasked-for frame (a dead worker closes its pipe at once,
        before it can be reaped)."""
        if not self.forked and self.proc.poll() is not None:
            return False
        return not self.poll.poll(0)

    def send(self, message: dict[str, Any] | bytes) -> None:
        """Send a JSON object, or an already encoded payload (a base call's answer)."""
        data = message if isinstance(message, bytes) else json.dumps(message).encode()
        frame = len(data).to_bytes(4, "big") + data
        try:
            while frame:
                frame = frame[os.write(self.wfd, frame) :]
        except OSError as exc:  # BrokenPipe: the worker is gone
            msg = f"the worker stopped accepting requests ({exc.strerror or exc})"
            raise ProtocolError(msg, "limit") from None

    def recv(self, deadline: float) -> dict[str, Any]:
        data = self._frame(deadline)
        if data[:1] == b"C":
            return _call(data)
        try:
            message = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"the worker sent a malformed frame ({exc})") from None
        if not isinstance(message, dict):
            raise ProtocolError("the worker sent a frame that is not an object")
        return message

    def _frame(self, deadline: float) -> bytes:
        """The next frame's payload; its length is checked before the payload is awaited."""
        buf = self.buf
        while True:
            if len(buf) >= 4:
                size = int.from_bytes(buf[:4], "big")
                if size > MAX_FRAME:
                    raise ProtocolError(f"the worker sent a {size}-byte frame (limit {MAX_FRAME})")
                if len(buf) >= 4 + size:
                    data = bytes(buf[4 : 4 + size])
                    del buf[: 4 + size]
                    return data
            chunk = self._read_some(deadline)
            if not chunk:
                raise ProtocolError(self._death(), kind="limit")
            buf += chunk

    def _read_some(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0 or not self.poll.poll(left * 1000.0):
            raise WorkerTimeout
        try:
            return os.read(self.rfd, 1 << 16)
        except OSError:  # closed under us (the backend was closed from another thread)
            return b""

    def _death(self) -> str:
        code = self.proc.wait(1.0)
        if code is None:
            return "the worker closed its output"
        if code < 0:
            name = signal.Signals(-code).name
            if -code == signal.SIGXCPU:
                return "the worker was stopped by the kernel for exceeding its CPU time limit"
            return f"the worker process was killed by {name}"
        return f"the worker process exited with status {code}"

    def kill(self) -> None:
        """End the worker's process group, reap it and close the pipes."""
        self.proc.kill()
        if not self.closed:
            self.closed = True
            os.close(self.wfd)
            os.close(self.rfd)


def _call(data: bytes) -> dict[str, Any]:
    """A base call frame: tag, seq, then length-prefixed UTF-8 fields (name, args)."""
    seq, pos, end, fields = int.from_bytes(data[1:5], "big"), 5, len(data), []
    while pos < end:
        size = int.from_bytes(data[pos : pos + 4], "big")
        pos += 4
        if pos + size > end:
            raise ProtocolError("the worker sent a malformed base call frame")
        try:
            fields.append(data[pos : pos + size].decode("utf-8"))
        except UnicodeDecodeError:
            raise ProtocolError("the worker sent a base call that is not UTF-8") from None
        pos += size
    if not fields:
        raise ProtocolError("the worker sent a base call without a name")
    return {"op": "call", "seq": seq, "name": fields[0], "args": fields[1:]}


def ret_frame(seq: int, observation: str, valid: bool, done: bool) -> bytes:
    """The answer to a base call: tag, seq, flags, the observation (no JSON)."""
    flags = (1 if valid else 0) | (2 if done else 0)
    head = b"R" + (seq & 0xFFFFFFFF).to_bytes(4, "big") + bytes((flags,))
    return head + observation.encode("utf-8", "surrogatepass")


def kill_all(state: dict[str, Any]) -> None:
    """The finalizer of a backend: end its worker and remove its working directory."""
    proc = state.get("proc")
    if proc is not None:
        proc.kill()
    shutil.rmtree(state["workdir"], ignore_errors=True)
