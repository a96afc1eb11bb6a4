"""Playing one AlfWorld game file through TextWorld's PDDL engine (the old grammar).

The 134 games of the paper use ALFWorld's pre-0.4 grammar (``put X in/on Y``); alfworld
0.4.x's own wrappers and expert speak the newer one, so the games are played here
through TextWorld directly. Three things make that practical for a learning loop:

* **One translation per game and process.** A TextWorld reset re-translates the game's
  PDDL to SAS twice (once more for its re-planner, which we never use): 1-2 s. The
  translation is a pure function of the game text, so it is cached, and the re-planner
  gets the same task instead of a second, optimised translation.
* **One text derivation per command.** After each step TextWorld renders every
  admissible command through its grammar (tens of parser runs). A command's text
  depends only on the action's arguments and facts that never change, so it is cached
  per game.
* **One lock.** TextWorld's grammar parser and the translator keep global state (a
  shared parser object, ``sys.argv``, translator options), so every call into them holds
  :data:`TEXTWORLD_LOCK`. Episodes in threads stay correct; they take turns on the CPU,
  which the GIL makes them do anyway.

Everything here needs the ``alfworld`` extra; :func:`require_engine` says how to get it.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from learnact_langgraph.errors import EnvironmentError_

#: Held around every call into TextWorld or the PDDL translator (see the module doc).
TEXTWORLD_LOCK = threading.RLock()
#: Games whose translation stays cached (each holds a few MB of translated task).
CACHE_SIZE = 24
#: Loaded games kept for reuse, per game file and in all.
POOL_PER_GAME = 8
POOL_SIZE = 32
_INSTALL_HINT = (
    "run `pip install 'learnact-langgraph[alfworld]'` (it compiles two packages the first "
    "time, about 3 minutes)."
)


class EngineMissing(EnvironmentError_):
    """The ``alfworld`` extra (TextWorld and its PDDL engine) is not installed."""


def require_engine() -> None:
    """Raise :class:`EngineMissing` with the install command unless TextWorld can play."""
    try:
        import fast_downward  # noqa: F401
        import textworld.envs.pddl.logic  # noqa: F401
        from alfworld.agents.utils.misc import Demangler  # noqa: F401
    except ImportError as exc:
        raise EngineMissing(
            f"AlfWorld needs the alfworld extra, which is not installed ({exc}): {_INSTALL_HINT}"
        ) from None


@dataclass
class CompiledGame:
    """What every episode of one game file shares: text, logic, names, caches."""

    path: str
    data: dict[str, Any]
    logic: Any
    names: dict[str, str] = field(default_factory=dict)
    commands: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)


_translations: OrderedDict[tuple[str, str, bool], tuple[Any, str]] = OrderedDict()
#: Native libraries of closed games, ready for the next game loaded.
_free_libs: list[Any] = []
_games: OrderedDict[str, CompiledGame] = OrderedDict()
_skip_replan = threading.local()
_reuse = [True]


def reusing() -> bool:
    """Whether games, translations and command texts are reused (the default)."""
    return _reuse[0]


@contextmanager
def no_reuse() -> Iterator[None]:
    """Play as plain TextWorld does: every game load translates and derives afresh, and
    an environment reloads its game on every reset. For measuring what reuse saves."""
    with TEXTWORLD_LOCK:
        previous, _reuse[0] = _reuse[0], False
        clear_caches()
    try:
        yield
    finally:
        with TEXTWORLD_LOCK:
            _reuse[0] = previous


def clear_caches() -> None:
    """Forget every cached game and translation (the next load pays in full)."""
    with TEXTWORLD_LOCK:
        _translations.clear()
        _games.clear()
        while _pool:
            for game in _pool.popitem()[1]:
                game.close()


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> Any:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return value


def _translate(domain: str, problem: str, verbose: bool = False, optimize: bool = False) -> Any:
    """``fast_downward.pddl2sas``, cached, and without its ``sys.argv`` side effect.

    Our games never ask TextWorld's re-planner for a plan, so while one of them loads,
    the optimised translation the re-planner would get is the plain one.
    """
    import fast_downward

    if optimize and getattr(_skip_replan, "on", False) and reusing():
        optimize = False
    key = (domain, problem, optimize)
    with TEXTWORLD_LOCK:
        hit = _translations.get(key) if reusing() else None
        if hit is not None:
            _translations.move_to_end(key)
            return hit
        argv = list(sys.argv)
        try:
            result = fast_downward.pddl2sas(domain, problem, verbose=verbose, optimize=optimize)
        finally:
            sys.argv[:] = argv
        return _remember(_translations, key, result) if reusing() else result


class _TranslatorProxy:
    """The ``fast_downward`` module as TextWorld's PDDL logic sees it: translations cached."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    @staticmethod
    def pddl2sas(domain: str, problem: str, verbose: bool = False, optimize: bool = False) -> Any:
        return _translate(domain, problem, verbose, optimize)


