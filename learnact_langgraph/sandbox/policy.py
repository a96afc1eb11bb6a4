"""The AST policy: what learned code and agent lines may contain, node by node.

The policy is the first of several layers (restricted builtins, module proxies, a
separate worker process with kernel limits and no access to the environment come
after it). Its job is to refuse the well-known escape routes early, with a one-line
message that tells the model how to rewrite the code, before any code runs. The gate
(:mod:`learnact_langgraph.sandbox.gate`) parses safely and applies these rules.
"""

from __future__ import annotations

import _string
import ast
import functools
import string
from collections.abc import Iterable, Iterator

from learnact_langgraph.sandbox.stdlib_modules import ALLOWED_MODULES, public_api

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

#: Every name the sandbox provides without a definition: safe builtins and modules.
AVAILABLE_NAMES: frozenset[str] = SAFE_BUILTINS | frozenset(ALLOWED_MODULES)
MODULE_LIST = ", ".join(ALLOWED_MODULES)

_HINTS = {
    "type": "use isinstance(x, str)",
    "getattr": "keep data keyed by name in a dict",
    "setattr": "keep data keyed by name in a dict",
    "hasattr": "keep data keyed by name in a dict",
    "delattr": "keep data keyed by name in a dict",
    "globals": "pass values as parameters and return results",
    "locals": "pass values as parameters and return results",
    "vars": "pass values as parameters and return results",
    "eval": "write the code itself",
    "exec": "write the code itself",
    "compile": "write the code itself",
    "open": "act on the world through base actions",
    "input": "take values as parameters",
}

#: Names refused with a specific explanation (they would be missing at run time anyway).
FORBIDDEN_NAMES: dict[str, str] = {
    name: f"{name}() is not available in learned code"
    + (f": {_HINTS[name]}" if name in _HINTS else "")
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
        f"through base actions (modules it may use: {MODULE_LIST})"
        for name in ("os", "sys", "subprocess", "socket", "ctypes", "builtins", "signal",
                     "shutil", "pathlib", "io", "importlib", "inspect", "gc", "threading",
                     "multiprocessing", "resource", "posix", "pty", "env")
    }
)  # fmt: skip

#: Attribute names that expose frames, code objects or the class hierarchy.
FORBIDDEN_ATTRS: frozenset[str] = frozenset(
    {
        "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended",
        "cr_frame", "cr_code", "cr_await", "cr_running", "cr_origin",
        "ag_frame", "ag_code", "ag_await", "ag_running",
        "f_globals", "f_locals", "f_back", "f_builtins", "f_code", "f_trace", "f_lineno",
        "f_lasti", "tb_frame", "tb_next", "tb_lasti", "tb_lineno",
        "co_code", "co_consts", "co_names", "co_varnames", "co_filename",
        "mro", "with_traceback", "func_globals", "func_code",
    }
)  # fmt: skip
FORMAT_ATTRS = frozenset({"format", "format_map"})

_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Global: "global statements are not allowed: pass the value as a parameter and "
    "return the new value",
    ast.ClassDef: "class definitions are not allowed: use plain functions and dicts",
    ast.AsyncFunctionDef: "async functions are not allowed: write a plain def (base actions "
    "are ordinary calls)",
    ast.Await: "await is not allowed: call functions directly",
    ast.AsyncFor: "async for is not allowed: use a plain for loop",
    ast.AsyncWith: "async with is not allowed: write the code without it",
    ast.Match: "match statements are not allowed: use if/elif",
}
_REFUSED_TYPES = tuple(_REFUSED_NODES)
_IMPORT_HELP = f"only these modules can be imported: {MODULE_LIST}"
_LITERAL_DEFAULT = "must be a literal (a string, number, True/False/None or a tuple of them)"


def check_tree(tree: ast.AST, filename: str, allowed: Iterable[str] | None = ()) -> list[str]:
    """Every policy problem in ``tree``, one readable line each.

    ``allowed`` are the environment's base-action names: a base action may carry a
    name that is refused otherwise (tyreworld's ``open``), because inside the sandbox
    that name is the host-side action, never the builtin. ``None`` means the base
    actions are unknown: names a base action might carry are then not judged.
    """
    return judge(findings(tree), filename, allowed)


#: One checked node of a tree: its line, what is wrong with it whatever the base
#: actions are, and the name it reads (``ast.Name`` only), judged per base actions.
Finding = tuple[int | None, tuple[str, ...], str | None]


