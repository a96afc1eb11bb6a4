"""Reading model output: action lines, code blocks, functions and revisions.

Models add prefixes, code fences and chatter around what we asked for. Everything here
is tolerant and never raises on bad output: a line that cannot be used comes back as
``kind="unparsable"`` so the agent records an invalid step instead of crashing.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

from learnact_langgraph import pyast
from learnact_langgraph.sandbox.gate import is_literal
from learnact_langgraph.sandbox.stdlib_modules import ALLOWED_MODULES

#: Modules learned code may import (their imports travel with the functions using them).
ALLOWED = frozenset(ALLOWED_MODULES)

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PREFIX = re.compile(r"^\s*(?:>+\s*)?(?:action|act|code|python)\s*\d*\s*[:：]\s*", re.IGNORECASE)
_THINK = re.compile(r"^\s*(?:think|thought)\s*\d*\s*[:：]\s*(.*)$", re.IGNORECASE | re.DOTALL)
MAX_ACTION_CHARS = 2_000


_OBSERVATION = re.compile(r"^\s*observation\s*\d*\s*[:：]", re.IGNORECASE)
_ACTION_LABEL = re.compile(r"^\s*(?:>+\s*)?(?:action|act)\s*\d*\s*[:：]", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedAction:
    """What one reply asks for: a line of code, a thought, or nothing usable.

    ``thought`` keeps a ``Think:`` line that came with an action in the same reply, so
    ReAct keeps both when the model writes them together.
    """

    kind: Literal["code", "think", "unparsable"]
    text: str
    reason: str = ""
    thought: str = ""


def _strip_line(line: str) -> str:
    line = _PREFIX.sub("", line.strip())
    line = line.strip().strip("`").strip()
    while line.endswith(".") and not line.endswith(".."):
        line = line[:-1].rstrip()
    return line


def _as_call(line: str) -> tuple[str, str]:
    """``(code, "")`` when ``line`` is one usable call, else ``("", why not)``."""
    if len(line) > MAX_ACTION_CHARS:
        return "", "the line is too long"
    try:
        tree = pyast.parse(line, mode="exec")
    except SyntaxError as exc:
        return "", f"syntax error: {exc.msg}"
    if not any(isinstance(n, ast.Call) for n in ast.walk(tree)):
        return "", "the line calls no action"
    return line, ""


def _reply_lines(text: str) -> list[str]:
    """The reply's lines up to the first invented ``Observation:`` line."""
    blocks = extract_code_blocks(text)
    body = blocks[0] if blocks and not _THINK.match(text.strip()) else text
    lines: list[str] = []
    for raw in body.splitlines():
        if _OBSERVATION.match(raw):
            break
        if raw.strip().startswith("```"):
            continue
        lines.append(raw)
    return lines


def parse_action(text: str, *, allow_think: bool = False) -> ParsedAction:
    """The agent's one line of Python (or a thought) from a model reply.

    Real models wrap the action in chatter: a ``Think:`` line before it, an ``Action:``
    label, a code fence, prose, and invented ``Observation:`` lines after it. The first
    line that is one call is the action (a labelled line is preferred over prose that
    happens to parse); a thought is kept beside it. Without ``allow_think`` a thought
    alone is not a step.
    """
    return _parse_action(text, allow_think)


# The line functions below are pure functions of their text, and an agent sends the
# same replies again and again (every episode of a learning run replays the same
# moves): their results are kept, so a repeated line is not parsed and walked again.
@functools.lru_cache(maxsize=4096)
def _parse_action(text: str, allow_think: bool) -> ParsedAction:
    if not text or not text.strip():
        return ParsedAction("unparsable", "", "the reply was empty")
    thought: list[str] = []
    first_error = ""
    first_line = ""
    in_thought = False
    for raw in _reply_lines(text):
        if not raw.strip():
            in_thought = False
            continue
        think = _THINK.match(raw)
        if think:
            thought.append(think.group(1).strip())
            in_thought = True
            continue
        labelled = bool(_ACTION_LABEL.match(raw))
        line = _strip_line(raw)
        if not line or line.startswith("#"):
            continue
        code, why = _as_call(line)
        if code:
            return ParsedAction("code", code, thought=" ".join(thought))
        if in_thought and not labelled:
            thought.append(raw.strip())
            continue
        if not first_error:
            first_error, first_line = why, line
    if thought and allow_think:
        return ParsedAction("think", " ".join(thought))
    if first_error:
        return ParsedAction("unparsable", first_line, first_error)
    if thought:
        return ParsedAction("unparsable", " ".join(thought)[:200], "the reply has no action")
    return ParsedAction("unparsable", text.strip()[:200], "no line of code was found")


