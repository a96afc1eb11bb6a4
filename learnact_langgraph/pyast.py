"""Thread-safe ``ast.parse``, and reading a one-call line such as ``goto('desk 1')``.

CPython 3.11 keeps the AST converter's recursion counter in shared state, so two
threads parsing at once can fail with "SystemError: AST constructor recursion depth
mismatch" (CPython issue 106905). Evaluation branches of the learner run in threads,
so every parse in this package goes through one lock.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

_LOCK = threading.Lock()


def parse(source: str, filename: str = "<unknown>", mode: str = "exec", **kwargs: Any) -> Any:
    """``ast.parse`` under a process-wide lock."""
    with _LOCK:
        return ast.parse(source, filename, mode, **kwargs)


def literal_call(line: str) -> tuple[str, list[Any]] | None:
    """``name`` and literal arguments of a one-call line such as ``drop('b1', 'ra')``,
    or ``None`` when the line is anything else."""
    try:
        node = parse(line.strip(), mode="eval").body
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id, [ast.literal_eval(a) for a in node.args]
    except (SyntaxError, ValueError):
        pass
    return None
