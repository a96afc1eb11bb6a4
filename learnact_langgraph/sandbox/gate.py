"""The gate: the one check that decides whether learned code may run, load and publish.

The learner's repair loop (:mod:`learnact_langgraph.code_checks`), the sandbox
(``Sandbox.check``, ``load`` and ``run``), :class:`~learnact_langgraph.actions.LearnedAction`
and the library's publish and import paths all ask the gate, so code that passes it
here loads, runs and publishes everywhere. Every refusal is one line saying how to
rewrite the code; nothing the code contains (deep nesting, huge size, null bytes,
odd characters) makes the gate raise instead of answering.

An action's source may hold imports of the allowed modules, top-level
``NAME = literal`` constants and exactly one top-level ``def`` named like the action.
"""

from __future__ import annotations

import ast
import functools
import io
import keyword
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from learnact_langgraph import pyast
from learnact_langgraph.sandbox import policy
from learnact_langgraph.sandbox.policy import AVAILABLE_NAMES, SAFE_BUILTINS
from learnact_langgraph.sandbox.stdlib_modules import ALLOWED_MODULES

__all__ = [
    "ALLOWED_MODULES",
    "AVAILABLE_NAMES",
    "MAX_DEPTH",
    "MAX_SOURCE_CHARS",
    "SAFE_BUILTINS",
    "action_shape",
    "base_key",
    "check_action",
    "check_actions",
    "check_code",
    "check_parsed",
    "clear_verdicts",
    "is_literal",
    "kept_action_shape",
    "kept_parse",
    "parse_source",
]

#: Longer sources are refused before parsing (real actions are a few kB).
MAX_SOURCE_CHARS = 100_000
#: Deeper syntax trees are refused: the worker must be able to compile what passes.
MAX_DEPTH = 100
_SKIPPED_TOKENS = {tokenize.STRING, tokenize.COMMENT} | {
    t for t in (getattr(tokenize, "FSTRING_MIDDLE", None),) if t is not None
}


def parse_source(source: str, filename: str = "<code>") -> tuple[ast.Module | None, list[str]]:
    """The syntax tree of ``source``, or ``None`` and why it cannot be used at all.

    Refuses sources over :data:`MAX_SOURCE_CHARS`, syntax errors, null bytes, lone
    surrogates, and trees deeper than :data:`MAX_DEPTH` (whatever exhausts the parser).
    """
    if not isinstance(source, str):
        return None, [f"{filename}: the source must be text, not {type(source).__name__}"]
    if len(source) > MAX_SOURCE_CHARS:
        return None, [
            f"{filename}: the source is {len(source)} characters long (limit "
            f"{MAX_SOURCE_CHARS}): write shorter code"
        ]
    try:
        tree: ast.Module = pyast.parse(source, filename=filename)
    except SyntaxError as exc:
        where = f"{filename} line {exc.lineno}" if exc.lineno else filename
        msg = str(exc.msg).replace("\n", " ")
        return None, [f"{where}: syntax error: {msg} (the source does not parse; fix the syntax)"]
    except (MemoryError, RecursionError):
        return None, [f"{filename}: the code is nested too deeply to parse: flatten it"]
    except Exception as exc:  # null bytes (ValueError), surrogates (UnicodeError), ...
        why = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:200]
        return None, [f"{filename}: the source cannot be parsed ({why}); write plain Python"]
    if _depth(tree) > MAX_DEPTH:
        return None, [
            f"{filename}: the code is nested more than {MAX_DEPTH} levels deep: split it "
            "into smaller expressions or functions"
        ]
    return tree, []


def _depth(tree: ast.AST) -> int:
    """The tree's depth (the root is 1), or :data:`MAX_DEPTH` + 1 once it is deeper;
    counted a level at a time (``policy.levels``), three times faster than a
    ``(node, depth)`` pair per node through ``ast.iter_child_nodes``."""
    depth = 0
    for _ in policy.levels(tree):
        depth += 1
        if depth > MAX_DEPTH:
            break
    return depth


def _non_ascii_names(source: str, filename: str) -> list[str]:
    """Identifiers written with non-ASCII characters, found on the tokens.

    The parser folds some of them to ASCII (``ｏｐｅｎ`` becomes ``open``), so the tree
    alone would miss them; string literals and comments may hold any text.
    """
    if source.isascii():
        return []
    problems = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type not in _SKIPPED_TOKENS and not tok.string.isascii():
                problems.append(
                    f"{filename} line {tok.start[0]}: name {tok.string!r} is not allowed: use "
                    "ASCII letters, digits and underscores in names"
                )
    except Exception:  # tokenize disagrees with the parser: judge by the tree alone
        pass
    return problems


