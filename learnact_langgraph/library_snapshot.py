"""Release snapshots: everything a release shows, in a few store items, with its keyword index.

Reading a release from heads and version records takes one item per action, and every
record had to be parsed again; at 10,000 actions a listing, a search or ``as_tools``
took seconds. Each release therefore also writes a *snapshot*, under prefix ``P``:

==============================  =====================  ===================================
namespace                       key                    value
==============================  =====================  ===================================
``(*P, "snapshots")``           ``g000007``            ``shards``: shard number -> shard
                                                       key; ``superseded``: the shard keys
                                                       this release replaced
``(*P, "shards")``              ``03-g000007-<hex>``   ``entries``: name -> record, parsed
                                                       parameters and tool description;
                                                       ``postings``: word -> name -> count;
                                                       ``lengths``: name -> word count
==============================  =====================  ===================================

Actions are spread over :data:`SHARDS` shards by a stable hash of their name, so a
release rewrites only the shards of the actions it changed and the others are shared
with the previous release. Shard keys are never reused (the random tail survives a
``replace`` import), so a reader caches shards by key forever and, after a release,
reads only what changed. Heads and version records stay the source of truth: a
generation without a snapshot (a store written before snapshots existed, or a release
whose shards were pruned) is read from them, and the first release written by this
code builds the full snapshot from them (the migration).

A release keeps its own shards; the shards it superseded are deleted :data:`KEEP`
releases later, so slow readers of a recent release still find them.
"""

from __future__ import annotations

import heapq
import secrets
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar, cast

from langgraph.store.base import GetOp, Item, PutOp

from learnact_langgraph.actions import LearnedAction
from learnact_langgraph.library_cache import entry_of, from_entry, gc_paused
from learnact_langgraph.library_release import get_many, gkey
from learnact_langgraph.library_search import bm25_idf, bm25_norm, bm25_term, tokens

if TYPE_CHECKING:
    from learnact_langgraph.library import ActionLibrary
    from learnact_langgraph.library_read import LibraryReader

__all__ = ["KEEP", "SHARDS", "ReleaseView", "SnapshotCache", "full_snapshot_ops", "snapshot_ops"]

SHARDS = 64
KEEP = 8
T = TypeVar("T")


def shard_of(name: str) -> int:
    return zlib.crc32(name.encode()) % SHARDS


def search_text(name: str, signature: str, described: str) -> str:
    """What keyword and semantic search compare (``ActionLibrary.catalog_text``)."""
    return f"{name} {signature}\n{described}"


@dataclass
class Shard:
    """One stored shard, decoded; actions are built on first use and kept."""

    key: str
    entries: dict[str, dict[str, Any]]
    postings: dict[str, dict[str, int]]
    lengths: dict[str, int]
    _actions: dict[str, LearnedAction] = field(default_factory=dict)
    #: What callers derive from an entry once per process (tool templates, schemas).
    memo: dict[tuple[str, str], Any] = field(default_factory=dict)

    @classmethod
    def from_value(cls, key: str, value: Mapping[str, Any]) -> Shard:
        return cls(key, dict(value["entries"]), dict(value["postings"]), dict(value["lengths"]))

    def action(self, name: str) -> LearnedAction:
        found = self._actions.get(name)
        if found is None:
            found = self._actions[name] = from_entry(self.entries[name])
        return found