def quote_names(code: str, names: Collection[str]) -> str:
    """``move('roomb', 'rooma')`` from ``move(roomb, rooma)`` when both are object names.

    Small models often leave the quotes off object names; the line would only fail with a
    NameError. A bare name is quoted only when it is an object of the task, is read (not
    assigned or called) and is not bound in the line itself.
    """
    if not names:
        return code
    return _quoted(code, frozenset(names))


@functools.lru_cache(maxsize=4096)
def _quoted(code: str, names: frozenset[str]) -> str:
    try:
        tree = pyast.parse(code)
    except SyntaxError:
        return code
    bound = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    }
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    wanted = names - bound

    class _Quote(ast.NodeTransformer):
        changed = False

        def visit_Name(self, node: ast.Name) -> ast.AST:
            if isinstance(node.ctx, ast.Load) and node.id in wanted and id(node) not in called:
                self.changed = True
                return ast.copy_location(ast.Constant(node.id), node)
            return node

    quoter = _Quote()
    new = quoter.visit(tree)
    return ast.unparse(new) if quoter.changed else code


def extract_code_blocks(text: str) -> list[str]:
    """The contents of fenced code blocks (python or unlabelled), in order."""
    blocks = []
    for lang, body in _FENCE.findall(text or ""):
        if lang.lower() in ("", "python", "py", "python3"):
            blocks.append(body.strip("\n"))
    return blocks


@dataclass(frozen=True)
class ExtractedCode:
    """Functions found in a reply, with what could not be kept.

    ``problems`` are top-level statements the functions may depend on (imports,
    assignments, classes): dropping them would change what the code does, so the model
    is asked to fix them. ``dropped`` are harmless leftovers (example calls, prints,
    ``if __name__ == ...`` blocks) that are left out and only logged.
    """

    functions: dict[str, str] = field(default_factory=dict)
    error: str = ""
    problems: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    #: Top-level calls of the functions (the model's usage examples), for the dry run.
    calls: list[str] = field(default_factory=list)


def _first_line(lines: list[str], node: ast.stmt) -> str:
    text = lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
    return text[:80]


def _top_level(node: ast.stmt, lines: list[str]) -> tuple[str, str]:
    """``("problem", text)`` or ``("dropped", text)`` for a top-level non-``def``."""
    shown = _first_line(lines, node)
    if isinstance(node, ast.Import | ast.ImportFrom):
        return "problem", (
            f"`{shown}` was removed: only these modules can be used here: "
            f"{', '.join(sorted(ALLOWED))}. Use the listed actions, builtins "
            "and those modules."
        )
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        return "problem", (
            f"`{shown}` is outside every function and was removed, so a function using it "
            "would fail. Only constants (NAME = a literal value) may stay at the top level; "
            "compute other values inside the functions or make them parameters."
        )
    if isinstance(node, ast.ClassDef | ast.AsyncFunctionDef):
        return "problem", (
            f"`{shown}` was removed: only plain `def` functions are kept. Write it as a function."
        )
    return "dropped", shown


def extract_functions(text: str) -> ExtractedCode:
    """Top-level functions (name -> source) from every code block in ``text``.

    The learner checks functions by running them in the sandbox, not by trusting
    examples, so other top-level code is never kept; what is left out is reported.
    """
    blocks = extract_code_blocks(text)
    if not blocks:
        return ExtractedCode(error="no ```python block was found")
    functions: dict[str, str] = {}
    constants: dict[str, str] = {}
    problems: list[str] = []
    dropped: list[str] = []
    calls: list[tuple[str, ast.Call, list[str]]] = []
    for code in blocks:
        try:
            tree = pyast.parse(code)
        except SyntaxError as exc:
            return ExtractedCode(
                error=f"SyntaxError: {exc.msg} (line {exc.lineno}): {(exc.text or '').strip()}"
            )
        except (MemoryError, RecursionError, ValueError) as exc:
            return ExtractedCode(error=f"the code cannot be parsed ({type(exc).__name__})")
        lines = code.splitlines()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                start = min([d.lineno for d in node.decorator_list] + [node.lineno])
                end = node.end_lineno or node.lineno
                functions[node.name] = "\n".join(lines[start - 1 : end])
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue
            shared = _shared_names(node)
            if shared:
                text = "\n".join(lines[node.lineno - 1 : node.end_lineno or node.lineno])
                constants.update(dict.fromkeys(shared, text))
                continue
            call = _usage_call(node)
            if call is not None:
                calls.append((_first_line(lines, node), call, lines))
                continue
            kind, note = _top_level(node, lines)
            (problems if kind == "problem" else dropped).append(note)
    if not functions:
        return ExtractedCode(error="the code defines no top-level function", problems=problems)
    usage = []
    for shown, call, lines in calls:
        name = (
            call.func.id if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) else ""
        )
        if name in functions:
            usage.append(_segment(lines, call))
        else:
            dropped.append(shown)
    return ExtractedCode(
        functions=with_constants(functions, constants),
        problems=problems,
        dropped=dropped,
        calls=list(dict.fromkeys(usage)),
    )


