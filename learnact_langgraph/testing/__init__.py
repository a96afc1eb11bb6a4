"""Offline chat models for tests, demos and dry runs: no network, no API key.

* :class:`ScriptedChatModel` / :func:`scripted`: a model whose reply is a function of
  the conversation you give it, for tests that check what each role is sent;
* :func:`scripted_model`: the project's stand-in for every role (learner, acting agent,
  tool caller, baselines). ``model="scripted"`` anywhere a model is taken
  (:func:`~learnact_langgraph.models.resolve_model`, ``LearnerContext``, the CLI) gives it.
"""

from learnact_langgraph.testing.chat import Responder, ScriptedChatModel, last_text, scripted
from learnact_langgraph.testing.roles import SCRIPTED_SPEC, ScriptedRoles, scripted_model

__all__ = [
    "SCRIPTED_SPEC",
    "Responder",
    "ScriptedChatModel",
    "ScriptedRoles",
    "last_text",
    "scripted",
    "scripted_model",
]
