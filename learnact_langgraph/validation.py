"""Range checks for run settings, shared by the Python API and the command line.

A count such as ``k=0`` or ``max_steps=-5`` does not fail loudly further down: Python
slices and ``range`` quietly accept it and a run "succeeds" with nothing done. Settings
objects (:class:`~learnact_langgraph.bench.config.BenchConfig`,
:class:`~learnact_langgraph.graphs.learner_state.LearnerContext`) therefore check their
numbers when they are made, with one sentence that names the field and its range.
"""

from __future__ import annotations

from collections.abc import Collection

from learnact_langgraph.errors import LearnActError

__all__ = ["SettingError", "require_at_least", "require_choice"]


class SettingError(LearnActError):
    """A run setting is outside its allowed range."""


def require_at_least(
    owner: str, name: str, value: object, minimum: float, *, optional: bool = False
) -> None:
    """Raise :class:`SettingError` unless ``value`` is a number of at least ``minimum``.

    Integers are required when ``minimum`` is an ``int``; ``optional`` lets ``None``
    through (it means "no limit" for such fields).
    """
    if value is None and optional:
        return
    integral = isinstance(minimum, int)
    kind = "an integer" if integral else "a number"
    allowed = (int,) if integral else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise SettingError(f"{owner}.{name} must be {kind} of at least {minimum}, got {value!r}.")
    if value < minimum:
        raise SettingError(f"{owner}.{name} must be at least {minimum}, got {value!r}.")


def require_choice(owner: str, name: str, value: object, choices: Collection[str]) -> None:
    """Raise :class:`SettingError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise SettingError(
            f"{owner}.{name} must be one of {', '.join(sorted(choices))}, got {value!r}."
        )
