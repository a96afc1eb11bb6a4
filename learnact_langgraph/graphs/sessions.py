"""Live environment sessions for graph nodes.

Environments and sandbox workers are not state: they are rebuilt from the run's
context in each node that needs one, so a checkpointed run can resume in another
process. A session is an environment plus a sandbox bound to it, with the prompt
material (examples, an action example, a code example) that goes with it.

The learner's short-lived sessions (episodes, dry runs) come from the process's
:mod:`~learnact_langgraph.graphs.session_pool`, warm; an agent run that holds its
session across nodes opens its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from learnact_langgraph import prompts
from learnact_langgraph.envs.base import Environment, format_call
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.graphs.session_pool import POOL, context_key
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.sandbox.types import OnError


@dataclass
class Session:
    env: Environment
    sandbox: Sandbox
    examples: list[str]
    action_example: str
    tool_example: str


def make_env(ctx: Any) -> Environment:
    """The environment a run's context names (``env_factory`` wins over ``env``)."""
    factory = getattr(ctx, "env_factory", None)
    if factory is not None:
        env = factory()
        if not isinstance(env, Environment):
            raise LearnActError("env_factory must return an Environment instance.")
        return env
    if ":" in str(ctx.env):
        return _imported_env(str(ctx.env))
    from learnact_langgraph.envs.registry import load_env

    return load_env(ctx.env, tasks=ctx.tasks, data_dir=ctx.data_dir)


def reference_env(ctx: Any) -> Environment:
    """An environment of the context's kind for reading only (its name, base actions,
    tasks, default settings): built once per process, never reset or stepped."""
    return POOL.reference(context_key(ctx), lambda: make_env(ctx))


def _imported_env(spec: str) -> Environment:
    """The environment an import string ``"package.module:factory"`` makes."""
    from importlib import import_module

    module, _, name = spec.partition(":")
    try:
        factory = getattr(import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise LearnActError(
            f"Cannot import the environment {spec!r} ({exc}); give a built-in name or "
            "'package.module:factory' with a function that returns an Environment."
        ) from exc
    env = factory() if callable(factory) else factory
    if not isinstance(env, Environment):
        raise LearnActError(f"{spec} must return an Environment, not {type(env).__name__}.")
    return env


def training_tasks(ctx: Any) -> list[str]:
    """Ids of the training tasks: explicit ids, else the fixed train split, else the first 3."""
    ids: list[str] | None = getattr(ctx, "train_task_ids", None)
    if ids:
        return list(ids)
    env = reference_env(ctx)
    train = [t.id for t in env.split("train")]
    return train or [t.id for t in list(env.tasks())[:3]]


def tasks_of(state: Mapping[str, Any], ctx: Any) -> list[str]:
    """The run's training tasks: given in the input (``learnact_tasks``), else the
    tasks of the given trajectories (``learnact_trajectories``), else
    :func:`training_tasks`."""
    given = state.get("learnact_tasks")
    if given:
        return [str(t) for t in given]
    seen = [str(t.get("task_id")) for t in state.get("learnact_trajectories") or ()]
    return list(dict.fromkeys(seen)) or training_tasks(ctx)


def examples_for(env: Environment) -> list[str]:
    return [str(e) for e in getattr(env, "examples", ()) or ()]


def action_example_for(env: Environment) -> str:
    try:
        first = env.tasks()[0]
        env.reset(first)
        valid = env.valid_actions()
        if valid:
            return valid[0]
    except LearnActError:
        pass
    action = env.base_actions()[0]
    return format_call(action.name, [p.name for p in action.params])


def tool_example_for(env: Environment) -> str:
    """The creation prompt's example answer: by the environment's name, else by family
    (every AlfWorld type shares one), else a generic one."""
    domain = str(getattr(getattr(env, "domain", None), "name", ""))
    for key in (env.name, domain, env.name.split("_")[0]):
        if key in prompts.TOOL_EXAMPLES:
            return prompts.TOOL_EXAMPLES[key]
    return prompts.GENERIC_TOOL_EXAMPLE


@contextmanager
def open_session(
    ctx: Any, sources: Mapping[str, str] | None = None, *, pooled: bool = False
) -> Iterator[Session]:
    """A session on the context's environment with ``sources`` loaded.

    ``pooled`` sessions come warm from the process's pool and go back to it (for
    episodes and dry runs, which reset the environment first); others are built and
    closed here.
    """
    backend = getattr(ctx, "sandbox_backend", "subprocess")
    on_error: OnError = getattr(ctx, "on_error", "restore")
    if pooled:
        key = context_key(ctx)
        with POOL.session(
            key, lambda: make_env(ctx), backend=backend, on_error=on_error, sources=sources
        ) as (env, sandbox):
            yield Session(env, sandbox, *_prompt_material(key, env))
        return
    env = make_env(ctx)
    with Sandbox(env, backend=backend, on_error=on_error) as sandbox:
        if sources:
            sandbox.load(dict(sources))
        yield Session(
            env, sandbox, examples_for(env), action_example_for(env), tool_example_for(env)
        )


def dry_run_sessions(ctx: Any) -> Any:
    """The dry runs' session opener (a :data:`~learnact_langgraph.dry_run.SessionOpener`):
    warm sessions from the pool, rolling back whatever a failed call did."""
    backend = getattr(ctx, "sandbox_backend", "subprocess")

    def opener(
        sources: Mapping[str, str] | None,
    ) -> AbstractContextManager[tuple[Environment, Sandbox]]:
        return POOL.session(
            context_key(ctx),
            lambda: make_env(ctx),
            backend=backend,
            on_error="restore",
            sources=sources,
        )

    return opener


_MATERIAL: dict[Any, tuple[list[str], str, str]] = {}


def _prompt_material(key: Any, env: Environment) -> tuple[list[str], str, str]:
    """The prompt material of an environment kind, worked out once per process (the
    action example resets the environment, so it is read before the episode starts)."""
    material = _MATERIAL.get(key)
    if material is None:
        material = (examples_for(env), action_example_for(env), tool_example_for(env))
        if len(_MATERIAL) > 64:
            _MATERIAL.clear()
        _MATERIAL[key] = material
    return material[0][:], material[1], material[2]
