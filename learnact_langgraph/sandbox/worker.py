"""The sandbox worker: runs learned code in its own process, away from the host.

Started by :mod:`learnact_langgraph.sandbox.subprocess_backend` as
``python -I -S worker.py`` with a clean environment, in an empty directory. It uses
only the standard library and never imports the package, so nothing of the host
(the environment object above all) exists here. Base actions are stubs that send
``{"op": "call"}`` frames to the host and wait for the observation.

Frames are a 4-byte big-endian length followed by UTF-8 JSON, on fds 0 (in) and 1
(out). After the configuration frame the worker imports what it will ever need (the
allowed standard-library modules, offered to learned code only as read-only proxies,
and ``unicodedata``, which compiling non-ASCII text needs), then locks itself down: no
new file descriptors (so no files, sockets or pipes), no child processes, no file
writes, an address-space cap, an unprivileged uid when started as root.

Each call runs every learned action's source in its own namespace; the actions, the
base actions, the builtins and the module proxies are shared through the builtins.
"""

from __future__ import annotations
import __future__

import json
import os
import resource
import signal
import sys
import time
import traceback
from typing import Any

_IN, _OUT = 0, 1
_buffer = bytearray()
_MARGIN_FRAMES = 8  # frames of a base call's pipe round trip


class LimitExceeded(BaseException):
    """A per-call limit was hit; derived from BaseException so ``except Exception``
    in learned code does not swallow it."""


class BaseCallLimit(LimitExceeded):
    """The host refused a base call (per-call limit)."""


class OutputLimit(LimitExceeded):
    """Printed output went past ``output_chars``."""


class CpuTimeLimit(LimitExceeded):
    """SIGXCPU arrived: the call used up its CPU seconds."""


class Observation(str):
    """A base action's observation; ``valid`` and ``done`` let learned code branch."""

    valid: bool
    done: bool


def _fill(n: int) -> None:
    while len(_buffer) < n:
        chunk = os.read(_IN, max(65536, n - len(_buffer)))
        if not chunk:
            os._exit(0)
        _buffer.extend(chunk)


def recv() -> dict[str, Any]:
    """Read one frame; bytes leave the buffer only once the whole frame is there, so
    a limit signal arriving midway cannot desynchronise the stream."""
    _fill(4)
    size = int.from_bytes(_buffer[:4], "big")
    _fill(4 + size)
    data = bytes(_buffer[4 : 4 + size])
    del _buffer[: 4 + size]
    message: dict[str, Any] = json.loads(data)
    return message


def send(message: dict[str, Any]) -> None:
    data = json.dumps(message, ensure_ascii=False).encode("utf-8", "replace")
    frame = len(data).to_bytes(4, "big") + data
    while frame:
        frame = frame[os.write(_OUT, frame) :]