def _install_proxy() -> None:
    import fast_downward
    import textworld.envs.pddl.logic as pddl_logic

    if not isinstance(getattr(pddl_logic, "fast_downward", None), _TranslatorProxy):
        pddl_logic.fast_downward = _TranslatorProxy(fast_downward)


def compiled_game(path: str | Path) -> CompiledGame:
    """The shared, cached part of game file ``path``."""
    require_engine()
    key = str(Path(path).resolve())
    with TEXTWORLD_LOCK:
        hit = _games.get(key) if reusing() else None
        if hit is not None:
            _games.move_to_end(key)
            return hit
        _install_proxy()
        from textworld.envs.pddl import logic as pddl_logic

        try:
            data = json.loads(Path(key).read_text())
            logic = pddl_logic.GameLogic(domain=data["pddl_domain"], grammar=data["grammar"])
        except (OSError, ValueError, KeyError) as exc:
            raise EnvironmentError_(
                f"Cannot read the AlfWorld game {key} ({type(exc).__name__}: {exc}): "
                "run `learnact data fetch alfworld --force` to restore it."
            ) from None
        game = CompiledGame(key, data, logic)
        return _remember(_games, key, game) if reusing() else game


def _make_env_class() -> type:
    """TextWorld's ``PddlEnv`` with the shared game and the command cache (built lazily,
    so importing this module never needs the extra)."""
    import textworld
    from alfworld.agents.utils.misc import Demangler
    from textworld.core import EnvInfos
    from textworld.envs.pddl import PddlEnv
    from textworld.envs.pddl import logic as pddl_logic

    class OldGrammarEnv(PddlEnv):
        def __init__(self, game: CompiledGame, lib: Any) -> None:
            # PddlEnv.__init__ minus loading a library: ours comes from the free list.
            textworld.Environment.__init__(self, EnvInfos(admissible_commands=True, won=True))
            self.downward_lib = lib
            self.game = game
            self._game_file = game.path
            self._game_data = game.data
            self.walkthrough = None
            self._logic = game.logic
            self._pddl_state = pddl_logic.PddlState(
                self.downward_lib, game.data["pddl_problem"], game.logic
            )
            self._entity_infos = self._get_entity_infos()
            if not game.names:
                demangler = Demangler(game_infos=self._entity_infos, shuffle=False)
                game.names = {
                    key: demangler.demangle_alfred_name(info.id)
                    for key, info in self._entity_infos.items()
                }
            for key, info in self._entity_infos.items():
                info.name = game.names.get(key, info.name)

        def _gather_infos(self) -> None:
            # As PddlEnv._gather_infos, with each command's text derived once per game.
            state = self.state
            pddl = self._pddl_state
            state["won"] = pddl.check_goal()
            state["lost"] = False
            state["_entity_infos"] = dict(self._entity_infos)
            state["_facts"] = list(pddl.facts)
            state["last_action"] = None
            state["_last_action"] = self._last_action
            actions = list(pddl.all_applicable_actions())
            state["_valid_actions"] = actions
            mapping = {k: info.name for k, info in self._entity_infos.items()}
            commands = []
            for action in actions:
                key = (action.name, tuple(v.name for v in action.mapping.values()))
                text = self.game.commands.get(key) if reusing() else None
                if text is None:
                    context = {
                        "state": pddl,
                        "facts": state["_facts"],
                        "variables": {
                            ph.name: self._entity_infos[var.name]
                            for ph, var in action.mapping.items()
                        },
                        "mapping": action.mapping,
                        "entity_infos": self._entity_infos,
                    }
                    action.command_template = self._logic.grammar.derive(
                        action.command_template, context
                    )
                    text = action.format_command(mapping)
                    self.game.commands[key] = text
                commands.append(text)
            state["_valid_commands"] = commands
            state["admissible_commands"] = sorted(set(commands))

    return OldGrammarEnv


