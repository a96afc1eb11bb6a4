"""The learned actions held by a sandbox worker: compiled and defined once per load.

Stdlib-only: the worker loads this file by path before it locks itself down.

Every action's top level runs once, when it is loaded, in its own namespace whose
builtins are the ``shared`` dict (safe builtins, module proxies, base-action stubs and
the learned functions), so adding one action to a library of a thousand compiles and
runs one source, not a thousand. What a call could leave behind is put back after it:
the shared dict, attributes set on learned functions, and, for the rare action that
keeps a mutable constant (``SEEN = []``), its whole namespace, which is run afresh
before each call as the worker always did. So every call still starts from the state
right after the load.
"""

from __future__ import annotations
import __future__

import types
from collections.abc import Callable
from typing import Any

_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), type(Ellipsis), range)


class LoadRefused(Exception):
    """A source did not compile; the library is unchanged."""


def compile_learned(source: str, filename: str, mode: str) -> Any:
    """Compile learned code; annotations stay text (never evaluated, so never a
    ``NameError`` or a base-action call when a source is run)."""
    flags = __future__.annotations.compiler_flag
    return compile(source, filename, mode, flags=flags, dont_inherit=True)


def mentions(code: Any, names: frozenset[str]) -> bool:
    """Whether ``code``, or code nested in it, names one of ``names`` or any name that
    starts with ``_`` (a global, an import or an attribute: a superset of the ways it
    could reach a module or the builtins dict, should the policy ever miss one)."""
    if not names.isdisjoint(code.co_names) or any(n[:1] == "_" for n in code.co_names):
        return True
    return any(isinstance(c, types.CodeType) and mentions(c, names) for c in code.co_consts)


def _frozen(value: Any, depth: int = 0) -> bool:
    if isinstance(value, _IMMUTABLE):
        return True
    if type(value) in (tuple, frozenset) and depth < 20:
        return all(_frozen(v, depth + 1) for v in value)
    return False


class Action:
    """One loaded action: its code, its namespace and what that held right after loading."""

    __slots__ = ("code", "functions", "name", "namespace", "stateful", "uses_modules")

    def __init__(self, name: str, code: Any, modules: frozenset[str]) -> None:
        self.name = name
        self.code = code
        self.uses_modules = mentions(code, modules)
        self.namespace: dict[str, Any] = {}
        self.functions: list[Any] = []
        self.stateful = False


class Library:
    """The loaded actions and the ``shared`` builtins every namespace looks names up in."""

    def __init__(
        self,
        builtins: dict[str, Any],
        known: set[int],
        remember: Callable[[str, str], None],
        forget: Callable[[str], None],
        modules: frozenset[str] = frozenset(),
    ) -> None:
        self.base_builtins = builtins
        #: The names of the module proxies, and of the attributes that walk from any
        #: object to others (frames, ``format``), see :func:`mentions`.
        self.modules = modules
        #: Whether a loaded action names a module: only then can a call reach the
        #: objects the modules share between calls (or the random generator).
        self.uses_modules = False
        self.shared: dict[str, Any] = dict(builtins)
        self.saved: dict[str, Any] = dict(builtins)
        self.actions: dict[str, Action] = {}
        self.stateful: list[Action] = []
        self.functions: list[Any] = []
        self._known = known
        self._remember = remember
        self._forget = forget

    def add_builtin(self, name: str, value: Any) -> None:
        self.base_builtins[name] = value
        self.shared[name] = self.saved[name] = value

    def load(
        self, sources: dict[str, str], remove: list[str], define: Callable[[Action], None]
    ) -> None:
        """Compile every new source first (raising :class:`LoadRefused`, library
        unchanged), then define them and drop ``remove``."""
        compiled: list[Action] = []
        for name, source in sources.items():
            filename = f"<learned:{name}>"
            try:
                code = compile_learned(source, filename, "exec")
                compiled.append(Action(name, code, self.modules))
            except BaseException as exc:  # SyntaxError, MemoryError, RecursionError, ...
                why = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
                raise LoadRefused(f"{filename}: {why}") from None
        for name, source in sources.items():
            self._remember(f"<learned:{name}>", source)
        for name in remove:
            if name in self.actions and name not in sources:
                del self.actions[name]
                self._forget(f"<learned:{name}>")
                self._unpublish(name)
        for action in compiled:
            self.actions[action.name] = action
            define(action)
            self._classify(action)
            self._publish(action)
        self.stateful = [a for a in self.actions.values() if a.stateful]
        self.uses_modules = any(a.uses_modules for a in self.actions.values())
        self.functions = [f for a in self.actions.values() for f in a.functions]
        self.saved = dict(self.shared)

    def _publish(self, action: Action) -> None:
        if action.name in action.namespace:
            self.shared[action.name] = action.namespace[action.name]
        else:
            self._unpublish(action.name)

    def _unpublish(self, name: str) -> None:
        if name in self.base_builtins:
            self.shared[name] = self.base_builtins[name]
        else:
            self.shared.pop(name, None)

    def _classify(self, action: Action) -> None:
        """Stateful when its namespace holds something a call could change in place."""
        action.functions = []
        stateful = False
        for key, value in action.namespace.items():
            if key == "__builtins__" or _frozen(value) or id(value) in self._known:
                continue
            if isinstance(value, types.FunctionType) and value.__code__.co_filename.startswith(
                "<learned:"
            ):
                action.functions.append(value)
                stateful = stateful or not _frozen(value.__defaults__ or ())
                continue
            stateful = True
        action.stateful = stateful

    def before_call(self, define: Callable[[Action], None]) -> None:
        """Give each stateful action a freshly run namespace, as after its load."""
        for action in self.stateful:
            define(action)
            self._publish(action)

    def after_call(self) -> None:
        """Put back whatever the call changed in the shared dict or on learned functions."""
        if self.shared != self.saved:
            self.shared.clear()
            self.shared.update(self.saved)
        for function in self.functions:
            if function.__dict__:
                function.__dict__.clear()