def check_parsed(
    tree: ast.Module, source: str, filename: str, base_actions: Iterable[str] | None = ()
) -> list[str]:
    """Policy problems of an already parsed source (see :func:`check_code`)."""
    return _policy_problems(source, filename, policy.findings(tree), base_actions)


def _policy_problems(
    source: str, filename: str, found: list[policy.Finding], base_actions: Iterable[str] | None
) -> list[str]:
    problems = _non_ascii_names(source, filename)
    problems += policy.judge(found, filename, base_actions)
    return list(dict.fromkeys(problems))


def check_code(
    source: str, *, base_actions: Iterable[str] | None = (), filename: str = "<code>"
) -> list[str]:
    """Problems of any piece of learned code or agent code (empty when it may run).

    ``base_actions`` are the environment's base-action names (they may carry names
    refused otherwise, like tyreworld's ``open``); ``None`` when they are unknown, in
    which case names a base action might carry are not judged.
    """
    tree, problems = parse_source(source, filename)
    if tree is None:
        return problems
    return check_parsed(tree, source, filename, base_actions)


def check_action(name: str, source: str, *, base_actions: Iterable[str] | None = ()) -> list[str]:
    """Problems of the learned action ``name`` (empty when it loads, runs and publishes).

    Adds to :func:`check_code` the action's shape: a valid public name that hides no
    builtin, module or base action, and a source of allowed imports, literal
    constants and exactly one top-level ``def name(...)``.
    """
    return list(_action_problems(name, source, base_key(base_actions)))


def base_key(base_actions: Iterable[str] | None) -> tuple[str, ...] | None:
    """Base-action names as one key: only membership counts, so a set and a list of the
    same names (the library passes both) are the same verdict."""
    return None if base_actions is None else tuple(sorted(set(base_actions)))


# A pure function of its arguments, asked again for the same candidates by the
# learner's checks, the sandbox's loads and the library's publishing: kept.
@functools.lru_cache(maxsize=2048)
def _action_problems(name: str, source: str, base: tuple[str, ...] | None) -> tuple[str, ...]:
    listed = None if base is None else list(base)
    _, problems, parsed = _shape(name, source, listed, shared=True)
    if parsed.tree is None:
        return tuple(problems)
    problems += _policy_problems(source, f"<learned:{name}>", parsed.findings(), listed)
    return tuple(dict.fromkeys(problems))


#: Sources up to this long have their parse kept (:func:`_parsed`).
_SHARED_PARSE_CHARS = 20_000


@dataclass
class _Parse:
    """A source's tree (``None``: refused, with ``problems``), and its policy findings
    once asked for: the same for every set of base actions."""

    tree: ast.Module | None
    problems: tuple[str, ...]
    _findings: list[policy.Finding] | None = None

    def findings(self) -> list[policy.Finding]:
        if self._findings is None:
            assert self.tree is not None
            self._findings = policy.findings(self.tree)
        return self._findings


@functools.lru_cache(maxsize=16)
def _parsed(source: str) -> _Parse:
    """:func:`parse_source`, kept for a few sources: publishing or importing a version
    reads its name and signature and asks the gate without and then with the base
    actions, and each of those parsed and walked the same source again. A tree does
    not depend on the file name (only a refusal names it). The trees are shared, so
    a change to one would change the gate's later verdicts on that source: besides
    the gate, only :func:`kept_parse` and :func:`kept_action_shape` hand them out, to
    the package's readers of a new version's name and signature, which only read
    them. Code that changes a tree parses its own (:func:`parse_source`)."""
    tree, problems = parse_source(source, "<kept>")
    return _Parse(tree, tuple(problems))


def _parse(source: str, filename: str, shared: bool) -> _Parse:
    if shared and isinstance(source, str) and len(source) <= _SHARED_PARSE_CHARS:
        kept = _parsed(source)
        if kept.tree is not None:
            return kept
    tree, problems = parse_source(source, filename)
    return _Parse(tree, tuple(problems))


def kept_parse(source: str, filename: str = "<code>") -> tuple[ast.Module | None, list[str]]:
    """:func:`parse_source` through the gate's kept parses: the tree is shared with the
    gate's later checks of the same source, so read it and never change it."""
    parsed = _parse(source, filename, shared=True)
    return parsed.tree, list(parsed.problems)


def clear_verdicts() -> None:
    """Forget the kept verdicts of :func:`check_action` (for timing a cold check)."""
    _action_problems.cache_clear()
    _parsed.cache_clear()


def check_actions(
    sources: Mapping[str, str], *, base_actions: Iterable[str] | None = ()
) -> list[str]:
    """Problems of a set of learned actions (name -> source), every action's in order.

    Actions of a set cannot disturb each other: the sandbox runs each source in its
    own namespace, so two actions may hold constants of the same name.
    """
    base = None if base_actions is None else list(base_actions)
    return [p for name, src in sources.items() for p in check_action(name, src, base_actions=base)]


