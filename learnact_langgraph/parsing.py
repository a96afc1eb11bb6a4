"""Reading model output: action lines, code blocks, functions and revisions.

Models add prefixes, code fences and chatter around what we asked for. Everything here
is tolerant and never raises on bad output: a line that cannot be used comes back as
``kind="unparsable"`` so the agent records an invalid step instead of crashing.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Literal

from learnact_langgraph import pyast

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PREFIX = re.compile(r"^\s*(?:>+\s*)?(?:action|act|code|python)\s*\d*\s*[:：]\s*", re.IGNORECASE)
_THINK = re.compile(r"^\s*(?:think|thought)\s*\d*\s*[:：]\s*(.*)$", re.IGNORECASE | re.DOTALL)
MAX_ACTION_CHARS = 2_000


@dataclass(frozen=True)
class ParsedAction:
    kind: Literal["code", "think", "unparsable"]
    text: str
    reason: str = ""


def _strip_line(line: str) -> str:
    line = _PREFIX.sub("", line.strip())
    line = line.strip().strip("`").strip()
    while line.endswith(".") and not line.endswith(".."):
        line = line[:-1].rstrip()
    return line


def parse_action(text: str, *, allow_think: bool = False) -> ParsedAction:
    """The agent's one line of Python (or a Think line) from a model reply."""
    if not text or not text.strip():
        return ParsedAction("unparsable", "", "the reply was empty")
    body = text
    blocks = extract_code_blocks(text)
    if blocks:
        body = blocks[0]
    for raw in body.splitlines():
        if not raw.strip():
            continue
        think = _THINK.match(raw)
        if think and allow_think:
            return ParsedAction("think", think.group(1).strip())
        line = _strip_line(raw)
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_ACTION_CHARS:
            return ParsedAction("unparsable", line[:200], "the line is too long")
        try:
            tree = pyast.parse(line, mode="exec")
        except SyntaxError as exc:
            return ParsedAction("unparsable", line, f"syntax error: {exc.msg}")
        if not any(isinstance(n, ast.Call) for n in ast.walk(tree)):
            return ParsedAction("unparsable", line, "the line calls no action")
        return ParsedAction("code", line)
    return ParsedAction("unparsable", text.strip()[:200], "no line of code was found")


def extract_code_blocks(text: str) -> list[str]:
    """The contents of fenced code blocks (python or unlabelled), in order."""
    blocks = []
    for lang, body in _FENCE.findall(text or ""):
        if lang.lower() in ("", "python", "py", "python3"):
            blocks.append(body.strip("\n"))
    return blocks


@dataclass(frozen=True)
class ExtractedCode:
    functions: dict[str, str] = field(default_factory=dict)
    error: str = ""


def extract_functions(text: str) -> ExtractedCode:
    """Top-level functions (name -> source) from every code block in ``text``.

    Top-level statements other than ``def`` (usage examples, imports) are dropped: the
    learner checks functions by running them in the sandbox, not by trusting examples.
    """
    blocks = extract_code_blocks(text)
    if not blocks:
        return ExtractedCode(error="no ```python block was found")
    functions: dict[str, str] = {}
    for code in blocks:
        try:
            tree = pyast.parse(code)
        except SyntaxError as exc:
            return ExtractedCode(
                error=f"SyntaxError: {exc.msg} (line {exc.lineno}): {(exc.text or '').strip()}"
            )
        lines = code.splitlines()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                start = min([d.lineno for d in node.decorator_list] + [node.lineno])
                end = node.end_lineno or node.lineno
                functions[node.name] = "\n".join(lines[start - 1 : end])
    if not functions:
        return ExtractedCode(error="the code defines no top-level function")
    return ExtractedCode(functions=functions)


def called_names(code: str) -> list[str]:
    """Names of the functions a line calls directly, in order, without repeats."""
    try:
        tree = pyast.parse(code)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id not in names:
                names.append(node.func.id)
    return names


@dataclass(frozen=True)
class Revision:
    kind: Literal["update", "plan", "invalid"]
    target: str
    reason: str
    note: str = ""
    functions: dict[str, str] = field(default_factory=dict)
    error: str = ""


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
        return Revision("update", target, reason, functions=extracted.functions)
    return Revision("invalid", target, reason, error="the answer says neither Update nor Plan")