def _shared_names(node: ast.stmt) -> list[str]:
    """Names a top-level line gives every function: a constant, or an allowed import."""
    if isinstance(node, ast.Import):
        if all(a.name in ALLOWED for a in node.names):
            return [(a.asname or a.name) for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.module in ALLOWED and node.level == 0:
            return [(a.asname or a.name) for a in node.names if a.name != "*"]
    elif _constant_name(node):
        return [_constant_name(node)]
    return []


def _constant_name(node: ast.stmt) -> str:
    """The name of a top-level ``NAME = literal`` constant, else ``""``."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value = node.targets[0], node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        target, value = node.target, node.value
    else:
        return ""
    if not isinstance(target, ast.Name) or not is_literal(value):
        return ""
    return target.id


def _usage_call(node: ast.stmt) -> ast.Call | None:
    """The call in a top-level ``f(...)``, ``print(f(...))`` or ``x = f(...)`` line."""
    value: ast.expr | None = None
    if isinstance(node, ast.Expr):
        value = node.value
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        value = node.value
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Name):
        return None
    if value.func.id == "print" and len(value.args) == 1 and isinstance(value.args[0], ast.Call):
        return value.args[0]
    return value


def _segment(lines: list[str], node: ast.expr) -> str:
    return ast.get_source_segment("\n".join(lines), node) or ast.unparse(node)


def with_constants(functions: dict[str, str], constants: dict[str, str]) -> dict[str, str]:
    """Each function's source with the top-level lines it reads put before it.

    ``constants`` maps a name to the line that binds it (``NAME = literal`` or an
    import of an allowed module). Every learned action is stored on its own, so such a
    line travels with each function that uses it instead of being dropped (which left
    a ``NameError``).
    """
    if not constants:
        return functions
    out = {}
    for name, source in functions.items():
        used = {n.id for n in ast.walk(pyast.parse(source)) if isinstance(n, ast.Name)} & set(
            constants
        )
        head = list(dict.fromkeys(constants[c] for c in constants if c in used))
        out[name] = "\n".join(head) + "\n\n" + source if head else source
    return out


def called_names(code: str) -> list[str]:
    """Names of the functions a line calls directly, in order, without repeats."""
    return list(_called(code))


@functools.lru_cache(maxsize=4096)
def _called(code: str) -> tuple[str, ...]:
    try:
        tree = pyast.parse(code)
    except SyntaxError:
        return ()
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id not in names:
                names.append(node.func.id)
    return tuple(names)


@dataclass(frozen=True)
class Revision:
    kind: Literal["update", "plan", "invalid"]
    target: str
    reason: str
    note: str = ""
    functions: dict[str, str] = field(default_factory=dict)
    error: str = ""
    problems: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def extracted(self) -> ExtractedCode:
        if self.kind == "invalid":
            return ExtractedCode(error=self.error)
        return ExtractedCode(self.functions, problems=self.problems, dropped=self.dropped)


_IMPROVE = re.compile(r"Improve\s*:\s*\**\s*(Update|Plan)\b\s*[:\-]?\s*\[?`?([A-Za-z_]\w*)?", re.I)
_REASON = re.compile(r"Failed reason\s*:\s*(.*?)(?:\n\s*Improve\s*:|\Z)", re.I | re.DOTALL)
_CONTENT = re.compile(r"Content\s*:\s*(.*)", re.I | re.DOTALL)


def parse_revision(text: str, default_target: str) -> Revision:
    """An Update (new function code) or Plan (a usage note) from a revision reply."""
    reason_m = _REASON.search(text or "")
    reason = reason_m.group(1).strip() if reason_m else ""
    improve = _IMPROVE.search(text or "")
    content_m = _CONTENT.search(text or "")
    content = content_m.group(1).strip() if content_m else ""
    kind = improve.group(1).lower() if improve else ("update" if "```" in (text or "") else "")
    target = (improve.group(2) if improve and improve.group(2) else "") or default_target
    if kind == "plan":
        note = re.sub(r"\n\s*\n+", "\n", content).strip().strip("`").strip()
        if not note:
            return Revision("invalid", target, reason, error="the Plan answer has no Content")
        return Revision("plan", target, reason, note=note)
    if kind == "update":
        extracted = extract_functions(content or text)
        if extracted.error:
            return Revision("invalid", target, reason, error=extracted.error)
        return Revision(
            "update",
            target,
            reason,
            functions=extracted.functions,
            problems=extracted.problems,
            dropped=extracted.dropped,
        )
    return Revision("invalid", target, reason, error="the answer says neither Update nor Plan")
