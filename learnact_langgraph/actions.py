"""A learned action: one Python function over base actions, with its history metadata.

The reference implementation kept each action as a CSV row and read its notes back
with ``eval``. Here an action is a frozen, JSON-serialisable pydantic model that is
checked on the way in: the name must be an identifier, the source must parse and
define exactly that function, and the function's parameters must be plain positional
ones (the sandbox and the tool wrappers pass arguments by position). The signature
and parameter list are *derived from the source's AST*, never evaluated, so the
stored signature can never disagree with the code.

Versioning fields (``version``, ``parent_version``, ``created_at``) are filled in by
:class:`~learnact_langgraph.library.ActionLibrary` when a version is written; an
action built by hand has ``version == 0`` until it is stored.
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from learnact_langgraph import pyast
from learnact_langgraph.errors import ActionValidationError

__all__ = ["ActionParam", "LearnedAction", "Provenance", "parse_function"]


class Provenance(BaseModel):
    """Where a version came from: which run, round, candidate, task and failure led to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str | None = None
    round: int | None = None
    candidate: int | None = None
    task_id: str | None = None
    failure: str | None = None
    #: Role -> model id, e.g. ``{"learner": "openai:gpt-4o-2024-08-06"}``.
    models: dict[str, str] = Field(default_factory=dict)
    #: Free-form extras (e.g. ``{"rollback_of": 2}``); values must be JSON-serialisable.
    extra: dict[str, Any] = Field(default_factory=dict)


class ActionParam(BaseModel):
    """One parameter as written in the source: annotation and default stay source text."""

    model_config = ConfigDict(frozen=True)

    name: str
    annotation: str | None = None
    default: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None

    def render(self) -> str:
        text = self.name + (f": {self.annotation}" if self.annotation else "")
        if self.default is not None:
            text += f" = {self.default}" if self.annotation else f"={self.default}"
        return text


def parse_function(name: str, source: str) -> tuple[ast.FunctionDef, tuple[ActionParam, ...]]:
    """Parse ``source`` and return the ``def name`` node and its parameters.

    Raises :class:`ActionValidationError` with a sentence that says what to fix.
    """
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ActionValidationError(
            f"Action name {name!r} is not a Python identifier; use letters, digits and "
            "underscores, not starting with a digit."
        )
    if name.startswith("_"):
        raise ActionValidationError(
            f"Action name {name!r} starts with an underscore; those names are reserved."
        )
    try:
        tree = pyast.parse(source)
    except SyntaxError as exc:
        raise ActionValidationError(
            f"The source of {name!r} does not parse (line {exc.lineno}: {exc.msg}); "
            "fix the Python syntax."
        ) from exc
    found: ast.FunctionDef | None = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            if found is not None:
                raise ActionValidationError(
                    f"The source defines {name!r} twice; keep one definition."
                )
            found = node
        elif isinstance(node, ast.Import | ast.ImportFrom):
            continue
        elif isinstance(node, ast.FunctionDef):
            raise ActionValidationError(
                f"The source defines {node.name!r} but the action is named {name!r}; "
                f"rename the function or nest helpers inside `def {name}`."
            )
        else:
            what = getattr(node, "name", type(node).__name__)
            raise ActionValidationError(
                f"The source of {name!r} may hold only imports and `def {name}(...)`; "
                f"remove the top-level {what!r}."
            )
    if found is None:
        raise ActionValidationError(
            f"The source does not define a function named {name!r}; write `def {name}(...):`."
        )
    args = found.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        raise ActionValidationError(
            f"{name!r} must take plain parameters only (def {name}(a, b='x')); "
            "remove *args, **kwargs, keyword-only and positional-only markers."
        )
    defaults: list[ast.expr | None] = [None] * (len(args.args) - len(args.defaults))
    defaults += list(args.defaults)
    params = tuple(
        ActionParam(
            name=a.arg,
            annotation=ast.unparse(a.annotation) if a.annotation else None,
            default=ast.unparse(d) if d is not None else None,
        )
        for a, d in zip(args.args, defaults, strict=True)
    )
    return found, params


@contextmanager
def _own_errors() -> Iterator[None]:
    """Give callers the :class:`ActionValidationError` a validator raised, not pydantic's.

    Pydantic wraps every ``ValueError`` raised in a validator (and every
    :class:`LearnActError` is one) into its own ``ValidationError``.
    """
    try:
        yield
    except ValidationError as exc:
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, ActionValidationError):
                raise cause from None
        raise


class LearnedAction(BaseModel):
    """One version of a learned action.

    ``notes`` are the paper's usage notes ("Plan" revisions), oldest first. ``scores``
    holds whatever the learner measured (success rate, step-correction rate, ...).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    source: str
    description: str = ""
    notes: tuple[str, ...] = ()
    version: int = Field(default=0, ge=0)
    parent_version: int | None = Field(default=None, ge=1)
    provenance: Provenance = Field(default_factory=Provenance)
    scores: dict[str, float] = Field(default_factory=dict)
    created_at: str | None = None

    def __init__(self, **data: Any) -> None:
        with _own_errors():
            super().__init__(**data)

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        with _own_errors():
            return super().model_validate(obj, *args, **kwargs)

    @field_validator("source")
    @classmethod
    def _normalise_source(cls, source: str) -> str:
        return source.strip("\n") + "\n"

    @field_validator("description")
    @classmethod
    def _strip_description(cls, text: str) -> str:
        return " ".join(text.split())

    @model_validator(mode="after")
    def _check_source(self) -> LearnedAction:
        parse_function(self.name, self.source)
        return self

    @cached_property
    def params(self) -> tuple[ActionParam, ...]:
        """The parameters, read from the ``def`` line."""
        return parse_function(self.name, self.source)[1]

    @property
    def signature(self) -> str:
        """``name(a, b: str = 'x')``: derived from the AST, never evaluated."""
        return f"{self.name}({', '.join(p.render() for p in self.params)})"

    @property
    def docstring(self) -> str:
        return ast.get_docstring(parse_function(self.name, self.source)[0]) or ""

    def full_description(self) -> str:
        """Description plus usage notes: the text agents and tool schemas see."""
        text = self.description or self.docstring or f"Learned action {self.signature}."
        if self.notes:
            text += "\nUsage notes:\n" + "\n".join(f"- {n}" for n in self.notes)
        return text

    def check_names(self, base_actions: Iterable[str]) -> None:
        """Refuse a name that shadows a base action."""
        if self.name in set(base_actions):
            raise ActionValidationError(
                f"{self.name!r} is a base action of this environment; give the learned "
                "action a different name."
            )

    def to_record(self) -> dict[str, Any]:
        """The JSON form stored and exported (the signature included for readers)."""
        record = self.model_dump(mode="json")
        record["signature"] = self.signature
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> LearnedAction:
        return cls.model_validate(record)
