"""ActionLibrary: versioned, persistent, shared learned actions on a LangGraph ``BaseStore``.

``BaseStore`` has neither versions nor transactions, so both are built from keys.
Under a library prefix ``P`` (several libraries, e.g. one per domain, share a store):

=============================  ==========  ===============================================
namespace                      key         value
=============================  ==========  ===============================================
``(*P, "versions", name)``     ``v000003`` one immutable :class:`LearnedAction` version
``(*P, "heads")``              ``name``    ``latest`` version number and ``released``:
                                           generation -> version (``null`` = retired)
``(*P, "releases")``           ``g000007`` immutable release record (what changed, why)
``(*P, "meta")``               ``current`` the release pointer: generation + skipped ones
``(*P, "meta")``               ``library`` schema version and base actions
``(*P, "catalog")``            ``name``    search text of the released version (indexed)
``(*P, "snapshots")``          ``g000007`` the release's snapshot: shard keys (see
``(*P, "shards")``             ...         ``library_snapshot``: records, parsed
                                           parameters, keyword index; derived data)
=============================  ==========  ===============================================

**Releases.** Every write publishes a new *generation*: a single add is a release of
one change, ``with library.release(run_id=...) as rel:`` publishes many at once. A
commit writes version records and head entries for generation ``N`` first and moves the
``current`` pointer to ``N`` last. A reader reads the pointer once and, for each action,
takes the newest head entry at or below that generation, so it sees either the whole
old set or the whole new one, never a mix, and without taking any lock. Generations
allocated by a writer that died before moving the pointer are recorded as skipped.

**Compare-and-set.** Commits run under a lock from :mod:`library_locks` (in-process,
``flock`` beside a SQLite file, or ``pg_advisory_lock`` on PostgreSQL), because
``BaseStore`` cannot put conditionally. Inside the lock the commit checks every
``expected_version`` against the released version and raises :class:`ConflictError`
if another writer got there first; the caller re-reads and retries. Changes given as
deltas (``revise(name, note=...)`` without ``expected_version``) are applied to the
newest version inside the lock, so they never lose an update either.

Old versions are never overwritten: revise, retire and rollback add versions or
generations; ``history`` shows everything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from langgraph.store.base import BaseStore

from learnact_langgraph.actions import LearnedAction, Provenance
from learnact_langgraph.envs.base import BaseAction, Environment, Param
from learnact_langgraph.errors import LibraryError
from learnact_langgraph.library_async import AsyncLibraryMethods
from learnact_langgraph.library_locks import Locker, default_locker
from learnact_langgraph.library_read import ActionStatus, LibraryReader
from learnact_langgraph.library_release import Release, ReleaseBuilder
from learnact_langgraph.library_snapshot import SnapshotCache

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from learnact_langgraph.tools.toolkit import LearnedToolkit

__all__ = [
    "SCHEMA_VERSION",
    "ActionLibrary",
    "ActionStatus",
    "Release",
    "ReleaseBuilder",
    "default_prefix",
    "parse_prefix",
]

SCHEMA_VERSION = 1


def default_prefix(domain: str) -> str:
    """Where a domain's library lives in a store unless told otherwise: ``learnact/<domain>``.

    ``learnact learn``, the ``library`` commands, ``eval --store`` and the learner graph
    publishing to a LangGraph server's store all use it, so each finds what the others
    wrote without a ``--prefix``.
    """
    return f"learnact/{domain}"


def parse_prefix(prefix: str | Sequence[str]) -> tuple[str, ...]:
    """``"team/gripper"`` (or an already split sequence) as store namespace labels."""
    if isinstance(prefix, str):
        return tuple(p for p in prefix.split("/") if p)
    return tuple(prefix)


class ActionLibrary(LibraryReader, AsyncLibraryMethods):
    """Learned actions of one environment/domain, stored under ``prefix`` in ``store``.

    ``prefix`` is a tuple of labels or a ``/``-separated string; tools that work per
    domain use :func:`default_prefix`.

    ``base_actions`` (a list of :class:`BaseAction` or an :class:`Environment`) is saved
    with the library the first time it is given; learned names may not shadow them,
    and exports use them to write base-action stubs.

    Every public method has an async twin (``aget``, ``arevise``, ``arelease``, ...;
    see ``library_async``) for async code and async stores; on an async store give
    the base actions with ``await library.aset_base_actions(env)``.
    """

    def __init__(
        self,
        store: BaseStore,
        prefix: str | Sequence[str] = ("learnact", "library"),
        *,
        base_actions: Sequence[BaseAction] | Environment | None = None,
        locker: Locker | None = None,
    ) -> None:
        self.store = store
        self.prefix = parse_prefix(prefix)
        if not self.prefix or any(not p or "." in p for p in self.prefix):
            raise LibraryError(
                f"Library prefix {self.prefix!r} is invalid; use non-empty labels without dots."
            )
        self.locker = locker or default_locker(store)
        self.lock_key = "learnact-library:" + "/".join(self.prefix)
        self._snapshots = SnapshotCache()
        if base_actions is not None:
            self.set_base_actions(base_actions)

    # ----- base actions ---------------------------------------------------------------
    def set_base_actions(self, base: Sequence[BaseAction] | Environment) -> None:
        actions = base.base_actions() if isinstance(base, Environment) else base
        record = {
            "schema_version": SCHEMA_VERSION,
            "base_actions": [
                {
                    "name": a.name,
                    "params": [{"name": p.name, "annotation": p.annotation} for p in a.params],
                    "description": a.description,
                }
                for a in actions
            ],
        }
        with self.locker.hold(self.lock_key):
            current = self.store.get(self.ns("meta"), "library")
            if current is None or current.value != record:
                self.store.put(self.ns("meta"), "library", record, index=False)

    @property
    def base_actions(self) -> tuple[BaseAction, ...]:
        item = self.store.get(self.ns("meta"), "library")
        if item is None:
            return ()
        return tuple(
            BaseAction(
                b["name"],
                tuple(Param(p["name"], p.get("annotation") or "str") for p in b["params"]),
                b.get("description", ""),
            )
            for b in item.value.get("base_actions", [])
        )

    # ----- writing ----------------------------------------------------------------------
    @contextmanager
    def release(self, *, run_id: str | None = None, message: str = "") -> Iterator[ReleaseBuilder]:
        """Publish several changes as one release when the block exits without error."""
        builder = ReleaseBuilder(self)
        yield builder
        builder.commit(run_id=run_id, message=message)

    def add(
        self,
        action: LearnedAction | str,
        *,
        description: str = "",
        notes: Sequence[str] = (),
        provenance: Provenance | None = None,
        scores: dict[str, float] | None = None,
        name: str | None = None,
        message: str = "",
    ) -> LearnedAction:
        """Add a new action (``action`` is a LearnedAction or its source).

        Adding the name of a retired action brings it back as a new version of it.
        """
        builder = ReleaseBuilder(self)
        builder.add(
            action,
            description=description,
            notes=notes,
            provenance=provenance,
            scores=scores,
            name=name,
        )
        return builder.commit(message=message or "add")[0]

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
        message: str = "",
    ) -> LearnedAction:
        """Write a new version of ``name``; fields left as ``None`` are kept.

        ``note`` appends one usage note; ``notes`` replaces them. With
        ``expected_version`` the revision is a compare-and-set: it fails with
        :class:`ConflictError` unless that is still the released version.
        """
        builder = ReleaseBuilder(self)
        builder.revise(
            name,
            source=source,
            description=description,
            notes=notes,
            note=note,
            provenance=provenance,
            scores=scores,
            expected_version=expected_version,
        )
        return builder.commit(message=message or "revise")[0]

    def retire(self, name: str, *, expected_version: int | None = None) -> None:
        """Remove ``name`` from the release; its versions stay in the history."""
        builder = ReleaseBuilder(self)
        builder.retire(name, expected_version=expected_version)
        builder.commit(message="retire")

    def rollback(
        self, name: str, to_version: int, *, expected_version: int | None = None
    ) -> LearnedAction:
        """Publish a new version whose content is that of ``to_version``."""
        builder = ReleaseBuilder(self)
        builder.rollback(name, to_version, expected_version=expected_version)
        return builder.commit(message=f"rollback {name} to v{to_version}")[0]

    def rollback_release(self, generation: int) -> Release:
        """Publish a new release whose contents equal those of an older one."""
        target = self.release_contents(generation)
        current = self.release_contents()
        builder = ReleaseBuilder(self)
        for name in sorted(set(target) | set(current)):
            if target.get(name) != current.get(name):
                builder.point(name, target.get(name), expected_version=current.get(name))
        if not builder.changes:
            raise LibraryError(f"Release {generation} has the same contents as the current one.")
        builder.commit(message=f"rollback to release {generation}", kind="rollback")
        return self.releases()[-1]

    # ----- search and tools ---------------------------------------------------------------
    @property
    def has_index(self) -> bool:
        return bool(getattr(self.store, "index_config", None))

    def search(self, query: str, k: int = 5) -> list[LearnedAction]:
        """The ``k`` released actions whose descriptions best match ``query``.

        With a semantic index in the store (``InMemoryStore(index=...)``, ``PostgresStore``
        with pgvector) each released action's ``text`` (name, signature, description,
        notes) is embedded, whatever the index's ``fields`` say, and only the hits are
        checked against the release. Without one (SqliteStore on a Python that cannot
        load SQLite extensions) it falls back to BM25 keyword ranking over the same
        text through the inverted index each release keeps with its snapshot
        (``library_snapshot``), read once per release and cached, in the same order
        as ``library_search.keyword_rank`` over the whole catalog.
        """
        from learnact_langgraph.library_search import search_library

        return search_library(self, query, k)

    def as_tools(self, session: Any = None, **kwargs: Any) -> list[BaseTool]:
        """One ``StructuredTool`` per released action (and base action); see ``tools``."""
        from learnact_langgraph.tools import library_tools

        return library_tools(self, session, **kwargs)

    def toolkit(self, session: Any = None, **kwargs: Any) -> LearnedToolkit:
        """A live toolkit: ``get_tools()`` follows the newest release (see ``tools.toolkit``).

        ``session`` is what the tools run in, as for :meth:`as_tools` (a Sandbox, an
        Environment, or a factory of Sandboxes).
        """
        from learnact_langgraph.tools.toolkit import LearnedToolkit

        return LearnedToolkit(library=self, session=session, **kwargs)

    def catalog_text(self, action: LearnedAction) -> str:
        return f"{action.name} {action.signature}\n{action.full_description()}"
