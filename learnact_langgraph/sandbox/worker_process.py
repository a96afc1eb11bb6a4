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

from learnact_langgraph.sandbox.types import ErrorKind

WORKER = Path(__file__).with_name("worker.py")
MAX_FRAME = 8 * 1024 * 1024


class ProtocolError(Exception):
    """The worker broke the protocol (``policy_violation``) or died (``limit``)."""

    def __init__(self, message: str, kind: ErrorKind = "policy_violation") -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


class WorkerTimeout(Exception):
    """The worker did not answer before the deadline."""


class WorkerProcess:
    """One worker process and its framed pipes."""

    def __init__(self, config: dict[str, Any], workdir: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
            env={"MALLOC_MMAP_THRESHOLD_": "131072"},  # big blocks go back to the OS on free
            start_new_session=True,
            close_fds=True,
            bufsize=0,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd = self.proc.stdin.fileno()
        self.rfd = self.proc.stdout.fileno()
        self.poll = select.poll()
        self.poll.register(self.rfd, select.POLLIN)
        self.buf = bytearray()
        self.ready = False
        self.pending_load = False
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
        if self.proc.poll() is not None:
            return False
        return not self.poll.poll(0)

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        frame = len(data).to_bytes(4, "big") + data
        try:
            while frame:
                frame = frame[os.write(self.wfd, frame) :]
        except OSError as exc:  # BrokenPipe: the worker is gone
            msg = f"the worker stopped accepting requests ({exc.strerror or exc})"
            raise ProtocolError(msg, "limit") from None

    def recv(self, deadline: float) -> dict[str, Any]:
        size = int.from_bytes(self._read(4, deadline), "big")
        if size > MAX_FRAME:
            raise ProtocolError(f"the worker sent a {size}-byte frame (limit {MAX_FRAME})")
        try:
            message = json.loads(self._read(size, deadline))
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"the worker sent a malformed frame ({exc})") from None
        if not isinstance(message, dict):
            raise ProtocolError("the worker sent a frame that is not an object")
        return message

    def _read(self, n: int, deadline: float) -> bytes:
        while len(self.buf) < n:
            chunk = self._read_some(deadline)
            if not chunk:
                raise ProtocolError(self._death(), kind="limit")
            self.buf.extend(chunk)
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def _read_some(self, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0 or not self.poll.poll(left * 1000.0):
            raise WorkerTimeout
        try:
            return os.read(self.rfd, 1 << 16)
        except OSError:  # closed under us (the backend was closed from another thread)
            return b""

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "the worker closed its output"
        if code < 0:
            name = signal.Signals(-code).name
            if -code == signal.SIGXCPU:
                return "the worker was stopped by the kernel for exceeding its CPU time limit"
            return f"the worker process was killed by {name}"
        return f"the worker process exited with status {code}"

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.proc.wait()


def kill_all(state: dict[str, Any]) -> None:
    """The finalizer of a backend: end its worker and remove its working directory."""
    proc = state.get("proc")
    if proc is not None:
        proc.kill()
    shutil.rmtree(state["workdir"], ignore_errors=True)
