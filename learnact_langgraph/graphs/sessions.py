"""Live environment sessions for graph nodes.

Environments and sandbox workers are not state: they are rebuilt from the run's
context in each node that needs one, so a checkpointed run can resume in another
process. A session is an environment plus a sandbox bound to it, with the prompt
material (examples, an action example, a code example) that goes with it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from learnact_langgraph import prompts
from learnact_langgraph.envs.base import Environment, format_call
from learnact_langgraph.errors import LearnActError
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
    env = make_env(ctx)
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
def open_session(ctx: Any, sources: Mapping[str, str] | None = None) -> Iterator[Session]:
    env = make_env(ctx)
    backend = getattr(ctx, "sandbox_backend", "subprocess")
    on_error: OnError = getattr(ctx, "on_error", "restore")
    with Sandbox(env, backend=backend, on_error=on_error) as sandbox:
        if sources:
            sandbox.load(dict(sources))
        yield Session(
            env, sandbox, examples_for(env), action_example_for(env), tool_example_for(env)
        )
