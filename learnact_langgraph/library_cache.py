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
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from learnact_langgraph.actions import ActionParam, LearnedAction, Provenance

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
    """Forget parsed records (benchmarks use it to time a cold start)."""
    with _lock:
        _cache.clear()


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


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while thousands of long-lived objects are made.

    Each made object counts towards the next collection, and a full one walks every
    object of the process: with a large library loaded that was most of the time of
    ``as_tools`` and the exports, growing faster than the library. What is made here holds no
    reference cycles, and the collector runs as usual afterwards.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