def findings(tree: ast.AST) -> list[Finding]:
    """The part of :func:`check_tree` that does not depend on the base actions, in its
    order: the gate judges a version without and then with the environment's base
    actions, and the walk is what costs, so one walk serves both."""
    found: list[Finding] = []
    for node in walk(tree):
        if not _checked(type(node)):
            continue
        fixed = tuple(_fixed_problems(node))
        name = node.id if isinstance(node, ast.Name) else None
        if fixed or name is not None:
            found.append((getattr(node, "lineno", None), fixed, name))
    return found


def judge(found: Iterable[Finding], filename: str, allowed: Iterable[str] | None = ()) -> list[str]:
    """:func:`check_tree`'s problems from the tree's :func:`findings`."""
    problems: list[str] = []
    judge_names = allowed is not None
    permitted = frozenset(allowed or ())
    for line, fixed, name in found:
        lines = list(fixed)
        if name is not None and name not in permitted:
            problem = name_problem(name, judge_names)
            if problem:
                lines.append(problem)
        if lines:
            where = f"{filename} line {line}" if line else filename
            problems += [f"{where}: {problem}" for problem in lines]
    return list(dict.fromkeys(problems))


def levels(tree: ast.AST) -> Iterator[list[ast.AST]]:
    """The nodes of ``tree`` a level at a time (the root's level first), each level in
    :func:`ast.walk`'s order: every learned action is walked when it is checked, and
    ``ast.walk``'s queue and generator of children cost more than the checks."""
    level = [tree]
    while level:
        yield level
        below: list[ast.AST] = []
        for node in level:
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, list):
                    below += [v for v in value if isinstance(v, ast.AST)]
                elif isinstance(value, ast.AST):
                    below.append(value)
        level = below


