"""The zygote: a small, clean process that forks sandbox workers already warmed up.

Starting a worker as a new interpreter costs tens of milliseconds (interpreter start,
imports, building the module proxies). The host starts this process once
(``python -I -S -B zygote.py FD``, the same clean environment as a worker), and it
imports and builds everything a worker needs (:func:`worker.prepare`) and waits on
its control socket (fd ``FD``, one end of a ``socketpair``). Stdlib-only, like the
worker: the package is never imported here.

Requests are one JSON datagram each, answered by one datagram:

- ``spawn`` with the worker's two pipe ends attached (``SCM_RIGHTS``) and its
  working directory: forks; the child becomes the worker (:func:`_become_worker`);
  the answer is its pid.
- ``wait`` (pid, seconds): the child's exit status once it has ended, else ``null``.
- ``kill`` (pid): SIGKILLs the child's process group and reaps it. The zygote is the
  parent, so a pid it has not reaped cannot be reused: no other process is ever hit.

The zygote never runs learned code, and a worker cannot reach it: the child closes
the control socket and every descriptor but 0, 1 and 2 before it reads its config,
and then locks itself down exactly as a worker started on its own does. It ends when
the host's end of the socket closes (the host exited).
"""

from __future__ import annotations

import _socket  # the C module only: ``socket.py`` is not left behind in workers
import importlib.util
import json
import os
import sys
from typing import Any

_FD_SIZE = 4


def _load_worker() -> Any:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
    spec = importlib.util.spec_from_file_location("learnact_worker", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _status(raw: int) -> int:
    """An exit status as ``subprocess`` reports it: the code, or minus the signal."""
    if os.WIFSIGNALED(raw):
        return -os.WTERMSIG(raw)
    return os.WEXITSTATUS(raw) if os.WIFEXITED(raw) else -1


def _fds(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    fds: list[int] = []
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(data) - len(data) % _FD_SIZE
            for i in range(0, usable, _FD_SIZE):
                fds.append(int.from_bytes(data[i : i + _FD_SIZE], sys.byteorder, signed=True))
    return fds


class Zygote:
    def __init__(self, sock: Any, worker: Any) -> None:
        self.sock = sock
        self.worker = worker
        #: Children not reaped yet (None) or reaped with their status (kept until killed).
        self.children: dict[int, int | None] = {}

    def serve(self) -> None:
        space = _socket.CMSG_SPACE(2 * _FD_SIZE)
        while True:
            data, ancdata, _flags, _addr = self.sock.recvmsg(65536, space)
            if not data:
                os._exit(0)
            fds = _fds(ancdata)
            try:
                reply = self.handle(json.loads(data), fds)
            except Exception as exc:
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            finally:
                for fd in fds:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self.sock.send(json.dumps(reply).encode())

    def handle(self, request: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        op = request.get("op")
        if op == "spawn":
            if len(fds) != 2:
                return {"error": "spawn needs two descriptors"}
            pid = os.fork()
            if pid == 0:
                _become_worker(self.sock, fds[0], fds[1], str(request["cwd"]), self.worker)
            self.children[pid] = None
            return {"pid": pid}
        pid = int(request.get("pid", 0))
        if pid not in self.children:
            return {"status": None, "unknown": True}
        if op == "wait":
            return {"status": self.wait(pid, float(request.get("timeout", 0.0)))}
        if op == "kill":
            status = self.children[pid]
            if status is None:
                try:
                    os.killpg(pid, 9)
                except OSError:  # before its setsid the child has no group of its own
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
                status = _status(os.waitpid(pid, 0)[1])
            del self.children[pid]
            return {"status": status}
        return {"error": f"unknown op {op!r}"}

    def wait(self, pid: int, timeout: float) -> int | None:
        import time

        deadline = time.monotonic() + timeout
        while self.children[pid] is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                self.children[pid] = _status(raw)
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.001)
        return self.children[pid]


def _become_worker(sock: Any, rfd: int, wfd: int, cwd: str, worker: Any) -> None:
    """In the forked child: nothing of the zygote but its warm imports stays."""
    try:
        os.setsid()
        sock.detach()
        os.dup2(rfd, 0)
        os.dup2(wfd, 1)
        os.closerange(3, max(os.sysconf("SC_OPEN_MAX"), 1024))
        os.chdir(cwd)
        sys.modules.pop("_socket", None)
        worker.main()
    finally:
        os._exit(1)


def main() -> None:
    sock = _socket.socket(fileno=int(sys.argv[1]))
    worker = _load_worker()
    stdlib = worker._sibling("stdlib_modules")
    worker.prepare(tuple(stdlib.ALLOWED_MODULES))
    if os.fork():  # the host reaps this parent at once; the zygote is nobody's child
        os._exit(0)
    import gc

    gc.freeze()  # forked workers share these pages instead of copying them on first GC
    sock.send(json.dumps({"op": "ready", "pid": os.getpid()}).encode())
    Zygote(sock, worker).serve()


if __name__ == "__main__":
    main()
