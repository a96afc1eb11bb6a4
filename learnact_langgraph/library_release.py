"""Releases: how a set of changes to an :class:`ActionLibrary` is published atomically.

See the module docstring of ``library.py`` for the key layout and why readers never
see a mix of two releases. This module holds the write path: a
:class:`ReleaseBuilder` collects changes (as functions of the current version, so
deltas are applied inside the lock), and :func:`commit` checks and writes them.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from langgraph.store.base import BaseStore, GetOp, Item, PutOp

from learnact_langgraph.actions import LearnedAction, Provenance, refusal
from learnact_langgraph.errors import ActionValidationError, ConflictError, LibraryError
from learnact_langgraph.sandbox.gate import kept_parse

if TYPE_CHECKING:
    from learnact_langgraph.library import ActionLibrary

ChangeKind = Literal["add", "revise", "retire", "rollback", "point"]
Maker = Callable[[LearnedAction | None], LearnedAction]


def get_many(store: BaseStore, ops: Sequence[GetOp]) -> list[Item | None]:
    """Several gets in one round trip."""
    return cast("list[Item | None]", store.batch(list(ops))) if ops else []


def vkey(version: int) -> str:
    return f"v{version:06d}"


def gkey(generation: int) -> str:
    return f"g{generation:06d}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def resolve(head: dict[str, Any], generation: int, skipped: frozenset[int]) -> int | None:
    """The version of an action in a generation (``None``: absent or retired)."""
    best, version = -1, None
    for g_text, v in head.get("released", {}).items():
        g = int(g_text)
        if best < g <= generation and g not in skipped:
            best, version = g, v
    return None if version is None else int(version)


@dataclass(frozen=True)
class Release:
    """One published generation: what changed (``name -> version``, ``None`` = retired)."""

    generation: int
    parent: int
    changes: dict[str, int | None]
    kind: str = "publish"
    run_id: str | None = None
    message: str = ""
    created_at: str = ""

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Release:
        return cls(**record)


@dataclass
class _Change:
    name: str
    kind: ChangeKind
    expected: int | None
    make: Maker | None = None
    point: int | None = None


def _def_name(source: str) -> str:
    """The name of the first top-level ``def`` (the action's name when none is given)."""
    tree, problems = kept_parse(source, "<learned>")
    if tree is None:
        raise ActionValidationError(f"The action source was refused: {'; '.join(problems)}.")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            return node.name
    raise ActionValidationError("The action source defines no function; write `def name(...):`.")


def check_publishable(action: LearnedAction, base_names: Iterable[str]) -> None:
    """Refuse to publish what the sandbox would refuse to load (``ActionValidationError``).

    With the library's base actions known, names they give meaning to (``open`` in
    tyreworld) are allowed and redefining one is refused; unknown, such names are not
    judged. So one released action can never make every tool of the library fail.
    """
    base = list(base_names)
    if base:
        action.check_names(base)
        return
    problems = action.gate_problems(None)
    if problems:
        raise ActionValidationError(refusal(action.name, problems))


@dataclass
class ReleaseBuilder:
    """Changes to publish together; nothing is written until :meth:`commit`."""

    library: ActionLibrary
    changes: list[_Change] = field(default_factory=list)

    def add(
        self,
        action: LearnedAction | str,
        *,
        description: str = "",
        notes: Sequence[str] = (),
        provenance: Provenance | None = None,
        scores: dict[str, float] | None = None,
        name: str | None = None,
    ) -> ReleaseBuilder:
        if isinstance(action, str):
            action = LearnedAction(
                name=name or _def_name(action),
                source=action,
                description=description,
                notes=tuple(notes),
                provenance=provenance or Provenance(),
                scores=scores or {},
            )
        check_publishable(action, [b.name for b in self.library.base_actions])
        fixed = action
        self.changes.append(_Change(action.name, "add", None, make=lambda _cur: fixed))
        return self

    def revise(
        self,
        name: str,
        *,
        source: str | None = None,
        description: str | None = None,
        notes: Sequence[str] | None = None,
        note: str | None = None,
        provenance: Provenance | None = None,
        scores: dict[str, float] | None = None,
        expected_version: int | None = None,
    ) -> ReleaseBuilder:
        """Provenance and scores belong to one version: left out, the new one has none."""
        update: dict[str, Any] = {
            "provenance": (provenance or Provenance()).model_dump(),
            "scores": dict(scores or {}),
        }
        if source is not None:
            LearnedAction(name=name, source=source)  # fail here, not inside the lock
            update["source"] = source
        if description is not None:
            update["description"] = description
        if notes is not None:
            update["notes"] = tuple(notes)

        def make(cur: LearnedAction | None) -> LearnedAction:
            assert cur is not None
            data = {**cur.model_dump(), **update}
            if note:
                data["notes"] = (*data["notes"], note)
            return LearnedAction.model_validate(data)

        self.changes.append(_Change(name, "revise", expected_version, make=make))
        return self

    def retire(self, name: str, *, expected_version: int | None = None) -> ReleaseBuilder:
        self.changes.append(_Change(name, "retire", expected_version))
        return self

    def rollback(
        self, name: str, to_version: int, *, expected_version: int | None = None
    ) -> ReleaseBuilder:
        target = self.library.get(name, to_version)
        data = target.model_dump()
        data["provenance"] = Provenance(extra={"rollback_of": to_version}).model_dump()
        data["scores"] = dict(target.scores)
        restored = LearnedAction.model_validate(data)
        self.changes.append(_Change(name, "rollback", expected_version, make=lambda _cur: restored))
        return self

    def point(
        self, name: str, version: int | None, *, expected_version: int | None = None
    ) -> ReleaseBuilder:
        """Release an existing version again (``None`` retires)."""
        self.changes.append(_Change(name, "point", expected_version, point=version))
        return self

    def commit(
        self, *, run_id: str | None = None, message: str = "", kind: str = "publish"
    ) -> list[LearnedAction]:
        return commit(self.library, self, run_id=run_id, message=message, kind=kind)


def release_of_run(lib: ActionLibrary, run_id: str) -> Release | None:
    """The publish release a run wrote, if any (a run publishes at most one)."""
    items = lib.store.search(lib.ns("releases"), filter={"run_id": run_id}, limit=1000)
    found = [Release.from_record(i.value) for i in items]
    found = [r for r in found if r.kind == "publish"]
    return min(found, key=lambda r: r.generation) if found else None


def commit(
    lib: ActionLibrary,
    builder: ReleaseBuilder,
    *,
    run_id: str | None = None,
    message: str = "",
    kind: str = "publish",
) -> list[LearnedAction]:
    """Check and write ``builder``'s changes as one new generation; return new versions.

    A ``publish`` with a ``run_id`` that already published writes nothing (the check is
    made under the library's lock, so two resumed copies of a run cannot both publish).
    The release's snapshot (``library_snapshot``) goes in the same batch, before the
    pointer moves.
    """
    from learnact_langgraph.library_cache import gc_paused
    from learnact_langgraph.library_snapshot import snapshot_ops

    if not builder.changes:
        return []
    store = lib.store
    names = list(dict.fromkeys(c.name for c in builder.changes))
    with lib.locker.hold(lib.lock_key), gc_paused():  # versions, records, snapshot: no cycles
        if run_id and kind == "publish" and release_of_run(lib, run_id) is not None:
            return []
        base_names = {b.name for b in lib.base_actions}
        gen, skipped = lib.pointer()
        alloc = store.get(lib.ns("meta"), "allocated")
        allocated = int(alloc.value["generation"]) if alloc else gen
        items = get_many(store, [GetOp(lib.ns("heads"), n) for n in names])
        heads = {n: (dict(i.value) if i else None) for n, i in zip(names, items, strict=True)}
        released = {n: (resolve(h, gen, skipped) if h else None) for n, h in heads.items()}
        content: dict[str, LearnedAction | None] = {}
        outcome: dict[str, LearnedAction | int | None] = {}

        def current(n: str) -> LearnedAction | None:
            if n not in content:
                head = heads[n]
                v = released[n] if released[n] is not None else (head or {}).get("latest")
                content[n] = lib._read_versions([(n, int(v))])[0] if v else None
            return content[n]

        for ch in builder.changes:
            n = ch.name
            if ch.expected is not None and ch.expected != (released[n] or 0):
                raise ConflictError(
                    f"{n!r} is at version {released[n] or 0}, not {ch.expected}: another "
                    "writer changed it; re-read it and retry."
                )
            exists = heads[n] is not None or n in outcome
            if ch.kind == "add":
                if outcome.get(n, released[n]) is not None:
                    raise LibraryError(f"{n!r} already exists; revise it instead of adding it.")
                assert ch.make is not None
                new = ch.make(None)
                check_publishable(new, base_names)
                content[n] = outcome[n] = new
            elif not exists:
                raise LibraryError(
                    f"The library has no action named {n!r}; add it before changing it."
                )
            elif ch.kind == "retire":
                if outcome.get(n, released[n]) is None:
                    raise LibraryError(f"{n!r} is already retired.")
                current(n)
                outcome[n] = None
            elif ch.kind == "point":
                outcome[n] = ch.point
                pointed = None if ch.point is None else lib.get(n, ch.point)
                if pointed is not None:
                    check_publishable(pointed, base_names)
                content[n] = pointed
            else:
                assert ch.make is not None
                new = ch.make(current(n))
                check_publishable(new, base_names)
                content[n] = outcome[n] = new

        now = now_iso()
        new_gen = max(gen, allocated) + 1
        new_skipped = sorted(skipped | set(range(gen + 1, new_gen)))
        store.put(lib.ns("meta"), "allocated", {"generation": new_gen}, index=False)
        ops: list[PutOp] = []
        stored: list[LearnedAction] = []
        changes: dict[str, int | None] = {}
        for n in names:
            out = outcome[n]
            head = heads[n] or {"name": n, "latest": 0, "released": {}}
            head = {**head, "released": dict(head["released"])}
            version: int | None
            if isinstance(out, LearnedAction):
                version = int(head["latest"]) + 1
                prov = out.provenance
                if run_id and prov.run_id is None:
                    prov = prov.model_copy(update={"run_id": run_id})
                # The version as ``out`` with its place in the history; ``out`` was
                # validated and checked above, so its copy keeps what was derived.
                rec = out.model_copy(
                    update={
                        "version": version,
                        "parent_version": released[n] or (int(head["latest"]) or None),
                        "created_at": now,
                        "provenance": prov,
                        "scores": dict(out.scores),
                    }
                )
                ops.append(PutOp(lib.ns("versions", n), vkey(version), rec.to_record(), False))
                head["latest"] = version
                stored.append(rec)
                content[n] = rec
            else:
                version = out
                if version == released[n]:
                    continue
            head["released"][str(new_gen)] = version
            changes[n] = version
            ops.append(PutOp(lib.ns("heads"), n, head, False))
            shown = content.get(n)
            if version is None or shown is None:
                ops.append(PutOp(lib.ns("catalog"), n, None))
            else:
                doc = {"name": n, "version": version, "text": lib.catalog_text(shown)}
                ops.append(PutOp(lib.ns("catalog"), n, doc, ["text"] if lib.has_index else False))
        record = Release(new_gen, gen, changes, kind, run_id, message, now).to_record()
        ops.append(PutOp(lib.ns("releases"), gkey(new_gen), record, False))
        now_shown = {n: (None if v is None else content.get(n)) for n, v in changes.items()}
        ops += snapshot_ops(lib, gen, new_gen, frozenset(new_skipped), now_shown)
        store.batch(ops)
        pointer = {"generation": new_gen, "skipped": new_skipped}
        store.put(lib.ns("meta"), "current", pointer, index=False)
    return stored