_env_class: list[type] = []


class TextWorldGame:
    """One loaded game: reset, step by command text, replay a command history.

    Each instance owns its copy of the PDDL engine's native library (TextWorld loads one
    per environment), so two instances never share a game state. That library cannot be
    unloaded safely, so games are pooled (:func:`acquire`, :func:`release`) rather than
    made per episode, and a game that leaves the pool (:meth:`close`) hands its library on
    to the next game loaded: the process holds as many libraries as games at once.
    """

    def __init__(self, path: str | Path) -> None:
        game = compiled_game(path)
        with TEXTWORLD_LOCK:
            if not _env_class:
                _env_class.append(_make_env_class())
            _skip_replan.on = True
            lib = _free_libs.pop() if _free_libs and reusing() else None
            if lib is None:
                import fast_downward

                lib = fast_downward.load_lib()
            try:
                self._env = _env_class[0](game, lib)
            except BaseException:
                _free_libs.append(lib)
                raise
            finally:
                _skip_replan.on = False
        self.path = game.path

    def reset(self) -> str:
        """Start the game again (no file is read or translated) and return the intro text."""
        with TEXTWORLD_LOCK:
            _skip_replan.on = True
            try:
                state = self._env.reset()
            finally:
                _skip_replan.on = False
        return str(state.feedback)

    def step(self, command: str) -> str:
        """Play ``command``; TextWorld answers "Nothing happens." when it is not admissible."""
        with TEXTWORLD_LOCK:
            state, _, _ = self._env.step(command)
        return str(state.feedback)

    def replay(self, commands: Sequence[str]) -> None:
        """Reset, then play ``commands`` in order (how a snapshot is restored)."""
        self.reset()
        for command in commands:
            self.step(command)

    def close(self) -> None:
        """Hand this game's native library on to the next game loaded; the game cannot be
        played afterwards.

        The library is never unloaded: unloading a copy of it (``dlclose``) and loading
        another later crashes the process. Loading another game's task into it is what
        every reset does anyway, so a library serves any number of games in turn.
        """
        with TEXTWORLD_LOCK:
            lib = getattr(self._env, "downward_lib", None)
            if lib is not None:
                self._env.downward_lib = None
                lib.cleanup()
                _free_libs.append(lib)

    @property
    def admissible(self) -> list[str]:
        return list(self._env.state["admissible_commands"])

    @property
    def won(self) -> bool:
        return bool(self._env.state["won"])

    @property
    def entity_names(self) -> list[str]:
        """Every object and receptacle name of this game ("apple 1", "countertop 2")."""
        return sorted({info.name for info in self._env._entity_infos.values() if info.name})


_pool: OrderedDict[str, list[TextWorldGame]] = OrderedDict()


def acquire(path: str | Path) -> TextWorldGame:
    """A loaded game of ``path``: one an environment gave back, else a new one."""
    key = str(Path(path).resolve())
    with TEXTWORLD_LOCK:
        free = _pool.get(key)
        if free and reusing():
            game = free.pop()
            if not free:
                del _pool[key]
            return game
    return TextWorldGame(key)


def release(game: TextWorldGame) -> None:
    """Give ``game`` back for reuse; beyond the pool's size the oldest are closed."""
    with TEXTWORLD_LOCK:
        if not reusing():
            game.close()
            return
        free = _pool.setdefault(game.path, [])
        _pool.move_to_end(game.path)
        free.append(game)
        if len(free) > POOL_PER_GAME:
            free.pop(0).close()
        while sum(len(v) for v in _pool.values()) > POOL_SIZE:
            oldest = next(iter(_pool))
            _pool[oldest].pop(0).close()
            if not _pool[oldest]:
                del _pool[oldest]
