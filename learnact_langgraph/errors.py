"""Errors users see. Each message is one sentence that says what to do."""

from __future__ import annotations


class LearnActError(ValueError):
    """Base class of every error this package raises on purpose.

    It is a ``ValueError`` (a bad model name, data directory, store or number), which is
    also what lets a LangGraph server pass its message on to the client: the server
    hides the text of every other exception behind "An internal error occurred".
    """


class DataDirError(LearnActError):
    """The benchmark data directory is missing or incomplete."""


class EnvironmentError_(LearnActError):
    """An environment was used wrongly (unknown task, domain, action or object)."""


class PDDLError(EnvironmentError_):
    """A PDDL domain or problem file could not be read."""


class ActionValidationError(LearnActError):
    """A learned action's name or source is unusable (not an identifier, does not parse, ...)."""


class LibraryError(LearnActError):
    """The action library was asked for something it does not hold (unknown action, version)."""


class ConflictError(LibraryError):
    """A compare-and-set on an action's version failed: re-read the action and retry."""


class GraphInputError(LearnActError):
    """A graph was started without the input it needs."""
