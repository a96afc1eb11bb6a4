"""The AST policy: what learned code and agent lines may contain.

The policy is the first of several layers (restricted builtins, a separate worker
process with kernel limits and no access to the environment come after it). Its job
is to refuse the well-known escape routes early, with a message that tells the
learner what to change, before any code runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from learnact_langgraph import pyast

#: Builtins that learned code gets. Everything else (open, __import__, eval, exec,
#: compile, globals, vars, getattr, type, object, ...) is simply absent.
SAFE_BUILTINS: frozenset[str] = frozenset(
    {
        "abs", "all", "any", "ascii", "bin", "bool", "callable", "chr", "dict", "divmod",
        "enumerate", "filter", "float", "format", "frozenset", "hash", "hex", "int",
        "isinstance", "iter", "len", "list", "map", "max", "min", "next", "oct", "ord",
        "pow", "print", "range", "repr", "reversed", "round", "set", "slice", "sorted",
        "str", "sum", "tuple", "zip",
        "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError",
        "KeyError", "LookupError", "NotImplementedError", "RuntimeError", "StopIteration",
        "TypeError", "ValueError", "ZeroDivisionError",
    }
)  # fmt: skip

#: Names refused with a specific explanation (they would be missing at run time anyway).
FORBIDDEN_NAMES: dict[str, str] = {
    name: f"{name}() is not available in learned code"
    for name in (
        "open", "eval", "exec", "compile", "globals", "locals", "vars", "dir", "getattr",
        "setattr", "delattr", "hasattr", "breakpoint", "input", "help", "exit", "quit",
        "type", "object", "super", "memoryview", "bytearray", "classmethod", "staticmethod",
        "property", "issubclass", "id", "copyright", "credits", "license",
    )
}  # fmt: skip
FORBIDDEN_NAMES.update(
    {
        name: f"the module {name!r} cannot be used: learned code reaches the world only "
        "through base actions"
        for name in ("os", "sys", "subprocess", "socket", "ctypes", "builtins", "signal",
                     "shutil", "pathlib", "io", "importlib", "inspect", "gc", "threading",
                     "multiprocessing", "resource", "posix", "pty", "env")
    }
)  # fmt: skip

#: Attribute names that expose frames, code objects or formatting-based lookups.
FORBIDDEN_ATTRS: frozenset[str] = frozenset(
    {
        "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended",
        "cr_frame", "cr_code", "cr_await", "cr_running", "cr_origin",
        "ag_frame", "ag_code", "ag_await", "ag_running",
        "f_globals", "f_locals", "f_back", "f_builtins", "f_code", "f_trace", "f_lineno",
        "f_lasti", "tb_frame", "tb_next", "tb_lasti", "tb_lineno",
        "co_code", "co_consts", "co_names", "co_varnames", "co_filename",
        "format", "format_map", "mro", "with_traceback", "func_globals", "func_code",
    }
)  # fmt: skip

_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Import: "import statements are not allowed: use only base actions and learned actions",
    ast.ImportFrom: "import statements are not allowed: use only base actions and learned actions",
    ast.Global: "global statements are not allowed: pass values as arguments and return them",
    ast.ClassDef: "class definitions are not allowed: write plain functions",
    ast.AsyncFunctionDef: "async functions are not allowed: write plain functions",
    ast.Await: "await is not allowed",
    ast.AsyncFor: "async for is not allowed",
    ast.AsyncWith: "async with is not allowed",
    ast.Match: "match statements are not allowed: use if/elif",
}


def parse(source: str, filename: str) -> tuple[ast.Module | None, list[str]]:
    """Parse ``source``; on a syntax error return ``None`` and one problem line."""
    try:
        return pyast.parse(source, filename=filename), []
    except SyntaxError as exc:
        where = f"line {exc.lineno}" if exc.lineno else "unknown line"
        return None, [f"{filename} {where}: syntax error: {exc.msg}"]
    except ValueError as exc:  # null bytes and the like
        return None, [f"{filename}: cannot be parsed: {exc}"]


def check_tree(tree: ast.AST, filename: str, allowed: Iterable[str] = ()) -> list[str]:
    """Every policy problem in ``tree``, one readable line each.

    ``allowed`` are the environment's base-action names: a base action may carry a
    name that is refused otherwise (tyreworld's ``open``), because inside the sandbox
    that name is the host-side action, never the builtin.
    """
    problems: list[str] = []
    permitted = frozenset(allowed)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        where = f"{filename} line {line}" if line else filename
        if isinstance(node, ast.Name) and node.id in permitted:
            continue
        problem = _node_problem(node)
        if problem:
            problems.append(f"{where}: {problem}")
    return list(dict.fromkeys(problems))


def _node_problem(node: ast.AST) -> str | None:
    for kind, why in _REFUSED_NODES.items():
        if isinstance(node, kind):
            return why
    if isinstance(node, ast.Name):
        return _name_problem(node.id)
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            return f"attribute {node.attr!r} is not allowed: names starting with '_' are private"
        if node.attr in FORBIDDEN_ATTRS:
            return f"attribute {node.attr!r} is not allowed in learned code"
    if isinstance(node, ast.FunctionDef) and node.name.startswith("_"):
        return f"function name {node.name!r} is not allowed: names starting with '_' are private"
    if isinstance(node, ast.FunctionDef | ast.Lambda):
        return _args_problem(node.args)
    if isinstance(node, ast.ExceptHandler) and node.name and node.name.startswith("_"):
        return f"name {node.name!r} is not allowed: names starting with '_' are private"
    if isinstance(node, ast.keyword) and node.arg and node.arg.startswith("_"):
        return f"keyword {node.arg!r} is not allowed: names starting with '_' are private"
    return None


def _name_problem(name: str) -> str | None:
    if name.startswith("_"):
        return f"name {name!r} is not allowed: names starting with '_' are private"
    return FORBIDDEN_NAMES.get(name)


def _args_problem(args: ast.arguments) -> str | None:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    for arg in every:
        if arg is not None and arg.arg.startswith("_"):
            return f"parameter {arg.arg!r} is not allowed: names starting with '_' are private"
    return None


def check_source(source: str, filename: str = "<code>", allowed: Iterable[str] = ()) -> list[str]:
    """Policy problems (syntax errors included) of a piece of source."""
    tree, problems = parse(source, filename)
    return problems if tree is None else check_tree(tree, filename, allowed)


def check_learned(
    name: str, source: str, reserved: Iterable[str] = ()
) -> tuple[ast.Module | None, list[str]]:
    """Check one learned action: policy, shape (function definitions only), its name.

    ``reserved`` holds base-action names, which learned code must not redefine.
    """
    filename = f"<learned:{name}>"
    tree, problems = parse(source, filename)
    if tree is None:
        return None, problems
    reserved_set = set(reserved)
    problems = check_tree(tree, filename, reserved_set)
    if not name.isidentifier() or name.startswith("_"):
        problems.append(f"{filename}: {name!r} is not a valid public function name")
    defined: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef):
            defined.append(stmt.name)
            if stmt.name in reserved_set:
                problems.append(
                    f"{filename} line {stmt.lineno}: {stmt.name!r} is a base action and "
                    "cannot be redefined"
                )
        elif isinstance(stmt, ast.Assign | ast.AnnAssign) and _is_literal(stmt.value):
            continue
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        else:
            problems.append(
                f"{filename} line {stmt.lineno}: only function definitions and constant "
                "assignments (NAME = literal) may appear at the top level"
            )
    if name not in defined and not problems:
        problems.append(f"{filename}: the source must define a function named {name!r}")
    return tree, list(dict.fromkeys(problems))


def _is_literal(node: ast.expr | None) -> bool:
    if node is None:
        return False
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True
