"""Optional backend: pydantic-monty, a sandboxed Python interpreter in its own process.

Monty interprets a subset of Python (written in Rust) in worker processes it manages;
code there has no CPython object graph to walk and no file or network access unless
the host grants it. Base actions are host functions resolved by name. Each call gets a
fresh session (about 0.1 ms), so nothing leaks between calls. Differences from the
default backend: base actions return plain strings (no ``.valid``/``.done``), Monty's
Python subset may refuse some constructs, the CPU limit is folded into the
execution-time limit, all learned actions share one namespace (two actions must not
hold different constants of one name), and of the allowed standard-library modules
only those Monty implements are offered (code using another is refused with a clear
message). Install with the ``monty`` extra.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from typing import Any

from learnact_langgraph.sandbox.backend import Job, OnCall, RawOutcome, SandboxBackend, StopCall
from learnact_langgraph.sandbox.gate import parse_source
from learnact_langgraph.sandbox.stdlib_modules import ALLOWED_MODULES, RANDOM_SEED
from learnact_langgraph.sandbox.types import Limits, PolicyViolation, SandboxError

_INPUT = re.compile(r"<python-input-(\d+)>")
#: Allowed modules Monty does not implement (checked with pydantic-monty 1.4).
MISSING_MODULES = frozenset({"string", "heapq"})
_PROVIDED = [m for m in ALLOWED_MODULES if m not in MISSING_MODULES]
#: Fed first in every session, so the modules are names without an import, as in the
#: default backend, and ``random`` starts from the same seed on every call.
PREAMBLE = f"import {', '.join(_PROVIDED)}\nrandom.seed({RANDOM_SEED})\n"


class _OutputFull(Exception):
    pass


class MontyBackend(SandboxBackend):
    """Runs code in ``pydantic_monty`` sessions; see the module docstring for caveats."""

    name = "monty"

    def __init__(self, base_actions: Sequence[str], limits: Limits) -> None:
        super().__init__(base_actions, limits)
        try:
            import pydantic_monty
        except ImportError:
            raise SandboxError(
                "The monty backend needs pydantic-monty; install learnact-langgraph[monty] "
                "or use backend='subprocess'."
            ) from None
        self._pm: Any = pydantic_monty
        self._pool: Any = pydantic_monty.Monty(
            min_processes=1, request_timeout=limits.wall_time_s + 2.0
        )
        self._pool.__enter__()
        self._sources: dict[str, str] = {}

    def problems(self, source: str, filename: str) -> list[str]:
        return _missing(source, filename)

    def load(self, sources: Mapping[str, str]) -> None:
        problems = [p for name, src in sources.items() for p in _missing(src, f"<learned:{name}>")]
        if problems:
            raise PolicyViolation(
                "Learned code was refused: " + "; ".join(problems) + ".", problems
            )
        self._sources = dict(sources)

    def execute(self, job: Job, on_call: OnCall) -> RawOutcome:
        pm = self._pm
        limits = job.limits or self.limits
        monty_limits: dict[str, Any] = {
            "max_feed_duration_secs": min(limits.wall_time_s, limits.cpu_time_s),
            "max_memory": self.limits.memory_mb * 1024 * 1024,
            "max_recursion_depth": limits.recursion_depth,
            "max_suspensions": 10**9,
        }
        stopped: list[str] = []
        printed: list[str] = []
        size = [0]

        def host_function(name: str) -> Any:
            def call(*args: Any) -> str:
                if stopped:
                    raise StopCall(stopped[0])
                try:
                    return on_call(name, tuple(args)).observation
                except StopCall as stop:
                    stopped.append(str(stop))
                    raise

            return call

        def on_print(stream: str, text: str) -> None:
            room = limits.output_chars - size[0]
            printed.append(text[: max(room, 0)])
            size[0] += len(text)
            if size[0] > limits.output_chars:
                raise _OutputFull

        lookup = {name: host_function(name) for name in self.base_actions}
        names = ["<preamble>"] + [f"<learned:{n}>" for n in self._sources] + ["<action>"]
        if job.call is None:
            missing = _missing(job.source, "<action>")
            if missing:
                return RawOutcome(False, None, "policy_violation", "; ".join(missing))
        value: Any = None
        try:
            with self._pool.checkout(limits=monty_limits) as session:
                session.feed_run(PREAMBLE)
                for source in self._sources.values():
                    session.feed_run(source, external_lookup=lookup)
                if job.call is not None:
                    lookup["__args__"] = list(job.call[1])
                    code = f"{job.call[0]}(*__args__)"
                else:
                    code = job.source
                value = session.feed_run(code, external_lookup=lookup, print_callback=on_print)
        except pm.MontyRuntimeError as exc:
            return self._failure(exc, limits, stopped, "".join(printed), size[0], names)
        except pm.MontySyntaxError as exc:
            return RawOutcome(False, None, "python_exception", exc.display("type-msg"))
        except pm.MontyError as exc:  # crashed worker, typing error, conversion
            message = f"the monty worker failed: {exc}"
            return RawOutcome(False, None, "limit", message, stdout="".join(printed))
        return RawOutcome(True, _plain(value), stdout="".join(printed))

    def _failure(
        self,
        exc: Any,
        limits: Limits,
        stopped: list[str],
        printed: str,
        size: int,
        names: list[str],
    ) -> RawOutcome:
        inner = exc.exception()
        text = exc.display("type-msg")
        if stopped:
            return RawOutcome(False, None, "limit", stopped[0], stdout=printed)
        if size > limits.output_chars:
            message = f"printed output exceeded the limit of {limits.output_chars} characters"
            return RawOutcome(False, None, "limit", message, stdout=printed)
        kind: Any = "python_exception"
        if isinstance(inner, TimeoutError):
            kind = "timeout"
            limit = min(limits.wall_time_s, limits.cpu_time_s)
            text = f"the call ran past its execution-time limit of {limit} s ({text})"
        elif isinstance(inner, MemoryError | RecursionError):
            kind = "limit"
        tb = _INPUT.sub(lambda m: _name(names, int(m.group(1))), exc.display("traceback"))
        return RawOutcome(False, None, kind, text, tb, printed)

    def close(self) -> None:
        self._pool.__exit__(None, None, None)


def _missing(source: str, filename: str) -> list[str]:
    """Uses of allowed modules that Monty lacks: imports, or the bare module name."""
    tree, _ = parse_source(source, filename)
    if tree is None:
        return []
    bound = _bound(tree)
    used: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            used.update({a.name: node.lineno for a in node.names if a.name in MISSING_MODULES})
        elif isinstance(node, ast.ImportFrom) and node.module in MISSING_MODULES:
            used[node.module] = node.lineno
        elif isinstance(node, ast.Name) and node.id in MISSING_MODULES and node.id not in bound:
            used.setdefault(node.id, node.lineno)
    return [
        f"{filename} line {line}: the monty backend does not provide the module {mod!r}; "
        "use backend='subprocess' or write the code without it"
        for mod, line in sorted(used.items())
    ]


def _bound(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return names


def _name(names: list[str], index: int) -> str:
    return names[index] if 0 <= index < len(names) else "<action>"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    return repr(value)