def _sibling(name: str) -> Any:
    """A stdlib-only module beside this file, loaded by path before the lockdown (the
    package is never imported here, and ``-I`` keeps this directory off ``sys.path``)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"learnact_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_replies = _sibling("worker_replies")


class Worker:
    """Holds the compiled learned actions and runs one request at a time."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.base_names: list[str] = list(config["base"])
        self.library: list[tuple[str, Any]] = []
        self.limits: dict[str, Any] = dict(config["limits"])
        self.seq = 0
        self.out_of_memory = False
        self.out: list[str] = []
        self.out_len = 0
        mods = _sibling("stdlib_modules")
        proxies = mods.make_proxies(config.get("modules", ()))
        self.random = sys.modules["random"] if "random" in proxies else None
        self.random_seed = mods.RANDOM_SEED
        self.guard = mods.StateGuard(proxies)
        self.builtins = self._make_builtins(config["builtins"], proxies, mods.make_import(proxies))

    # ----- builtins and base actions ---------------------------------------------
    def _make_builtins(
        self, names: list[str], proxies: dict[str, Any], importer: Any
    ) -> dict[str, Any]:
        import builtins

        safe = {n: getattr(builtins, n) for n in names if hasattr(builtins, n)}
        safe["print"] = self._print
        safe.update(proxies)
        safe["__import__"] = importer
        return safe

    def _print(self, *args: Any, sep: Any = " ", end: Any = "\n") -> None:
        text = str(sep).join(str(a) for a in args) + str(end)
        room = int(self.limits["output_chars"]) - self.out_len
        self.out.append(text[: max(room, 0)])
        self.out_len += len(text)
        if self.out_len > int(self.limits["output_chars"]):
            raise OutputLimit(
                f"printed output exceeded the limit of {self.limits['output_chars']} characters"
            )

    def _make_base(self, name: str) -> Any:
        def base_action(*args: Any, **kwargs: Any) -> Observation:
            if kwargs:
                raise TypeError(f"{name}() takes positional arguments only")
            self.seq += 1
            seq = self.seq
            try:
                send({"op": "call", "seq": seq, "name": name, "args": list(args)})
            except (TypeError, ValueError):
                raise TypeError(
                    f"{name}() arguments must be strings, numbers, booleans or None"
                ) from None
            while True:
                reply = recv()
                if reply.get("seq") == seq:
                    break
            if reply["op"] == "abort":
                raise BaseCallLimit(reply["message"])
            obs = Observation(reply["obs"])
            obs.valid = bool(reply["valid"])
            obs.done = bool(reply["done"])
            return obs

        base_action.__name__ = base_action.__qualname__ = name
        return base_action

    # ----- requests ----------------------------------------------------------------
    def load(self, sources: dict[str, str]) -> dict[str, Any]:
        """Compile every source; on any failure keep the previous set and say why."""
        library = []
        for name, source in sources.items():
            filename = f"<learned:{name}>"
            try:
                _replies.remember(filename, source)
                library.append((name, _compile(source, filename, "exec")))
            except BaseException as exc:  # SyntaxError, MemoryError, RecursionError, ...
                why = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
                return {"op": "loaded", "ok": False, "message": f"{filename}: {why}"}
        self.library = library
        return {"op": "loaded", "ok": True}

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        self.limits.update(request.get("limits", {}))
        self.out, self.out_len = [], 0
        started = time.perf_counter()
        shared: dict[str, Any] = dict(self.builtins)
        for name in self.base_names:
            shared[name] = self._make_base(name)
        namespace: dict[str, Any] = {"__builtins__": shared}
        value: Any = None
        kind = message = tb = None
        self.out_of_memory = False
        if self.random is not None:
            self.random.seed(self.random_seed)
        self._arm_limits()
        try:
            for name, code in self.library:
                own: dict[str, Any] = {"__builtins__": shared}
                try:
                    exec(code, own)
                except (MemoryError, RecursionError):
                    raise
                except Exception as exc:  # only this action is lost, not the whole call
                    own[name] = _unloadable(name, exc)
                if name in own:
                    shared[name] = own[name]
            call = request.get("call")
            if call is not None:
                value = shared[call[0]](*call[1])
            else:
                value = self._run_code(request, namespace)
        except BaseException as exc:
            kind, message = self._classify(exc)
            tb = _replies.learned_traceback(exc)
        finally:
            self._disarm_limits()
            self._restore_shared_state()
        reply: dict[str, Any] = {
            "op": "done",
            "ok": kind is None,
            "error_kind": kind,
            "message": message or "",
            "traceback": tb or "",
            "stdout": "".join(self.out),
            "worker_s": time.perf_counter() - started,
            "cpu_used_s": _cpu_used(),
            # after running out of memory the heap may stay fragmented: ask for a new worker
            "recycle": kind == "limit" and self.out_of_memory,
        }
        reply.update(_replies.encode_value(value))
        return reply

    def _run_code(self, request: dict[str, Any], namespace: dict[str, Any]) -> Any:
        body, expr = request.get("code", ""), request.get("expr")
        _replies.remember("<action>", request.get("source", body))
        if body.strip():
            exec(_compile(body, "<action>", "exec"), namespace)
        if expr:
            return eval(_compile(expr, "<action>", "eval"), namespace)
        return None

    def _classify(self, exc: BaseException) -> tuple[str, str]:
        lim = self.limits
        if isinstance(exc, BaseCallLimit):
            return "limit", str(exc)
        if isinstance(exc, OutputLimit):
            return "limit", str(exc)
        if isinstance(exc, CpuTimeLimit):
            return "limit", f"CPU time limit of {lim['cpu_time_s']} s exceeded"
        if isinstance(exc, RecursionError):
            return "limit", f"recursion depth limit of {lim['recursion_depth']} exceeded"
        if isinstance(exc, MemoryError):
            self.out_of_memory = True
            return "limit", f"memory limit of {lim['memory_mb']} MB exceeded"
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return "python_exception", text[:2000]

    def _arm_limits(self) -> None:
        cpu = _cpu_used() + float(self.limits["cpu_time_s"])
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(cpu) + 1
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        run_depth = _depth() - 2  # _depth <- _arm_limits <- run
        limit = run_depth + 1 + int(self.limits["recursion_depth"]) + _MARGIN_FRAMES
        sys.setrecursionlimit(limit)

    def _disarm_limits(self) -> None:
        sys.setrecursionlimit(1000)
        # Lift this call's CPU limit back to the worker's lifetime cap, so work between
        # calls (loading a library) never trips it; the next call arms its own.
        try:
            _, hard = resource.getrlimit(resource.RLIMIT_CPU)
            resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
        except (ValueError, OSError):
            pass

    def _restore_shared_state(self) -> None:
        try:
            self.guard.restore()
        except BaseException:  # a limit signal mid-restore: the next call restores again
            pass