def walk(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` in :func:`ast.walk`'s order (breadth first, fields in order)."""
    for level in levels(tree):
        yield from level


#: Every node type :func:`_fixed_problems` (or :func:`_identifiers`) looks at; a node of
#: any other type has no problem to report, and most nodes (loads, constants, calls)
#: are of another type.
_CHECKED_TYPES = (
    *_REFUSED_TYPES,
    *(ast.Name, ast.arg, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda),
    *(ast.Attribute, ast.keyword, ast.ExceptHandler, ast.alias, ast.Global, ast.Nonlocal),
    *(ast.Import, ast.ImportFrom, ast.comprehension),
)


_checked_kinds: dict[type, bool] = {}


def _checked(kind: type) -> bool:
    known = _checked_kinds.get(kind)
    if known is None:
        known = _checked_kinds[kind] = issubclass(kind, _CHECKED_TYPES)
    return known


def _fixed_problems(node: ast.AST) -> Iterator[str]:
    """The problems of one node that do not depend on the base actions (all but the
    judgement of a name it reads)."""
    if isinstance(node, _REFUSED_TYPES):
        for kind, why in _REFUSED_NODES.items():
            if isinstance(node, kind):
                yield why
    yield from (
        f"name {n!r} is not allowed: use ASCII letters, digits and underscores in names"
        for n in _identifiers(node)
        if not n.isascii()
    )
    if isinstance(node, ast.Name):
        return
    if isinstance(node, ast.Attribute):
        problem = _attribute_problem(node)
        if problem:
            yield problem
    elif isinstance(node, ast.FunctionDef | ast.Lambda):
        yield from _function_problems(node)
    elif isinstance(node, ast.Import | ast.ImportFrom):
        yield from _import_problems(node)
    elif isinstance(node, ast.ExceptHandler) and node.name:
        yield from _private("name", node.name)
    elif isinstance(node, ast.keyword) and node.arg:
        yield from _private("keyword", node.arg)
    elif isinstance(node, ast.comprehension) and node.is_async:
        yield "async comprehensions are not allowed: use a plain for"


def _identifiers(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.keyword):
        return [node.arg] if node.arg else []
    if isinstance(node, ast.ExceptHandler):
        return [node.name] if node.name else []
    if isinstance(node, ast.alias):
        return [node.name, *([node.asname] if node.asname else [])]
    if isinstance(node, ast.Global | ast.Nonlocal):
        return list(node.names)
    return []


def name_problem(name: str, judge_names: bool = True) -> str | None:
    """Why a name may not be used (``None``: fine); ``_`` is an ordinary name."""
    if name.startswith("_") and name != "_":
        return (
            f"name {name!r} is not allowed: names starting with '_' are private; "
            f"rename it (e.g. {name.lstrip('_') or 'value'!r})"
        )
    return FORBIDDEN_NAMES.get(name) if judge_names else None


def _private(what: str, name: str) -> Iterator[str]:
    if name.startswith("_") and name != "_":
        yield (
            f"{what} {name!r} is not allowed: names starting with '_' are private; "
            f"rename it (e.g. {name.lstrip('_') or 'value'!r})"
        )


def _attribute_problem(node: ast.Attribute) -> str | None:
    attr = node.attr
    if attr.startswith("_"):
        return f"attribute {attr!r} is not allowed: names starting with '_' are private"
    if attr in FORBIDDEN_ATTRS:
        return f"attribute {attr!r} is not allowed in learned code"
    if attr in FORMAT_ATTRS:
        value = node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return format_string_problem(value.value)
        return (
            f"str.{attr} is only allowed on a literal format string ('{{}} at {{}}'.{attr}"
            "(...)): use an f-string such as f'{a} at {b}' instead"
        )
    return None


def format_string_problem(text: str) -> str | None:
    """Why a literal format string is refused: a replacement field reads an attribute."""
    shown = text if len(text) <= 60 else text[:57] + "..."
    try:
        for field in _fields(text, 0):
            _, rest = _string.formatter_field_name_split(field)
            if any(is_attr for is_attr, _ in rest):
                return (
                    f"the format string {shown!r} reads an attribute in {{{field}}}: "
                    "compute the value first and pass it to format()"
                )
    except (ValueError, TypeError, RecursionError) as exc:
        return f"the format string {shown!r} is invalid ({exc}): use an f-string"
    return None


def _fields(text: str, depth: int) -> Iterator[str]:
    if depth > 2:
        raise ValueError("format specs are nested too deeply")
    for _, field, spec, _ in string.Formatter().parse(text):
        if field is not None:
            yield field
        if spec:
            yield from _fields(spec, depth + 1)


def _function_problems(node: ast.FunctionDef | ast.Lambda) -> Iterator[str]:
    fn = f"{node.name!r}" if isinstance(node, ast.FunctionDef) else "the lambda"
    if isinstance(node, ast.FunctionDef):
        yield from _private("function name", node.name)
        if node.decorator_list:
            yield (
                f"decorators are not allowed (on {fn}): remove the '@' line and call "
                "functions directly"
            )
    args = node.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            yield from _private("parameter", arg.arg)
    if args.vararg:
        yield (
            f"*{args.vararg.arg} is not allowed in {fn}: list each parameter by name, or "
            "take one list parameter"
        )
    if args.kwarg:
        yield (
            f"**{args.kwarg.arg} is not allowed in {fn}: list each parameter by name, or "
            "take one dict parameter"
        )
    if args.kwonlyargs and not args.vararg:
        yield f"keyword-only parameters (after '*') are not allowed in {fn}: remove the '*'"
    if args.posonlyargs:
        yield f"positional-only parameters (before '/') are not allowed in {fn}: remove the '/'"
    named = [*args.posonlyargs, *args.args]
    pairs = list(zip(named[len(named) - len(args.defaults) :], args.defaults, strict=True))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d]
    for arg, default in pairs:
        if not is_plain_literal(default):
            fix = (
                "use a nested def instead of a lambda with defaults"
                if isinstance(node, ast.Lambda)
                else f"write {arg.arg}=None and compute the value inside the function"
            )
            yield f"the default of parameter {arg.arg!r} in {fn} {_LITERAL_DEFAULT}: {fix}"


def is_plain_literal(node: ast.expr) -> bool:
    """An immutable literal: a constant, a signed number, or a tuple of them."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return isinstance(node.operand, ast.Constant) and isinstance(
            node.operand.value, int | float | complex
        )
    if isinstance(node, ast.Tuple):
        return all(is_plain_literal(e) for e in node.elts)
    return False


@functools.cache
def _api(module: str) -> frozenset[str]:
    return frozenset(public_api(module))


def _import_problems(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name not in ALLOWED_MODULES:
                yield f"import of {alias.name!r} is not allowed: {_IMPORT_HELP}"
            if alias.asname:
                yield from _private("name", alias.asname)
        return
    module = node.module or ""
    if node.level:
        yield f"relative imports are not allowed: {_IMPORT_HELP}"
        return
    if module not in ALLOWED_MODULES:
        yield f"import from {module!r} is not allowed: {_IMPORT_HELP}"
        return
    api = _api(module)
    for alias in node.names:
        if alias.name == "*":
            yield f"'from {module} import *' is not allowed: import the names you use"
        elif alias.name not in api:
            yield (
                f"{alias.name!r} cannot be imported from {module!r}: it is not part of the "
                "module's public API offered to learned code"
            )
        if alias.asname:
            yield from _private("name", alias.asname)
