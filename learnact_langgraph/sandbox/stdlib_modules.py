"""The pure standard-library modules learned code may use, as sanitised read-only proxies.

Models write ``re.findall(...)`` and ``collections.Counter(...)`` all the time; refusing
them cost repair turns for nothing. These modules compute and never reach the world,
but a module object is a door to everything it imported (``re.enum.sys``,
``json.codecs``...). So learned code never sees a module: it sees a proxy per module
that holds only the module's public API (``__all__`` where defined), minus submodules
and minus :data:`HIDDEN` names that open an escape route or shared state.

This file uses the standard library only: the worker loads it by path before it
locks itself down (nothing can be imported afterwards), and the host imports it so
the gate judges ``from re import findall`` against exactly what the worker offers.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: The modules learned code may import, or use by name without an import.
ALLOWED_MODULES: tuple[str, ...] = (
    "re",
    "math",
    "itertools",
    "collections",
    "functools",
    "string",
    "json",
    "heapq",
    "bisect",
    "random",
)

#: Public names left out of the proxies, and why.
HIDDEN: dict[str, dict[str, str]] = {
    "re": {"template": "deprecated, and it warns through the warnings machinery"},
    "string": {"Formatter": "its format() walks attributes named in the format string"},
    "random": {"SystemRandom": "reads the OS entropy source: runs would not be reproducible"},
    "functools": {
        "update_wrapper": "copies attributes named by strings (a getattr/setattr in disguise)",
        "wraps": "copies attributes named by strings (a getattr/setattr in disguise)",
        "WRAPPER_ASSIGNMENTS": "only useful with update_wrapper",
        "WRAPPER_UPDATES": "only useful with update_wrapper",
        "singledispatch": "its registry hands out the type 'object'",
        "singledispatchmethod": "needs classes, which learned code cannot define",
        "total_ordering": "needs classes, and would change shared ones",
        "partialmethod": "needs classes, which learned code cannot define",
        "cached_property": "needs classes, and carries a lock object",
    },
}

#: Seed of ``random`` at the start of every call: the same call gives the same numbers.
RANDOM_SEED = 0

_MUTABLE_VALUES = (dict, list, set, bytearray)
_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: built-in types cannot be changed
_MISSING = object()


def public_api(name: str) -> dict[str, Any]:
    """What the proxy of module ``name`` offers (name -> object)."""
    module = importlib.import_module(name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    hidden = HIDDEN.get(name, {})
    api: dict[str, Any] = {}
    for attr in names:
        value = getattr(module, attr, _MISSING)
        if attr.startswith("_") or attr in hidden or value is _MISSING:
            continue
        if isinstance(value, (types.ModuleType, *_MUTABLE_VALUES)):
            continue
        api[attr] = value
    return api


def make_proxy(name: str, api: Mapping[str, Any]) -> Any:
    """A read-only object whose attributes are exactly ``api``.

    The mapping lives in a closure, not on the object: the object has no ``__dict__``
    and no public attribute of its own, and refuses attribute assignment.
    """
    table = dict(api)

    class Module:
        __slots__ = ()

        def __getattr__(self, attr: str) -> Any:
            try:
                return table[attr]
            except KeyError:
                raise AttributeError(
                    f"module {name!r} has no attribute {attr!r} in learned code"
                ) from None

        def __setattr__(self, attr: str, value: Any) -> None:
            raise AttributeError(f"module {name!r} is read-only in learned code")

        def __delattr__(self, attr: str) -> None:
            raise AttributeError(f"module {name!r} is read-only in learned code")

        def __repr__(self) -> str:
            return f"<module {name!r}>"

        def __dir__(self) -> list[str]:
            return sorted(table)

    Module.__name__ = Module.__qualname__ = name
    return Module()


def make_proxies(names: Iterable[str] = ALLOWED_MODULES) -> dict[str, Any]:
    """One proxy per allowed module (name -> proxy); unknown names are ignored."""
    return {n: make_proxy(n, public_api(n)) for n in names if n in ALLOWED_MODULES}


def make_import(proxies: Mapping[str, Any]) -> Callable[..., Any]:
    """An ``__import__`` that hands out the proxies and refuses everything else."""
    allowed = dict(proxies)
    listed = ", ".join(allowed)

    def restricted_import(
        name: str,
        globals: Any = None,
        locals: Any = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> Any:
        if level == 0 and name in allowed:
            return allowed[name]
        raise ImportError(f"module {name!r} cannot be imported in learned code; allowed: {listed}")

    return restricted_import


class StateGuard:
    """Undoes changes learned code makes to the objects the proxies share between calls.

    Python-level classes and functions of these modules accept new attributes
    (``collections.Counter.most_common = ...``); left alone, one call could change
    what the next one runs. The guard saves their attribute dicts once and puts them
    back after every call, so each call starts from the same state.
    """

    def __init__(self, proxies: Mapping[str, Any]) -> None:
        self._saved: list[tuple[Any, dict[str, Any]]] = []
        seen: set[int] = set()
        for name in proxies:
            for value in public_api(name).values():
                self._watch(value, seen)
                if isinstance(value, type):
                    for klass in value.__mro__:
                        for member in vars(klass).values():
                            if isinstance(member, types.FunctionType):
                                self._watch(member, seen)

    def _watch(self, obj: Any, seen: set[int]) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, type):
            if not obj.__flags__ & _IMMUTABLE_TYPE:
                self._saved.append((obj, dict(vars(obj))))
            return
        attrs = getattr(obj, "__dict__", None)
        if isinstance(attrs, dict):
            self._saved.append((obj, dict(attrs)))

    def __len__(self) -> int:
        return len(self._saved)

    def restore(self) -> int:
        """Put every watched attribute dict back; returns how many were changed."""
        changed = 0
        for obj, saved in self._saved:
            current = obj.__dict__
            if current == saved:  # values are compared by identity first, in C
                continue
            changed += 1
            if isinstance(obj, type):
                _restore_class(obj, saved)
            else:
                current.clear()
                current.update(saved)
        return changed


def _restore_class(klass: type, saved: dict[str, Any]) -> None:
    for key in [k for k in vars(klass) if k not in saved]:
        try:
            delattr(klass, key)
        except (AttributeError, TypeError):
            pass
    for key, value in saved.items():
        if vars(klass).get(key, _MISSING) is not value:
            try:
                setattr(klass, key, value)
            except (AttributeError, TypeError):
                pass
