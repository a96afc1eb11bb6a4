"""Checks on model-written code before it may run: names, base actions, the gate.

The learner never runs a candidate in this interpreter; these checks read its source.
They find what would fail for certain (a name that exists nowhere, a base action written
again, anything the sandbox's gate refuses) so the model can be told before any
evaluation, and :func:`salvage` keeps the functions that pass on their own once the
repair turns are spent. The gate (:mod:`learnact_langgraph.sandbox.gate`) is the same
one the sandbox and the library apply, and the names counted as available are exactly
those the sandbox provides, so what passes here also loads, runs and publishes.
"""

from __future__ import annotations

import ast
import builtins
import functools
from collections.abc import Callable, Mapping, Sequence

from learnact_langgraph import prompts
from learnact_langgraph.parsing import ExtractedCode
from learnact_langgraph.sandbox import gate
from learnact_langgraph.sandbox.policy import AVAILABLE_NAMES, MODULE_LIST

#: Names learned code may use without defining them: the sandbox's builtins and modules.
SAFE_BUILTINS = AVAILABLE_NAMES
#: Checks a piece of source against the sandbox policy; returns the problems found.
PolicyCheck = Callable[[str], Sequence[str]]
_TAKEN_NAMES = frozenset(dir(builtins)) | AVAILABLE_NAMES


def _bound_names(tree: ast.AST) -> set[str]:
    """Names a function binds itself: assignments, parameters, handlers, nested defs."""
    bound: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store | ast.Del):
            bound.add(n.id)
        elif isinstance(n, ast.arguments):
            args = n.posonlyargs + n.args + n.kwonlyargs
            bound |= {a.arg for a in args}
            bound |= {a.arg for a in (n.vararg, n.kwarg) if a is not None}
        elif isinstance(n, ast.ExceptHandler) and n.name:
            bound.add(n.name)
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(n.name)
        elif isinstance(n, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in n.names}
    return bound


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """Ids of every node inside an annotation."""
    roots: list[ast.expr] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.arg | ast.AnnAssign) and n.annotation is not None:
            roots.append(n.annotation)
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.returns is not None:
            roots.append(n.returns)
    return {id(node) for root in roots for node in ast.walk(root)}


def unknown_calls(functions: Mapping[str, str], known: set[str]) -> list[str]:
    """Problems: names that are neither actions, defined functions, locals nor provided.

    A called name must be an action, a function, a safe builtin or an allowed module;
    any other name read must at least exist. "Provided" means exactly what the sandbox
    gives learned code, so a name it lacks is always reported and one it has never is.
    A source that does not parse is left to the gate.
    """
    frozen = frozenset(known)
    return [p for name, source in functions.items() for p in _unknown_in(name, source, frozen)]


@functools.lru_cache(maxsize=2048)
def _unknown_in(name: str, source: str, known: frozenset[str]) -> tuple[str, ...]:
    """:func:`unknown_calls` of one function (kept: the repair loop checks the same
    functions again with each new reply)."""
    problems: list[str] = []
    tree, _ = gate.parse_source(source, f"<learned:{name}>")
    if tree is None:
        return ()
    available = known | _bound_names(tree) | AVAILABLE_NAMES
    callees = _annotation_nodes(tree)  # annotations are never evaluated in the sandbox
    for node in ast.walk(tree):
        if id(node) in callees:
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            callee = node.func.id
            callees.add(id(node.func))
            if callee not in available:
                problems.append(
                    f"NameError in {name}: `{callee}` is not an available action or function"
                )
    missing = sorted(
        {
            n.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)
            and id(n) not in callees
            and n.id not in available
        }
    )
    for unknown in missing:
        problems.append(
            f"NameError in {name}: `{unknown}` is not defined (use parameters, the "
            f"actions, your functions, builtins and the modules {MODULE_LIST})"
        )
    if name in _TAKEN_NAMES:
        problems.append(f"`{name}` is a Python builtin name; choose another function name")
    return tuple(problems)


def check_functions(
    functions: Mapping[str, str], *, known: set[str], reserved: set[str], check: PolicyCheck
) -> list[str]:
    """Every problem the model must fix before its functions can be used.

    Each function goes through the gate as the action it would become (``reserved``
    are the base actions); ``check`` (``Sandbox.check``-like) adds what the gate does
    not know, such as a backend's own limits, once the gate is satisfied.
    """
    clashes = sorted(set(functions) & reserved)
    problems = []
    if clashes:
        problems.append(prompts.REDEFINED_BASE.format(names=", ".join(f"`{n}`" for n in clashes)))
    problems += unknown_calls(functions, known | set(functions))
    for name, source in functions.items():
        if name not in reserved:
            found = gate.check_action(name, source, base_actions=reserved)
            problems += found or list(check(source))
    return list(dict.fromkeys(problems))


def salvage(
    got: ExtractedCode, *, known: set[str], reserved: set[str], check: PolicyCheck
) -> tuple[dict[str, str], list[str]]:
    """The functions of a reply that pass every check on their own, and what was removed.

    Used once the repair turns are spent: small models often write one good function
    beside copies of the base actions or a helper that imports a module. Removing what
    fails (and anything that then calls it) keeps the good part instead of nothing.
    """
    if got.error:
        return {}, []
    functions = {n: src for n, src in got.functions.items() if n not in reserved}
    removed = [f"`{n}` (an existing action written again)" for n in got.functions if n in reserved]
    while functions:
        bad = {}
        for name, source in functions.items():
            problems = check_functions(
                {name: source}, known=known | set(functions), reserved=reserved, check=check
            )
            if problems:
                bad[name] = problems[0]
        if not bad:
            break
        for name, why in bad.items():
            functions.pop(name)
            removed.append(f"`{name}` ({why})")
    return functions, removed
