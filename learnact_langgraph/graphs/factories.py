"""``create_learner``: the learning loop as a typed graph that composes.

In the style of first-party LangGraph factories (``create_agent``, langmem's
``create_*``): the model and the environment are arguments, ``store=None`` falls back
to the store of the graph it runs in, and the result is a compiled graph with an
explicit input and output schema, ready for ``add_node``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from learnact_langgraph.envs.base import Environment
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.graphs.learner import build_learner_graph
from learnact_langgraph.graphs.learner_state import (
    LearnerContext,
    LearnerInput,
    LearnerOutput,
    LearnerState,
)
from learnact_langgraph.validation import SettingError

#: What ``env=`` may be: a built-in environment's name, an environment (copied for
#: each episode), or a function that makes a fresh one.
EnvLike = str | Environment | Callable[[], Environment]

LearnerGraph = CompiledStateGraph[LearnerState, LearnerContext, LearnerInput, LearnerOutput]


def env_factory_for(env: Environment) -> Callable[[], Environment]:
    """Fresh copies of ``env`` for the learner's episodes and dry runs.

    The learner plays many episodes at once, each on its own environment; a live
    environment is copied as it is now (each episode resets its copy).
    """
    try:
        pristine = copy.deepcopy(env)
    except Exception as exc:
        raise LearnActError(
            f"Cannot copy the {type(env).__name__} for the learner's episodes ({exc}); "
            "pass env_factory=<a function that returns a fresh environment>."
        ) from exc

    def make() -> Environment:
        return copy.deepcopy(pristine)

    return make


def learner_context(
    learner_model: Any, *, env: EnvLike | None = None, **settings: Any
) -> LearnerContext:
    """A :class:`LearnerContext` from factory arguments, with one clear error for a
    setting that does not exist."""
    known = {f.name for f in dataclasses.fields(LearnerContext)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise SettingError(
            f"Unknown learner setting(s) {', '.join(unknown)}; the settings are the fields "
            f"of LearnerContext: {', '.join(sorted(known - {'learner_model'}))}."
        )
    if isinstance(env, str):
        settings["env"] = env
    elif isinstance(env, Environment):
        settings["env"], settings["env_factory"] = env.name, env_factory_for(env)
    elif env is not None:
        if not callable(env):
            raise SettingError(
                "env must be an environment name, an Environment or a function "
                f"returning one, not {type(env).__name__}."
            )
        settings["env_factory"] = env
    return LearnerContext(learner_model=learner_model, **settings)


def create_learner(
    learner_model: Any,
    *,
    env: EnvLike | None = None,
    agent_model: Any = None,
    store: Any = None,
    checkpointer: Any = None,
    name: str = "learnact_learner",
    **settings: Any,
) -> LearnerGraph:
    """The LearnAct loop as a compiled graph with its settings bound.

    ``learner_model`` writes and revises actions (a chat model or an
    ``init_chat_model`` string); ``agent_model`` acts while candidates are evaluated
    (default: the learner's). ``settings`` are :class:`LearnerContext` fields (``k``,
    ``rounds``, ``library``, ``tool_agent``, ...). The graph reads
    :class:`LearnerInput` (``learnact_tasks``, ``learnact_trajectories``) and returns
    :class:`LearnerOutput` (``learnact_status``, ``learnact_release``); everything else
    stays inside. Its settings do not come from the run's context, so it can be a
    node of a graph with its own state and context schema. ``store=None`` and
    ``checkpointer=None`` use the parent graph's (or none when run alone).
    """
    ctx = learner_context(learner_model, env=env, agent_model=agent_model, **settings)
    graph = build_learner_graph(ctx, io_schemas=True)
    return graph.compile(checkpointer=checkpointer, store=store, name=name)


__all__ = ["EnvLike", "LearnerGraph", "create_learner", "env_factory_for", "learner_context"]