def shard_value(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A shard's stored value: its entries, in name order, and their inverted index.

    Readers merge the shards' names into one sorted list; sorted runs make that a
    merge of 64 runs rather than a sort of every name (order only: any order reads).
    """
    entries = {name: entries[name] for name in sorted(entries)}
    postings: dict[str, dict[str, int]] = {}
    lengths: dict[str, int] = {}
    for name, entry in entries.items():
        text = search_text(name, entry["record"]["signature"], entry["described"])
        counts = Counter(tokens(text))
        lengths[name] = sum(counts.values())
        for word, n in counts.items():
            postings.setdefault(word, {})[name] = n
    return {"entries": entries, "postings": postings, "lengths": lengths}


class ReleaseView:
    """One generation's released actions, read from its snapshot."""

    def __init__(self, generation: int, shards: list[Shard]) -> None:
        self.generation = generation
        self.shards = shards
        self._where = {name: s for s in shards for name in s.entries}
        #: ``(name, entry)`` in name order: a pass over the release reads each entry
        #: directly instead of through two dicts.
        self._entries = sorted(
            (item for s in shards for item in s.entries.items()), key=itemgetter(0)
        )
        self.names = [name for name, _ in self._entries]
        self.doc_count = len(self.names)
        self.total_length = sum(n for s in shards for n in s.lengths.values())
        self._derived: dict[str, Any] = {}
        self._derived_lock = threading.Lock()

    def __contains__(self, name: object) -> bool:
        return name in self._where

    def contents(self) -> dict[str, int]:
        return {n: int(entry["record"]["version"]) for n, entry in self._entries}

    def action(self, name: str) -> LearnedAction:
        return self._where[name].action(name)

    def actions(self, names: Iterable[str] | None = None) -> list[LearnedAction]:
        with gc_paused():
            return [self.action(n) for n in (self.names if names is None else names)]

    def described(self, name: str) -> str:
        return str(self._where[name].entries[name]["described"])

    def entry(self, name: str) -> dict[str, Any]:
        """The stored entry of ``name`` (see ``library_cache.entry_of``); do not change it."""
        return self._where[name].entries[name]

    def entries(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(name, stored entry)`` in name order; do not change the entries."""
        return iter(self._entries)

    def records(self) -> Iterator[dict[str, Any]]:
        """Each released version's stored record, in name order; do not change them."""
        for _, entry in self._entries:
            yield entry["record"]

    def sources(self) -> dict[str, str]:
        return {n: str(entry["record"]["source"]) for n, entry in self._entries}

    def memo(self, name: str, kind: str, build: Callable[[], T]) -> T:
        """``build()`` for action ``name``, made once: a shard's contents never change."""
        memo = self._where[name].memo
        key = (kind, name)
        if key not in memo:
            memo[key] = build()
        return cast("T", memo[key])

    def derived(self, kind: str, build: Callable[[], T]) -> T:
        """``build()`` for the whole release, made once per view: a view never changes,
        and a new release is a new view, so nothing derived from an older one is seen."""
        with self._derived_lock:
            if kind not in self._derived:
                self._derived[kind] = build()
            return cast("T", self._derived[kind])

    def rank(self, query: str, k: int) -> list[str]:
        """The ``k`` best names for ``query``: :func:`keyword_rank` over the index, same order."""
        wanted = set(tokens(query))
        if not wanted or not self.doc_count or k <= 0:
            return []
        lists = {w: [s for s in self.shards if s.postings.get(w)] for w in wanted}
        df = Counter({w: sum(len(s.postings[w]) for s in ss) for w, ss in lists.items() if ss})
        idf = bm25_idf(df, self.doc_count)
        avg = max(1.0, self.total_length / self.doc_count)
        # Word by word over the postings, in bm25_score's order, so each document's
        # score is the same float as keyword_rank's.
        scores: dict[str, float] = {}
        norms: dict[str, float] = {}
        for w in wanted:
            for shard in lists[w]:
                lengths = shard.lengths
                for name, count in shard.postings[w].items():
                    if not count:
                        continue
                    norm = norms.get(name)
                    if norm is None:
                        norm = norms[name] = bm25_norm(lengths[name], avg)
                    scores[name] = scores.get(name, 0.0) + bm25_term(idf[w], count, norm)
        return heapq.nsmallest(k, scores, key=lambda n: (-scores[n], n))


class SnapshotCache:
    """A library's decoded shards and views, shared by its readers (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shards: dict[str, Shard] = {}
        self._views: dict[int, tuple[dict[str, str], ReleaseView]] = {}

    def view(self, lib: LibraryReader, generation: int) -> ReleaseView | None:
        """The snapshot of ``generation``, or ``None`` when it has none (read heads then)."""
        if generation == 0:
            return ReleaseView(0, [])
        manifest = lib.store.get(lib.ns("snapshots"), gkey(generation))
        if manifest is None:
            return None
        keys: dict[str, str] = dict(manifest.value["shards"])
        with self._lock:
            cached = self._views.get(generation)
            if cached is not None and cached[0] == keys:
                return cached[1]
            missing = [k for k in keys.values() if k not in self._shards]
        with gc_paused():  # a store that decodes JSON makes every entry's dicts here
            items = get_many(lib.store, [GetOp(lib.ns("shards"), k) for k in missing])
            if any(i is None for i in items):
                return None
            loaded = {i.key: Shard.from_value(i.key, i.value) for i in items if i is not None}
            with self._lock:
                self._shards.update(loaded)
                view = ReleaseView(generation, [self._shards[k] for k in sorted(keys.values())])
                self._views[generation] = (keys, view)
                self._forget(keep=set(keys.values()))
                return view

    def _forget(self, keep: set[str]) -> None:
        """Drop shards and views of old releases once the cache holds many."""
        if len(self._views) > 4:
            newest = sorted(self._views)[-4:]
            self._views = {g: self._views[g] for g in newest}
        if len(self._shards) > 4 * SHARDS:
            live = set(keep)
            for keys, _ in self._views.values():
                live |= set(keys.values())
            self._shards = {k: s for k, s in self._shards.items() if k in live}


def snapshot_ops(
    lib: ActionLibrary,
    generation: int,
    new_generation: int,
    skipped: frozenset[int],
    changed: Mapping[str, LearnedAction | None],
) -> list[PutOp]:
    """Puts that give ``new_generation`` its snapshot: ``generation``'s with ``changed``
    applied (``None`` removes), or a full one built from heads when it has none."""
    store = lib.store
    manifest = store.get(lib.ns("snapshots"), gkey(generation)) if generation else None
    prev: dict[str, str] = dict(manifest.value["shards"]) if manifest else {}
    touched = {shard_of(n) for n in changed}
    old = [prev[f"{i:02d}"] for i in sorted(touched) if f"{i:02d}" in prev]
    items = get_many(store, [GetOp(lib.ns("shards"), k) for k in old])
    if (generation and manifest is None) or any(i is None for i in items):
        # no snapshot (the migration), or one pruned under a slow writer: from heads
        changed = _full(lib, generation, changed)
        touched, old, items, prev = set(range(SHARDS)), list(prev.values()), [], {}
    ops = _write(lib, new_generation, prev, touched, old, items, changed)
    return ops + _prune_ops(lib, generation, new_generation, skipped)


def full_snapshot_ops(
    lib: ActionLibrary, generation: int, actions: Mapping[str, LearnedAction]
) -> list[PutOp]:
    """Puts of a whole snapshot of ``generation`` whose released actions are ``actions``."""
    return _write(lib, generation, {}, set(range(SHARDS)), [], [], actions)


def _write(
    lib: ActionLibrary,
    new_generation: int,
    prev: dict[str, str],
    touched: set[int],
    old: list[str],
    items: Sequence[Item | None],
    changed: Mapping[str, LearnedAction | None],
) -> list[PutOp]:
    by_shard: dict[int, dict[str, dict[str, Any]]] = {i: {} for i in touched}
    for item in items:
        assert item is not None
        by_shard[int(item.key[:2])] = dict(item.value["entries"])
    for name, action in changed.items():
        entries = by_shard[shard_of(name)]
        if action is None:
            entries.pop(name, None)
        else:
            entries[name] = entry_of(action)
    ops: list[PutOp] = []
    shards = dict(prev)
    tail = f"{gkey(new_generation)}-{secrets.token_hex(4)}"
    for i, entries in sorted(by_shard.items()):
        label = f"{i:02d}"
        if entries:
            shards[label] = f"{label}-{tail}"
            ops.append(PutOp(lib.ns("shards"), shards[label], shard_value(entries), False))
        else:
            shards.pop(label, None)
    record = {"generation": new_generation, "shards": shards, "superseded": old}
    ops.append(PutOp(lib.ns("snapshots"), gkey(new_generation), record, False))
    return ops


def _full(
    lib: ActionLibrary, generation: int, changed: Mapping[str, LearnedAction | None]
) -> dict[str, LearnedAction | None]:
    contents = lib.release_contents(generation) if generation else {}
    base = dict(zip(contents, lib._read_versions(list(contents.items())), strict=True))
    return {**base, **changed}


def _prune_ops(
    lib: ActionLibrary, generation: int, new_generation: int, skipped: frozenset[int]
) -> list[PutOp]:
    """Deletes of the shards superseded :data:`KEEP` published releases ago or earlier."""
    targets = [
        g
        for g in range(max(1, generation - KEEP + 1), new_generation - KEEP + 1)
        if g not in skipped
    ]
    items = get_many(lib.store, [GetOp(lib.ns("snapshots"), gkey(g)) for g in targets])
    doomed = [k for i in items if i is not None for k in i.value.get("superseded", [])]
    return [PutOp(lib.ns("shards"), k, None) for k in doomed]
