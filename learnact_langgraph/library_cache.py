"""Stored action records as :class:`LearnedAction` objects without parsing them again.

Building a ``LearnedAction`` from its record parses the source two or three times (the
shape check, the parameters, the docstring): about a millisecond, which was most of
the time of every listing, export and ``as_tools`` call. Two ways around it:

* :func:`from_entry` restores an action from a release snapshot entry, which carries
  the parameters parsed when the version was published, so even a fresh process
  (``learnact library export``) never parses;
* :func:`from_record` keeps the actions it built from plain version records (history,
  ``get``, stores without a snapshot) in a bounded cache keyed by their whole content,
  so a record read twice is parsed once.
"""

from __future__ import annotations

import gc
import sys
import sysconfig
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from learnact_langgraph.actions import (
    ActionParam,
    LearnedAction,
    Provenance,
    forget_parsed_sources,
)

__all__ = ["clear_action_cache", "entry_of", "from_entry", "from_record", "gc_paused"]

_LIMIT = 200_000
_FIELDS = tuple(LearnedAction.model_fields)
_cache: OrderedDict[Hashable, LearnedAction] = OrderedDict()
_lock = threading.Lock()


def _content_key(record: dict[str, Any]) -> Hashable:
    """Everything a version's object depends on (``repr`` keeps dicts hashable and exact)."""
    return (
        record.get("name"),
        record.get("version"),
        record.get("created_at"),
        record.get("source"),
        record.get("description"),
        tuple(record.get("notes") or ()),
        record.get("parent_version"),
        repr(record.get("scores")),
        repr(record.get("provenance")),
    )


def from_record(record: dict[str, Any]) -> LearnedAction:
    """``LearnedAction.from_record(record, stored=True)``, parsed once per distinct content."""
    key = _content_key(record)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    action = LearnedAction.from_record(record, stored=True)
    with _lock:
        _cache[key] = action
        if len(_cache) > _LIMIT:
            _cache.popitem(last=False)
    return action


def clear_action_cache() -> None:
    """Forget parsed records and what was read from sources (the signatures, the gate's
    verdicts): benchmarks use it to time a cold start, as a new process makes it."""
    with _lock:
        _cache.clear()
    forget_parsed_sources()


def entry_of(action: LearnedAction) -> dict[str, Any]:
    """A released version as a snapshot entry: its record, parameters, tool description
    and argument JSON schema (``tools.schema``), all derived once, when published."""
    from learnact_langgraph.tools.schema import SCHEMA_FORMAT, json_args_schema

    return {
        "record": action.to_record(),
        "params": [[p.name, p.annotation, p.default] for p in action.params],
        "described": action.full_description(),
        "schema": json_args_schema(action.name, action.params),
        "schema_format": SCHEMA_FORMAT,
    }


def from_entry(entry: dict[str, Any]) -> LearnedAction:
    """The action of a snapshot entry, equal to what :func:`from_record` gives, unparsed.

    The entry was written by the library from a validated action, so its fields are
    taken as they are and the parsed parameters are put where ``params`` caches them.
    """
    record = entry["record"]
    values = {k: record[k] for k in _FIELDS if k in record}
    if "notes" in values:
        values["notes"] = tuple(values["notes"])
    if "provenance" in values:
        values["provenance"] = Provenance.model_validate(values["provenance"])
    if "scores" in values:
        values["scores"] = dict(values["scores"])
    action = LearnedAction.model_construct(**values)
    action.__dict__["params"] = tuple(
        ActionParam(name=n, annotation=a, default=d) for n, a, d in entry["params"]
    )
    return action


_pause_lock = threading.Lock()
_pauses = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while thousands of long-lived objects are made.

    Each made object counts towards the next collection, and a full one walks every
    object of the process: with a large library loaded that was most of the time of
    ``as_tools`` and the exports, growing faster than the library. What is made here
    holds no reference cycles, so a collection of it would free nothing.

    Leaving the pause would still start a collection of everything made during it (the
    young generation), which at 10,000 tools took a third of ``as_tools``, and more per
    object than at 1,000 because those objects no longer fit the CPU caches. When the
    young generation is past its threshold (a collection would start) its objects are
    instead moved to the oldest generation unvisited (:func:`_promote_young`); the
    collector then runs as usual.
    Pauses nest and may overlap across threads: collection resumes when the last ends,
    and only if it was enabled when the first began.
    """
    global _pauses, _resume
    with _pause_lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                if gc.get_count()[0] > gc.get_threshold()[0]:
                    _promote_young()
                gc.enable()


def _promote_young() -> None:
    """Move every tracked object to the oldest generation without visiting any.

    ``gc.freeze()`` moves all tracked objects to the permanent generation and zeroes the
    young count, ``gc.unfreeze()`` moves them back into the oldest generation; on the
    default CPython build both are list splices, whatever the heap's size. Full
    collections still visit these objects, and nothing is kept alive. Skipped when the
    process froze objects itself (unfreezing would release them to the collector) and on
    builds where freezing walks the heap (free-threaded CPython) or does not exist.
    """
    freeze, unfreeze = getattr(gc, "freeze", None), getattr(gc, "unfreeze", None)
    if freeze is None or unfreeze is None or not _SPLICING_FREEZE:
        return
    if gc.get_freeze_count() == 0:
        freeze()
        unfreeze()


_SPLICING_FREEZE = sys.implementation.name == "cpython" and not sysconfig.get_config_var(
    "Py_GIL_DISABLED"
)