def action_shape(
    name: str, source: str, *, base_actions: Iterable[str] | None = None
) -> tuple[ast.FunctionDef | None, list[str]]:
    """The ``def name`` node and the shape problems only (name, parse, top level).

    This is what a signature can be read from; :func:`check_action` adds the policy.
    """
    base = None if base_actions is None else list(base_actions)
    node, problems, _ = _shape(name, source, base)
    return (node if not problems else None), problems


def kept_action_shape(name: str, source: str) -> tuple[ast.FunctionDef | None, list[str]]:
    """:func:`action_shape` with unknown base actions, from the gate's kept parse: the
    node is shared with the gate's later checks of the same source, so read it and
    never change it."""
    node, problems, _ = _shape(name, source, None, shared=True)
    return (node if not problems else None), problems


def _shape(
    name: str, source: str, base: list[str] | None, *, shared: bool = False
) -> tuple[ast.FunctionDef | None, list[str], _Parse]:
    filename = f"<learned:{name}>"
    problems = _name_problems(name, filename, base)
    parsed = _parse(source, filename, shared)
    tree = parsed.tree
    if tree is None:
        return None, problems + list(parsed.problems), parsed
    found: ast.FunctionDef | None = None
    for stmt in tree.body:
        where = f"{filename} line {stmt.lineno}"
        if isinstance(stmt, ast.FunctionDef) and stmt.name == name:
            if found is not None:
                problems.append(f"{where}: the source defines {name!r} twice: keep one definition")
            found = stmt
        elif isinstance(stmt, ast.FunctionDef):
            problems.append(
                f"{where}: the source defines {stmt.name!r} but the action is named {name!r}: "
                f"nest helpers inside `def {name}` or make each one its own action"
            )
            if base is not None and stmt.name in base:
                problems.append(f"{where}: {stmt.name!r} is a base action and cannot be redefined")
        elif not isinstance(stmt, ast.Import | ast.ImportFrom):
            problems += [f"{where}: {p}" for p in _top_level_problems(stmt, name, base)]
    if found is None and not problems:
        problems.append(
            f"{filename}: the source does not define a function named {name!r}: write "
            f"`def {name}(...):`"
        )
    return found, list(dict.fromkeys(problems)), parsed


def _name_problems(name: str, filename: str, base: list[str] | None) -> list[str]:
    if not isinstance(name, str) or not name.isidentifier():
        return [
            f"{filename}: action name {name!r} is not a Python identifier: use letters, "
            "digits and underscores, not starting with a digit"
        ]
    if keyword.iskeyword(name):
        return [f"{filename}: action name {name!r} is a Python keyword: choose another name"]
    if not name.isascii():
        return [
            f"{filename}: action name {name!r} is not allowed: use ASCII letters, digits and "
            "underscores in names"
        ]
    if name.startswith("_"):
        return [
            f"{filename}: action name {name!r} starts with '_', which is reserved for private "
            "names: choose a public name"
        ]
    if name in AVAILABLE_NAMES:
        return [
            f"{filename}: action name {name!r} would hide the builtin or module of that name: "
            "choose another name"
        ]
    if base is not None and name in base:
        return [f"{filename}: {name!r} is a base action and cannot be redefined"]
    return []


def _top_level_problems(stmt: ast.stmt, name: str, base: list[str] | None) -> list[str]:
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return []  # a docstring or a stray literal
    targets: list[ast.expr] = []
    value: ast.expr | None = None
    if isinstance(stmt, ast.Assign):
        targets, value = list(stmt.targets), stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets, value = [stmt.target], stmt.value
    if not targets or not all(isinstance(t, ast.Name) for t in targets):
        what = type(stmt).__name__.lower()
        return [
            f"only imports of allowed modules, constants (NAME = literal) and `def {name}(...)` "
            f"may appear at the top level: move this {what} statement into `def {name}`"
        ]
    assert value is not None
    problems = []
    if not is_literal(value):
        problems.append(
            "a top-level constant must be a literal (a string, number, list, dict...): "
            f"compute the value inside `def {name}`"
        )
    for target in targets:
        assert isinstance(target, ast.Name)
        if base is not None and target.id in base:
            problems.append(
                f"the constant {target.id!r} would hide the base action of that name: rename it"
            )
    return problems


def is_literal(node: ast.expr) -> bool:
    """Whether ``node`` is a literal value (what a constant or a default may be)."""
    try:
        ast.literal_eval(node)
    except Exception:  # ValueError, TypeError, SyntaxError, MemoryError, RecursionError
        return False
    return True
