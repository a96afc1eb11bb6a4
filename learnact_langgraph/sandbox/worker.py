"""The sandbox worker: runs learned code in its own process, away from the host.

Started by :mod:`learnact_langgraph.sandbox.subprocess_backend` as
``python -I -S worker.py`` with a clean environment, in an empty directory. It uses
only the standard library and never imports the package, so nothing of the host
(the environment object above all) exists here. Base actions are stubs that send
``{"op": "call"}`` frames to the host and wait for the observation.

Frames are a 4-byte big-endian length followed by UTF-8 JSON, on fds 0 (in) and 1
(out), except the common ones (a run request, a call that ended well, a base call and
its answer), which are tagged fields (``worker_replies.py``). After the configuration
frame the worker imports what it will ever need (the allowed standard-library
modules, offered to learned code only as read-only proxies, and ``unicodedata``, which
compiling non-ASCII text needs), then locks itself down: no new file descriptors (so
no files, sockets or pipes), no child processes, no file writes, an address-space cap,
an unprivileged uid when started as root.

Each learned action's source runs once per load in its own namespace
(``worker_library.py``); the actions, the base actions, the builtins and the module
proxies are shared through the builtins. Started either as its own interpreter or
forked from the zygote (``zygote.py``), which has already imported all of this.
"""

from __future__ import annotations

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
#: Polls for a base call's answer before sleeping (see ``spin.py``); set by ``main``
#: where the host asks for it.
_answers: Any = None
_MARGIN_FRAMES = 8  # frames of a base call's pipe round trip
_COMPILED_KEPT = 256


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


def _fill(n: int, spinner: Any = None) -> None:
    while len(_buffer) < n:
        if spinner is not None:
            spinner.wait()
        chunk = os.read(_IN, max(65536, n - len(_buffer)))
        if not chunk:
            os._exit(0)
        _buffer.extend(chunk)


def recv_frame(spinner: Any = None) -> bytes:
    """Read one frame's payload; bytes leave the buffer only once the whole frame is
    there, so a limit signal arriving midway cannot desynchronise the stream.
    ``spinner`` polls for the frame before sleeping."""
    if not _buffer:  # the usual case: one whole frame in one read
        if spinner is not None:
            spinner.wait()
        chunk = os.read(_IN, 65536)
        if not chunk:
            os._exit(0)
        if int.from_bytes(chunk[:4], "big") == len(chunk) - 4:
            return chunk[4:]
        _buffer.extend(chunk)
    _fill(4, spinner)
    size = int.from_bytes(_buffer[:4], "big")
    _fill(4 + size, spinner)
    data = bytes(_buffer[4 : 4 + size])
    del _buffer[: 4 + size]
    return data


def recv() -> dict[str, Any]:
    """The next request, from JSON or a run frame. A base call's answer found here is
    stale: the call that asked ended before reading it (a limit hit inside the stub),
    so it is skipped; a stale abort is a frame the caller ignores."""
    while (data := recv_frame())[:1] == b"R":
        pass
    if data[:1] == b"E":
        request: dict[str, Any] = _replies.run_request(data)
        return request
    message: dict[str, Any] = json.loads(data)
    return message


def answer(data: bytes) -> Observation:
    """A base call's answer frame (tag, seq, flags, observation) as what learned code
    gets back."""
    obs = Observation(data[6:].decode("utf-8", "surrogatepass"))
    flags = data[5]
    obs.valid = bool(flags & 1)
    obs.done = bool(flags & 2)
    return obs


def send(message: dict[str, Any]) -> None:
    _send_bytes(json.dumps(message, ensure_ascii=False).encode("utf-8", "replace"))


def _send_bytes(data: bytes) -> None:
    frame = len(data).to_bytes(4, "big") + data
    while frame:
        frame = frame[os.write(_OUT, frame) :]


def _sibling(name: str) -> Any:
    """A stdlib-only module beside this file, loaded by path before the lockdown (the
    package is never imported here, and ``-I`` keeps this directory off ``sys.path``).
    Loaded once: a worker forked from the zygote finds it already there."""
    import importlib.util

    if f"learnact_{name}" in sys.modules:
        return sys.modules[f"learnact_{name}"]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"learnact_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_replies = _sibling("worker_replies")
