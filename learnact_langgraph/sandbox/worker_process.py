"""One sandbox worker process seen from the host: its pipes, its frames, its death.

Split from :mod:`learnact_langgraph.sandbox.subprocess_backend`, which decides when
a worker is started, replaced or stopped; this module only talks to one of them.
The host never unpickles or evaluates anything the worker sends.
"""

from __future__ import annotations

import functools
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

from learnact_langgraph.sandbox import zygote_client
from learnact_langgraph.sandbox.spin import Spinner
from learnact_langgraph.sandbox.types import ErrorKind, Limits
from learnact_langgraph.sandbox.worker_replies import DONE_HEAD
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
        #: Moved off the sandbox's CPU by a long call (see ``SubprocessBackend.cpu``).
        self.moved = False
        #: The limits the worker holds: a run request under the same ones needs no JSON.
        self.limits: Limits | None = None
        spin_s = float(config.get("spin_s") or 0)
        self.spinner = Spinner(self.rfd, spin_s) if spin_s > 0 else None
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
            sent = os.write(self.wfd, frame)
            while sent < len(frame):
                frame = frame[sent:]
                sent = os.write(self.wfd, frame)
        except OSError as exc:  # BrokenPipe: the worker is gone
            msg = f"the worker stopped accepting requests ({exc.strerror or exc})"
            raise ProtocolError(msg, "limit") from None

    def recv(self, deadline: float) -> dict[str, Any]:
        """The next frame as a JSON object (a base call as ``{"op": "call", ...}``)."""
        found = self.next(deadline)
        if isinstance(found, BaseCall):
            return {"op": "call", "seq": found.seq, "name": found.name, "args": found.args}
        return found

    def next(self, deadline: float, spin: bool = False) -> BaseCall | dict[str, Any]:
        """The next frame: a base call, or else a JSON object. ``spin``: it is due
        soon, during a call (polled for before sleeping, see :mod:`.spin`)."""
        data = self._frame(deadline, spin)
        if data[:1] == b"C":
            return parse_call(data)
        if data[:1] == b"D":
            return parse_done(data)
        try:
            message = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"the worker sent a malformed frame ({exc})") from None
        if not isinstance(message, dict):
            raise ProtocolError("the worker sent a frame that is not an object")
        return message

    def _frame(self, deadline: float, spin: bool = False) -> bytes:
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
            ready = spin and self.spinner is not None and self.spinner.wait()
            chunk = self._read_some(deadline, ready)
            if not chunk:
                raise ProtocolError(self._death(), kind="limit")
            if not buf and int.from_bytes(chunk[:4], "big") == len(chunk) - 4:
                return chunk[4:]  # the usual case: one whole frame in one read
            buf += chunk

    def _read_some(self, deadline: float, ready: bool = False) -> bytes:
        """What the worker sent next, waiting at most until ``deadline``; ``ready``:
        the pipe is known to be readable."""
        if not ready:
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


class BaseCall(NamedTuple):
    """A base call the worker asks the host to make."""

    seq: int
    name: str
    args: tuple[str, ...]


def parse_call(data: bytes) -> BaseCall:
    """A base call frame: tag, seq, then the UTF-8 name and arguments separated by NUL
    (see ``worker_replies.call_frame``)."""
    if len(data) < 5:
        raise ProtocolError("the worker sent a truncated base call frame")
    text = data[5:]
    name, args = _kept_call(text) if len(text) <= KEPT_CALL_BYTES else _call_text(text)
    return BaseCall(int.from_bytes(data[1:5], "big"), name, args)


#: Calls at most this long are decoded once and kept: learned code makes the same
#: few calls again and again (``move('a', 'b')``), and a kept one costs a dict
#: lookup. Longer ones are decoded each time, so what is kept stays small.
KEPT_CALL_BYTES = 256


def _call_text(text: bytes) -> tuple[str, tuple[str, ...]]:
    try:
        name, *args = text.decode("utf-8").split("\x00")
    except UnicodeDecodeError:
        raise ProtocolError("the worker sent a base call that is not UTF-8") from None
    return name, tuple(args)


_kept_call = functools.lru_cache(maxsize=512)(_call_text)


def parse_done(data: bytes) -> dict[str, Any]:
    """A call that ended well, as its JSON reply would read (see
    ``worker_replies.done_frame``): tag, CPU and worker seconds, the value's kind (0
    ``None``, 1 text), the text in UTF-8."""
    if len(data) < 1 + DONE_HEAD.size:
        raise ProtocolError("the worker sent a truncated reply frame")
    cpu_used_s, worker_s, kind = DONE_HEAD.unpack_from(data, 1)
    text = data[1 + DONE_HEAD.size :]
    if kind == 0 and not text:
        value = None
    elif kind == 1:
        try:
            value = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("the worker sent a reply that is not UTF-8") from None
    else:
        raise ProtocolError("the worker sent a reply frame of an unknown kind")
    return {
        "op": "done",
        "ok": True,
        "cpu_used_s": cpu_used_s,
        "worker_s": worker_s,
        "value": value,
        "value_repr": None,
    }


@functools.lru_cache(maxsize=1024)
def run_frame(source: str, code: str, expr: str | None, poll: bool) -> bytes | None:
    """A run request without JSON (read by ``worker_replies.run_request``): tag, flags
    (1: poll for the first answer, 2: a final expression follows), then the source,
    the statements and the final expression, separated by NUL; ``None`` (send JSON)
    when a part holds a NUL. Kept per line: agents send the same lines again."""
    parts = (source, code, expr or "")
    if any("\x00" in part for part in parts):
        return None
    flags = (1 if poll else 0) | (2 if expr is not None else 0)
    return b"E" + bytes((flags,)) + "\x00".join(parts).encode("utf-8", "surrogatepass")


_RET_HEAD = struct.Struct(">cIB")


def ret_frame(seq: int, observation: str, valid: bool, done: bool, poll: bool = False) -> bytes:
    """The answer to a base call: tag, seq, flags, the observation (no JSON). ``poll``
    asks the worker to poll for the call's next answer (see :mod:`.spin`)."""
    flags = (1 if valid else 0) | (2 if done else 0) | (4 if poll else 0)
    return _RET_HEAD.pack(b"R", seq & 0xFFFFFFFF, flags) + observation.encode(
        "utf-8", "surrogatepass"
    )


def kill_all(state: dict[str, Any]) -> None:
    """The finalizer of a backend: end its worker and remove its working directory."""
    proc = state.get("proc")
    if proc is not None:
        proc.kill()
    shutil.rmtree(state["workdir"], ignore_errors=True)
