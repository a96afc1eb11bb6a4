"""A learned action: one Python function over base actions, with its history metadata.

The reference implementation kept each action as a CSV row and read its notes back
with ``eval``. Here an action is a frozen, JSON-serialisable pydantic model that is
checked on the way in by the sandbox's gate (:mod:`learnact_langgraph.sandbox.gate`):
the name must be a public identifier, the source may hold allowed imports, literal
constants and exactly one ``def`` of that name, whose parameters are plain positional
ones with literal defaults (the sandbox and the tool wrappers pass arguments by
position), and nothing in it may be what the sandbox refuses. The signature
and parameter list are *derived from the source's AST*, never evaluated, so the
stored signature can never disagree with the code.

Versioning fields (``version``, ``parent_version``, ``created_at``) are filled in by
:class:`~learnact_langgraph.library.ActionLibrary` when a version is written; an
action built by hand has ``version == 0`` until it is stored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property, lru_cache
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from learnact_langgraph.errors import ActionValidationError
from learnact_langgraph.sandbox import gate

__all__ = ["ActionParam", "LearnedAction", "Provenance", "parse_function", "refusal"]

#: Set while the library reads back a version it stored itself (see ``from_record``).
_STORED: ContextVar[bool] = ContextVar("learnact_stored_record", default=False)


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


def parse_function(
    name: str, source: str, *, policy: bool = True
) -> tuple[ast.FunctionDef, tuple[ActionParam, ...]]:
    """Check ``source`` with the gate and return the ``def name`` node and its parameters.

    The gate's base-action-independent check applies (what the sandbox would refuse
    whatever the environment); with ``policy=False`` only the shape the signature is
    read from (a valid name, a source that parses, one ``def name`` with plain
    parameters). Raises :class:`ActionValidationError` with a sentence naming the
    action and what to fix.
    """
    found, problems = gate.action_shape(name, source)
    if policy and not problems:
        problems = gate.check_action(name, source, base_actions=None)
    if problems or found is None:
        raise ActionValidationError(refusal(name, problems))
    return found, _params_of(found)


def _params_of(found: ast.FunctionDef) -> tuple[ActionParam, ...]:
    defaults: list[ast.expr | None] = [None] * (len(found.args.args) - len(found.args.defaults))
    defaults += list(found.args.defaults)
    return tuple(
        ActionParam(
            name=a.arg,
            annotation=_unparse(a.annotation) if a.annotation else None,
            default=_unparse(d) if d is not None else None,
        )
        for a, d in zip(found.args.args, defaults, strict=True)
    )


@lru_cache(maxsize=4096)
def _read_def(name: str, source: str) -> tuple[tuple[ActionParam, ...], str]:
    """The parameters and docstring of ``def name`` (:func:`parse_function` without the
    policy), read once per source: a version is validated, its signature read and its
    record written, and each of those parsed the source again (an import of 10,000
    actions parsed each one four times). The parse is the gate's kept one, which its
    checks of the same source read next. Refused sources raise and are not kept."""
    found, problems = gate.kept_action_shape(name, source)
    if problems or found is None:
        raise ActionValidationError(refusal(name, problems))
    return _params_of(found), ast.get_docstring(found) or ""


def forget_parsed_sources() -> None:
    """Drop what is remembered per source: signatures and the gate's verdicts."""
    _read_def.cache_clear()
    gate.clear_verdicts()


def refusal(name: str, problems: Iterable[str]) -> str:
    """The one sentence an :class:`ActionValidationError` about ``name`` carries."""
    listed = "; ".join(problems) or "the gate refused it"
    return f"The learned action {name!r} was refused: {listed}."


def _unparse(node: ast.expr) -> str:
    try:
        return ast.unparse(node)
    except Exception as exc:  # the gate bounds depth, so this is only a safety net
        raise ActionValidationError(f"A parameter cannot be read back ({exc}).") from None


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

    # Pydantic calls a model's own ``__init__`` from ``model_validate``, which ran
    # ``_check_source`` twice per read; this one only changes the error raised, as
    # ``model_validate`` below does, so pydantic may treat it as its own.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

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
        # Kept on the object: _read_def's cache forgets a version in a release of
        # thousands before the release writes its signature and description.
        self.__dict__["params"], self.__dict__["docstring"] = _read_def(self.name, self.source)
        if not _STORED.get():
            problems = self.gate_problems(None)
            if problems:
                raise ActionValidationError(refusal(self.name, problems))
        return self

    def gate_problems(self, base_actions: Iterable[str] | None) -> tuple[str, ...]:
        """The gate's verdict on this version (``gate.check_action``), kept on the object.

        A version is checked when it is made, when it is added to a release and again
        when the release commits, and the gate's own cache forgets it in a release of
        thousands. Kept per name, source and base actions, so a copy with another
        source never reuses it.
        """
        key = (self.name, self.source, gate.base_key(base_actions))
        verdicts: dict[tuple[Any, ...], tuple[str, ...]] = self.__dict__.setdefault(
            "_gate_verdicts", {}
        )
        found = verdicts.get(key)
        if found is None:
            found = verdicts[key] = tuple(
                gate.check_action(self.name, self.source, base_actions=key[2])
            )
        return found

    @cached_property
    def params(self) -> tuple[ActionParam, ...]:
        """The parameters, read from the ``def`` line."""
        return _read_def(self.name, self.source)[0]

    @property
    def signature(self) -> str:
        """``name(a, b: str = 'x')``: derived from the AST, never evaluated."""
        return f"{self.name}({', '.join(p.render() for p in self.params)})"

    @cached_property
    def docstring(self) -> str:
        return _read_def(self.name, self.source)[1]

    def full_description(self) -> str:
        """Description plus usage notes: the text agents and tool schemas see."""
        text = self.description or self.docstring or f"Learned action {self.signature}."
        if self.notes:
            text += "\nUsage notes:\n" + "\n".join(f"- {n}" for n in self.notes)
        return text

    def check_names(self, base_actions: Iterable[str] | None) -> None:
        """Refuse a name that shadows a base action, or code the gate refuses given the
        environment's base actions (a learned action may call one named ``open``).

        ``None`` or no names at all mean the base actions are unknown: construction
        already ran the checks that do not depend on them.
        """
        base = list(base_actions or ())
        if not base:
            return
        if self.name in base:
            raise ActionValidationError(
                f"{self.name!r} is a base action of this environment; give the learned "
                "action a different name."
            )
        problems = self.gate_problems(base)
        if problems:
            raise ActionValidationError(refusal(self.name, problems))

    def to_record(self) -> dict[str, Any]:
        """The JSON form stored and exported (the signature included for readers)."""
        record = self.model_dump(mode="json")
        record["signature"] = self.signature
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any], *, stored: bool = False) -> LearnedAction:
        """Read a record; ``stored=True`` for one the library wrote itself.

        A stored version is only checked for the shape its signature comes from, so a
        library written under older rules stays readable (and can be revised or
        retired); the sandbox still refuses to load what the gate refuses.
        """
        token = _STORED.set(stored)
        try:
            return cls.model_validate(record)
        finally:
            _STORED.reset(token)