_library = _sibling("worker_library")
_compile = _library.compile_learned
#: Module proxies built before a fork (by :func:`prepare`), keyed by the module names.
_PREPARED: dict[tuple[str, ...], tuple[Any, ...]] = {}


def _proxies(names: tuple[str, ...]) -> tuple[Any, ...]:
    """(proxies, state guard, importer, ids of everything the proxies hand out)."""
    if names not in _PREPARED:
        mods = _sibling("stdlib_modules")
        proxies = mods.make_proxies(names)
        known = {id(p) for p in proxies.values()}
        for name in proxies:
            known.update(id(v) for v in mods.public_api(name).values())
        _PREPARED[names] = (proxies, mods.StateGuard(proxies), mods.make_import(proxies), known)
    return _PREPARED[names]


def prepare(modules: tuple[str, ...]) -> None:
    """Import and build everything a worker needs, so a fork of this process starts
    warm (the zygote calls this once)."""
    import unicodedata  # noqa: F401 - compiling non-ASCII identifiers imports it

    _proxies(tuple(modules))
    _sibling("worker_lockdown")
    _sibling("spin")
    _replies.learned_traceback(ValueError("warm up lazy imports"))
    _compile("def warm(x: int) -> int:\n    return x\n", "<warm>", "exec")


class Worker:
    """Holds the loaded learned actions and runs one request at a time."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.base_names: list[str] = list(config["base"])
        self.limits: dict[str, Any] = dict(config["limits"])
        self.seq = 0
        self.spin = False
        #: The agent's recent lines, compiled (a learned action is called by the same
        #: line again and again; code objects never change).
        self.compiled: dict[tuple[str, str | None], tuple[Any, Any, bool]] = {}
        self.loading = False
        self.out_of_memory = False
        self.out: list[str] = []
        self.out_len = 0
        mods = _sibling("stdlib_modules")
        proxies, self.guard, importer, known = _proxies(tuple(config.get("modules", ())))
        self.random = sys.modules["random"] if "random" in proxies else None
        self.random_seed = mods.RANDOM_SEED
        self.library = _library.Library(
            self._make_builtins(config["builtins"], proxies, importer),
            known,
            _replies.remember,
            _replies.forget,
            frozenset(proxies) | frozenset(config.get("reaching", ())),
        )
        for name in self.base_names:
            self.library.add_builtin(name, self._make_base(name))

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
            if self.loading:
                raise RuntimeError(f"base action {name}() cannot run while actions load")
            self.seq += 1
            seq = self.seq
            frame = _replies.call_frame(seq, name, args)
            try:
                if frame is None:
                    send({"op": "call", "seq": seq, "name": name, "args": args})
                else:
                    _send_bytes(frame)
            except (TypeError, ValueError):
                raise TypeError(
                    f"{name}() arguments must be strings, numbers, booleans or None"
                ) from None
            while True:
                data = recv_frame(_answers if self.spin else None)
                if data[:1] == b"R":
                    if int.from_bytes(data[1:5], "big") != seq:
                        continue
                    # the host's flag: poll for the next answer (apart, and the call alone)
                    self.spin = bool(data[5] & 4)
                    return answer(data)
                reply = json.loads(data)
                if reply.get("seq") == seq:  # the host stopped the call
                    raise BaseCallLimit(str(reply.get("message") or "the host stopped the call"))

        base_action.__name__ = base_action.__qualname__ = name
        return base_action

    # ----- requests ----------------------------------------------------------------
    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        """Compile and define the new sources and drop the removed ones; if one does
        not compile, keep the previous set and say why."""
        self._arm_limits()
        self.loading = True
        try:
            self.library.load(request.get("sources", {}), request.get("remove", []), self._define)
        except _library.LoadRefused as exc:
            return {"op": "loaded", "ok": False, "message": str(exc)}
        finally:
            self.loading = False
            self._disarm_limits()
            self._restore_shared_state()
        return {"op": "loaded", "ok": True}

    def _define(self, action: Any) -> None:
        """Run one action's top level in its own namespace; if it fails only this
        action is lost (calling it says why)."""
        own: dict[str, Any] = {"__builtins__": self.library.shared}
        loading, self.loading = self.loading, True
        try:
            exec(action.code, own)
        except BaseException as exc:
            own = {"__builtins__": self.library.shared, action.name: _unloadable(action.name, exc)}
        finally:
            self.loading = loading
        action.namespace = own

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        self.limits.update(request.get("limits", {}))
        # poll for the first answer only where the host says so (then each answer says)
        self.spin = bool(request.get("poll"))
        self.out, self.out_len = [], 0
        started = time.perf_counter()
        value: Any = None
        kind = message = tb = None
        self.out_of_memory = False
        shared = self.library.shared
        # Code that names no module cannot reach what the modules share between calls
        # (or the random generator): nothing to reset before it or to put back after.
        touched = True
        self._arm_limits()
        try:
            call = request.get("call")
            code = None if call is not None else self._compile_request(request)
            touched = self.library.uses_modules or (code is not None and code[2])
            if touched and self.random is not None:
                self.random.seed(self.random_seed)
            if self.library.stateful:
                self.library.before_call(self._define)
            namespace = {"__builtins__": shared}
            if call is not None:
                value = shared[call[0]](*call[1])
            elif code is not None:
                body, expr, _ = code
                if body is not None:
                    exec(body, namespace)
                if expr is not None:
                    value = eval(expr, namespace)
        except BaseException as exc:
            kind, message = self._classify(exc)
            tb = _replies.learned_traceback(exc)
        finally:
            self._disarm_limits()
            self._restore_shared_state(modules=touched)
        reply: dict[str, Any] = {"op": "done", "ok": kind is None, "cpu_used_s": _cpu_used()}
        if kind is not None:
            reply.update(error_kind=kind, message=message or "", traceback=tb or "")
            # after running out of memory the heap may stay fragmented: ask for a new worker
            reply["recycle"] = kind == "limit" and self.out_of_memory
        if self.out:
            reply["stdout"] = "".join(self.out)
        reply["worker_s"] = time.perf_counter() - started
        reply.update(_replies.encode_value(value))
        return reply

    def _compile_request(self, request: dict[str, Any]) -> tuple[Any, Any, bool]:
        """The agent's statements and final expression, compiled (either may be
        ``None``), and whether they name a module."""
        body, expr = request.get("code", ""), request.get("expr")
        _replies.remember("<action>", request.get("source", body))
        key = (body, expr)
        code = self.compiled.get(key)
        if code is None:
            parts = (
                _compile(body, "<action>", "exec") if body.strip() else None,
                _compile(expr, "<action>", "eval") if expr else None,
            )
            modules = self.library.modules
            code = (*parts, any(_library.mentions(c, modules) for c in parts if c is not None))
            if len(self.compiled) >= _COMPILED_KEPT:
                self.compiled.clear()
            self.compiled[key] = code
        return code

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

    def _restore_shared_state(self, modules: bool = True) -> None:
        try:
            self.library.after_call()
            if modules:
                self.guard.restore()
        except BaseException:  # a limit signal mid-restore: the next call restores again
            pass


def _unloadable(name: str, exc: BaseException) -> Any:
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
    global _answers
    if float(config.get("spin_s") or 0) > 0:
        _answers = _sibling("spin").Spinner(_IN, float(config["spin_s"]))
    signal.signal(signal.SIGXCPU, _on_xcpu)
    prepare(tuple(config.get("modules", ())))
    worker = Worker(config)
    _sibling("worker_lockdown").lock_down(config)
    send({"op": "ready", "uid": os.getuid(), "pid": os.getpid()})
    while True:
        request = recv()
        op = request.get("op")
        if op == "run":
            reply = worker.run(request)
            frame = _replies.done_frame(reply)
            if frame is None:
                send(reply)
            else:
                _send_bytes(frame)
        elif op == "load":
            send(worker.load(request))
        elif op == "exit":
            os._exit(0)


if __name__ == "__main__":
    main()