def _compile(source: str, filename: str, mode: str) -> Any:
    """Compile learned code; annotations stay text (never evaluated, so never a
    ``NameError`` or a base-action call when a source is run)."""
    flags = __future__.annotations.compiler_flag
    return compile(source, filename, mode, flags=flags, dont_inherit=True)


def _unloadable(name: str, exc: Exception) -> Any:
    why = f"{type(exc).__name__}: {exc}"

    def unloadable(*args: Any) -> Any:
        raise RuntimeError(f"the learned action {name!r} failed to load ({why})")

    return unloadable


def _cpu_used() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _depth() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1  # type: ignore[assignment]
    return n


def _lock_down(config: dict[str, Any]) -> None:
    """Kernel-level limits; best effort where the platform refuses one."""
    mem = int(config["limits"]["memory_mb"]) * 1024 * 1024
    try:  # a lifetime CPU cap: even an orphaned worker stuck in a loop ends
        cap = int(config["cpu_lifetime_s"])
        resource.setrlimit(resource.RLIMIT_CPU, (cap, cap))
    except (ValueError, OSError, KeyError):
        pass
    for rlimit, value in (
        ("RLIMIT_AS", mem),
        ("RLIMIT_FSIZE", 0),
        ("RLIMIT_CORE", 0),
    ):
        try:
            resource.setrlimit(getattr(resource, rlimit), (value, value))
        except (ValueError, OSError, AttributeError):
            pass
    uid = config.get("uid")
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(int(config["gid"]))
        os.setuid(int(uid))
    for rlimit, value in (("RLIMIT_NPROC", 0), ("RLIMIT_NOFILE", 3)):
        try:
            resource.setrlimit(getattr(resource, rlimit), (value, value))
        except (ValueError, OSError, AttributeError):
            pass


class _Null:
    """Swallows stray writes so nothing but frames ever reaches fd 1."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _on_xcpu(signum: int, frame: Any) -> None:
    raise CpuTimeLimit()


def main() -> None:
    sys.stdout = sys.stderr = _Null()
    config = recv()
    signal.signal(signal.SIGXCPU, _on_xcpu)
    import unicodedata  # noqa: F401 - compiling non-ASCII identifiers imports it

    worker = Worker(config)
    _replies.learned_traceback(ValueError("warm up lazy imports"))
    _lock_down(config)
    send({"op": "ready", "uid": os.getuid(), "pid": os.getpid()})
    while True:
        request = recv()
        op = request.get("op")
        if op == "run":
            send(worker.run(request))
        elif op == "load":
            send(worker.load(request["sources"]))
        elif op == "exit":
            os._exit(0)


if __name__ == "__main__":
    main()
