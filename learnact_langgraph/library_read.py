"""Reading an :class:`~learnact_langgraph.library.ActionLibrary`: releases, heads, versions.

A release is read from its snapshot (``library_snapshot``: a few store items, cached,
actions restored without parsing) when it has one, and otherwise from heads and version
records, the source of truth, whose parsed records are cached by content
(``library_cache``). Both give the same actions; see ``library.py`` for the key layout
and why a reader never sees half a release.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.store.base import BaseStore, GetOp

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.errors import LibraryError
from learnact_langgraph.library_cache import from_record
from learnact_langgraph.library_release import Release, get_many, resolve, vkey
from learnact_langgraph.library_snapshot import ReleaseView, SnapshotCache

__all__ = ["ActionStatus", "LibraryReader"]

_PAGE = 100_000


@dataclass(frozen=True)
class ActionStatus:
    name: str
    latest: int
    released: int | None
    retired: bool


class LibraryReader:
    """The reading methods of ``ActionLibrary`` (mixed into it)."""

    store: BaseStore
    prefix: tuple[str, ...]
    _snapshots: SnapshotCache

    def ns(self, *parts: str) -> tuple[str, ...]:
        return (*self.prefix, *parts)

    # ----- reading ----------------------------------------------------------------------
    def pointer(self) -> tuple[int, frozenset[int]]:
        """The current generation and the generations that were never published."""
        item = self.store.get(self.ns("meta"), "current")
        if item is None:
            return 0, frozenset()
        return int(item.value["generation"]), frozenset(item.value.get("skipped", []))

    @property
    def generation(self) -> int:
        return self.pointer()[0]

    def head(self, name: str) -> dict[str, Any] | None:
        item = self.store.get(self.ns("heads"), name)
        return dict(item.value) if item else None

    def heads(self) -> list[dict[str, Any]]:
        """Every head record (one per action ever added), sorted by name."""
        out: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            page = self.store.search(self.ns("heads"), limit=_PAGE, offset=offset)
            for item in page:
                if item.namespace == self.ns("heads"):
                    out[item.key] = dict(item.value)
            if len(page) < _PAGE:
                break
            offset += _PAGE
        return [out[k] for k in sorted(out)]

    def _read_versions(self, pairs: Sequence[tuple[str, int]]) -> list[LearnedAction]:
        ops = [GetOp(self.ns("versions", n), vkey(v)) for n, v in pairs]
        items = get_many(self.store, ops)
        out = []
        for (name, version), item in zip(pairs, items, strict=True):
            if item is None:
                raise LibraryError(f"{name!r} has no version {version}; see `history({name!r})`.")
            out.append(from_record(item.value))
        return out

    def _generation(self, generation: int | None) -> tuple[int, frozenset[int]]:
        gen, skipped = self.pointer()
        if generation is not None:
            if not 0 <= generation <= gen or generation in skipped:
                raise LibraryError(f"Release {generation} does not exist; see `releases()`.")
            gen = generation
        return gen, skipped

    def release_view(self, generation: int | None = None) -> ReleaseView | None:
        """A release (the current one by default) from its snapshot; ``None`` if it has none."""
        return self._snapshots.view(self, self._generation(generation)[0])

    def release_contents(self, generation: int | None = None) -> dict[str, int]:
        """``{name: version}`` of a generation (the current one by default)."""
        gen, skipped = self._generation(generation)
        view = self._snapshots.view(self, gen)
        if view is not None:
            return view.contents()
        out = {}
        for head in self.heads():
            version = resolve(head, gen, skipped)
            if version is not None:
                out[head["name"]] = version
        return out

    def actions(self, generation: int | None = None) -> list[LearnedAction]:
        """The actions of a release, sorted by name: what agents see."""
        gen = self._generation(generation)[0]
        view = self._snapshots.view(self, gen)
        if view is not None:
            return view.actions()
        return self._read_versions(sorted(self.release_contents(gen).items()))

    def names(self, generation: int | None = None) -> list[str]:
        return sorted(self.release_contents(generation))

    def __len__(self) -> int:
        return len(self.release_contents())

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is in the current release."""
        return (
            isinstance(name, str) and self.head(name) is not None and not self.status(name).retired
        )

    def status(self, name: str) -> ActionStatus:
        head = self._require_head(name)
        gen, skipped = self.pointer()
        released = resolve(head, gen, skipped)
        return ActionStatus(name, int(head["latest"]), released, released is None)

    def _require_head(self, name: str) -> dict[str, Any]:
        head = self.head(name)
        if head is None:
            raise LibraryError(
                f"The library has no action named {name!r}; list them with `learnact library ls`."
            )
        return head

    def get(self, name: str, version: int | None = None) -> LearnedAction:
        """A given version, or the version in the current release."""
        if version is None:
            status = self.status(name)
            if status.released is None:
                raise LibraryError(
                    f"{name!r} is retired; pass a version, or revise or roll it back to restore it."
                )
            version = status.released
        else:
            self._require_head(name)
        return self._read_versions([(name, version)])[0]

    def history(self, name: str) -> list[LearnedAction]:
        """Every version of ``name``, oldest first."""
        head = self._require_head(name)
        return self._read_versions([(name, v) for v in range(1, int(head["latest"]) + 1)])

    def diff(self, name: str, old: int, new: int | None = None) -> str:
        """A unified diff between two versions (``new`` defaults to the released one)."""
        a = self.get(name, old)
        b = self.get(name, new)

        def lines(x: LearnedAction) -> list[str]:
            meta = [f"# description: {x.description}"] + [f"# note: {n}" for n in x.notes]
            return [line + "\n" for line in meta] + x.source.splitlines(keepends=True)

        return "".join(
            difflib.unified_diff(lines(a), lines(b), f"{name}@v{a.version}", f"{name}@v{b.version}")
        )

    def releases(self) -> list[Release]:
        """Every published release, oldest first."""
        items = self.store.search(self.ns("releases"), limit=1_000_000)
        return sorted((Release.from_record(i.value) for i in items), key=lambda r: r.generation)
