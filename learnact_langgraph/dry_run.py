"""The dry run: new learned code is run once, in the sandbox, before it is evaluated.

Static checks cannot see every mistake: a name spelled wrong inside a branch, a call
with the wrong number of arguments, a loop that never ends. The reference code ran each
new function's example calls on a training environment and sent any exception back to
the model; here the same happens on a throwaway copy of a training task, inside the
sandbox. The calls that succeed become the candidate's usage examples, so every
candidate shows the agent real observations before its first evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from learnact_langgraph import prompts
from learnact_langgraph.envs.base import Environment
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.sandbox import Sandbox
from learnact_langgraph.usage_examples import format_example

#: Errors that come from the code itself (an invalid action only means the call did not
#: fit the state, which evaluation judges).
CODE_ERRORS = ("python_exception", "timeout", "limit", "policy_violation")
#: At most this many example calls are run per dry run.
MAX_CALLS = 8


@dataclass
class DryRun:
    """What running the code once showed: errors for the model, examples for the agent."""

    problems: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


#: ``(functions, calls) -> DryRun``: how the learner's repair loop runs new code.
DryRunner = Callable[[Mapping[str, str], Sequence[str]], DryRun]


def dry_run(
    env: Environment,
    task: Any,
    functions: Mapping[str, str],
    calls: Sequence[str],
    *,
    existing: Mapping[str, str] | None = None,
    setup: Sequence[str] = (),
    backend: str = "subprocess",
) -> DryRun:
    """Load ``functions`` beside ``existing`` actions and run ``calls`` on ``task``.

    ``env`` must be a copy nobody else uses: it is reset, and the calls change it.
    ``setup`` lines (an earlier trajectory's actions, run with ``existing`` only) bring
    the task to the state the calls were written for.
    """
    if not calls:
        return dry_run_in(None, functions, calls)
    try:
        env.reset(task)
        with Sandbox(env, backend=backend, on_error="restore") as sandbox:
            if existing:
                sandbox.load(dict(existing))
            return _set_up_and_run(sandbox, functions, calls, setup)
    except LearnActError as exc:
        return DryRun([_failed("setting up the test", exc)])


def _set_up_and_run(
    sandbox: Sandbox, functions: Mapping[str, str], calls: Sequence[str], setup: Sequence[str]
) -> DryRun:
    for line in setup:
        sandbox.run(line)
    return dry_run_in(sandbox, functions, calls)


def dry_run_in(
    sandbox: Sandbox | None, functions: Mapping[str, str], calls: Sequence[str]
) -> DryRun:
    """Load ``functions`` into ``sandbox`` and run ``calls`` there, one after another."""
    out = DryRun()
    if not calls or sandbox is None:
        names = ", ".join(f"`{n}`" for n in functions)
        out.problems.append(prompts.NO_TEST_CALLS.format(names=names))
        return out
    env = sandbox.env
    try:
        sandbox.load(dict(functions))
    except LearnActError as exc:
        out.problems.append(_failed("loading the functions", exc))
        return out
    for call in calls[:MAX_CALLS]:
        before = env.observation
        result = sandbox.run(call)
        if result.ok and not result.substeps and _names_an_action(result.value, sandbox):
            # Real replies do this: the function returns "move('a', 'b')" as text.
            out.problems.append(_failed(call, prompts.NO_ACTION_TAKEN.format(call=call)))
        elif result.ok and result.substeps:
            out.examples.append(format_example(before, call, result.observation))
        elif result.error_kind in CODE_ERRORS:
            out.problems.append(_failed(call, result.message, result.traceback))
        if env.done:
            break
    return out


def _names_an_action(value: object, sandbox: Sandbox) -> bool:
    """Whether a value is text that spells out a base-action call instead of making it."""
    text = str(value or "")
    return any(re.search(rf"\b{re.escape(n)}\s*\(", text) for n in sandbox.base_names)


def _failed(what: str, error: object, traceback: str = "") -> str:
    return prompts.DRY_RUN_FAILED.format(
        call=what, error=error, traceback=traceback.strip()
    ).strip()


def keep_what_runs(
    functions: Mapping[str, str],
    calls: Sequence[str],
    runner: DryRunner,
    recheck: Callable[[dict[str, str]], tuple[dict[str, str], list[str]]],
) -> tuple[dict[str, str], list[str], list[str]]:
    """The salvaged functions whose example calls run, what was removed, the examples.

    Salvage (once the repair turns are spent) keeps what passes the static checks; a
    function whose own example call fails when run is removed too, then ``recheck``
    removes what called it. Functions with no example call are kept untested.
    """
    kept = dict(functions)
    removed: list[str] = []
    while kept:
        mine = [c for c in calls if _callee(c) in kept]
        if not mine:
            return kept, removed, []
        ran = runner(kept, mine)
        if not ran.problems:
            return kept, removed, ran.examples
        bad = {_callee(c) for c in mine if any(f"and {c} failed" in p for p in ran.problems)}
        if not bad:
            return {}, [*removed, f"every function ({ran.problems[0][:200]})"], []
        for name in sorted(bad):
            kept.pop(name, None)
            removed.append(f"`{name}` (its example call failed when run)")
        kept, more = recheck(kept)
        removed += more
    return kept, removed, []


def _callee(call: str) -> str:
    return call.split("(", 1)[0].strip()


#: Opens a warm environment and ``on_error="restore"`` sandbox holding exactly the
#: given sources (the learner's session pool), handed back when the block ends.
SessionOpener = Callable[
    [Mapping[str, str] | None], AbstractContextManager[tuple[Environment, Sandbox]]
]


def runner_for(
    make_env: Callable[[], Environment],
    task: Any,
    *,
    existing: Mapping[str, str] | None = None,
    setup: Sequence[str] = (),
    backend: str = "subprocess",
    sessions: SessionOpener | None = None,
) -> DryRunner:
    """A :data:`DryRunner` on a freshly reset environment each time (attempts never
    share state): a new one from ``make_env``, or a warm one from ``sessions``."""

    def run(functions: Mapping[str, str], calls: Sequence[str]) -> DryRun:
        if not calls:
            return dry_run_in(None, functions, calls)
        if sessions is None:
            return dry_run(
                make_env(), task, functions, calls, existing=existing, setup=setup, backend=backend
            )
        try:
            with sessions(existing) as (env, sandbox):
                env.reset(task)
                return _set_up_and_run(sandbox, functions, calls, setup)
        except LearnActError as exc:
            return DryRun([_failed("setting up the test", exc)])

    return run
