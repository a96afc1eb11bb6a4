"""Checks on model-written code before it may run: names, base actions, the policy.

The learner never runs a candidate in this interpreter; these checks read its source.
They find what would fail for certain (a name that exists nowhere, a base action written
again, a policy problem) so the model can be told before any evaluation, and
:func:`salvage` keeps the functions that pass on their own once the repair turns are
spent.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Mapping, Sequence

from learnact_langgraph import prompts, pyast
from learnact_langgraph.parsing import ExtractedCode

SAFE_BUILTINS = frozenset(
    "abs all any bool dict enumerate filter float int isinstance len list map max min "
    "print range reversed round set sorted str sum tuple zip ValueError Exception "
    "RuntimeError KeyError IndexError TypeError".split()
)
#: Checks a piece of source against the sandbox policy; returns the problems found.
PolicyCheck = Callable[[str], Sequence[str]]


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


def unknown_calls(functions: Mapping[str, str], known: set[str]) -> list[str]:
    """Problems: names that are neither actions, defined functions, locals nor builtins.

    A called name must be an action, a function or a safe builtin; any other name read
    must at least exist (a module used without its import, say, would fail at run time).
    """
    problems = []
    for name, source in functions.items():
        tree = pyast.parse(source)
        local = _bound_names(tree)
        callees = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                callee = node.func.id
                callees.add(id(node.func))
                if callee not in known and callee not in local and callee not in SAFE_BUILTINS:
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
                and n.id not in known | local
                and n.id not in dir(builtins)
            }
        )
        for unknown in missing:
            problems.append(
                f"NameError in {name}: `{unknown}` is not defined (nothing can be imported; "
                "use parameters, the actions, your functions and builtins)"
            )
        if name in dir(builtins):
            problems.append(f"`{name}` is a Python builtin name; choose another function name")
    return problems


def check_functions(
    functions: Mapping[str, str], *, known: set[str], reserved: set[str], check: PolicyCheck
) -> list[str]:
    """Every problem the model must fix before its functions can be used."""
    clashes = sorted(set(functions) & reserved)
    problems = []
    if clashes:
        problems.append(prompts.REDEFINED_BASE.format(names=", ".join(f"`{n}`" for n in clashes)))
    problems += unknown_calls(functions, known | set(functions))
    for name, source in functions.items():
        if name not in reserved:
            problems += list(check(source))
    return problems


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
