"""Worked examples for the Reflexion baseline and for LearnAct's revision prompt.

The paper's prompts show the model, per domain, one failed attempt with the plan written
after it (Reflexion) and two answered revision cases, one Update (rewritten code) and one
Plan (a usage note). Ours use our own small problems (:mod:`.worked_cases_data`) and, as
for the agent's demo (:mod:`.demos`), every observation comes from playing the problem:
an environment that serves just that problem is reset and stepped through its own
:meth:`~learnact_langgraph.envs.base.Environment.call`, so the text, invalid messages
included, is exactly what the model meets in a real run.

A revision case's sub-steps are the base calls its library function makes, stored with
the case and replayed here rather than run in a sandbox: the prompt is rendered often and
must stay cheap. The tests run each library in a real sandbox and check that it makes
exactly these calls with exactly these outcomes.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from learnact_langgraph import pyast
from learnact_langgraph.envs.base import StepResult, Task, format_call
from learnact_langgraph.envs.pddl.worked_cases_data import (
    REFLEXION,
    REVISION,
    ReflexionCase,
    RevisionCase,
)
from learnact_langgraph.errors import PDDLError

if TYPE_CHECKING:
    from learnact_langgraph.envs.pddl.env import PDDLEnvironment

#: (domain, "reflection" or "revision") -> rendered text; the text depends only on the
#: domain, so one rendering per process is enough.
_RENDERED: dict[tuple[str, str], str] = {}


def split_call(line: str) -> tuple[str, tuple[str, ...]]:
    """``("pick", ("kiwi", "porch", "left"))`` from ``"pick('kiwi', 'porch', 'left')"``."""
    call = pyast.parse(line, mode="eval").body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
        raise PDDLError(f"{line!r} is not a call of a named action.")
    return call.func.id, tuple(str(ast.literal_eval(a)) for a in call.args)


def case_env(env: PDDLEnvironment, problem: str, label: str) -> PDDLEnvironment:
    """A copy of ``env`` that serves one task, ``problem``, already reset.

    The copy shares the domain, its wording and its action specs with ``env``, so its
    observations are the ones ``env`` would give; only the task list is replaced.
    ``PDDLEnvironment`` has no public way to serve an inline problem, hence the copy.
    """
    twin = copy.copy(env)
    twin._problems = [(f"the {env.name} worked case {label}", None, problem)]
    twin._tasks = [Task(f"{env.name}/worked-{label}", env.name, 0, None, {"worked": label})]
    twin._sims = {}
    twin._examples = None
    twin._task = None
    twin.reset(0)
    return twin


def play(env: PDDLEnvironment, lines: Sequence[str]) -> list[StepResult]:
    """Run each base-action line through ``env.call``; every outcome, valid or not."""
    results = []
    for line in lines:
        name, args = split_call(line)
        results.append(env.call(name, *args))
    return results


def failure_message(name: str, args: Sequence[Any], index: int, total: int, why: str) -> str:
    """The sandbox's message for a call whose first invalid sub-step is ``index`` (0-based).

    Worded as :meth:`learnact_langgraph.sandbox.Sandbox._finish` words it.
    """
    return (
        f"base action {format_call(name, args)} (sub-step {index + 1} of {total}) was not "
        f"valid: {why}"
    )


def played_prefix(env: PDDLEnvironment, case: RevisionCase, label: str) -> PDDLEnvironment:
    """An environment serving the case's problem, in the state of its failing call."""
    twin = case_env(env, case.problem, label)
    for line, result in zip(case.prefix, play(twin, case.prefix), strict=True):
        if not result.valid:
            raise PDDLError(
                f"The {env.name} worked case {label} has an invalid prefix step {line}: "
                f"{result.observation}"
            )
    return twin


# ----- Reflexion -------------------------------------------------------------------------
def reflection_example(env: PDDLEnvironment) -> str:
    """The domain's failed attempt and plan, as the Reflexion prompt's history shows it.

    ``""`` for a domain without a case. Raises :class:`PDDLError` if the attempt reaches
    the goal, which would make it a poor example of a failure.
    """
    case = REFLEXION.get(env.name)
    if case is None:
        return ""
    key = (env.name, "reflection")
    if key not in _RENDERED:
        _RENDERED[key] = _render_reflection(env, case)
    return _RENDERED[key]


def _render_reflection(env: PDDLEnvironment, case: ReflexionCase) -> str:
    twin = case_env(env, case.problem, "attempt")
    lines = [f"Your goal: {twin.goal_text()}", f"Observation: {twin.observation}"]
    for line, result in zip(case.attempt, play(twin, case.attempt), strict=True):
        lines += [f"Action: {line}", f"Observation: {result.observation}"]
    if twin.done:
        raise PDDLError(f"The {env.name} Reflexion attempt reaches its goal; it must fail.")
    lines.append(f"Plan: {case.plan}")
    return "\n".join(lines)


# ----- revision --------------------------------------------------------------------------
def revision_examples(env: PDDLEnvironment) -> str:
    """The domain's two answered revision cases (Update, then Plan) in the prompt's layout.

    ``""`` for a domain without cases. Raises :class:`PDDLError` when a case's prefix is
    not valid or its call does not fail.
    """
    cases = REVISION.get(env.name)
    if cases is None:
        return ""
    key = (env.name, "revision")
    if key not in _RENDERED:
        _RENDERED[key] = "\n\n".join(
            _render_revision(env, case, n) for n, case in enumerate(cases, start=1)
        )
    return _RENDERED[key]


def substep_lines(twin: PDDLEnvironment, case: RevisionCase) -> tuple[str, str]:
    """The case's sub-steps played on ``twin`` (in the case's state), and the message.

    Every stored base call is replayed, as the sandbox lets the function run on after an
    invalid call; the message names the first invalid one. ``twin`` is left after them.
    """
    results = play(twin, case.substeps)
    lines = []
    for line, result in zip(case.substeps, results, strict=True):
        name, args = split_call(line)
        # format_substeps writes repr() of each argument, as format_call does.
        lines += [f"Action: {format_call(name, args)}", f"Observation: {result.observation}"]
    bad = next((i for i, r in enumerate(results) if not r.valid), None)
    if bad is None:
        raise PDDLError(f"The {twin.name} worked call {case.call} does not fail.")
    name, args = split_call(case.substeps[bad])
    message = failure_message(name, args, bad, len(results), results[bad].observation)
    return "\n".join(lines), message


def answer_text(case: RevisionCase, name: str) -> str:
    """The case's answer in the layout ``parse_revision`` reads."""
    if case.kind == "update":
        # The rewritten code ends with its test call, as the revision prompt asks.
        content = f"```python\n{case.content.rstrip()}\n\n{case.call}\n```"
        improve = f"Update: {name}"
    else:
        content, improve = case.content, f"Plan: {name}"
    return f"Failed reason: {case.reason}\nImprove: {improve}\nContent: {content}"


def _render_revision(env: PDDLEnvironment, case: RevisionCase, n: int) -> str:
    label = f"{case.kind}-{n}"
    name, _ = split_call(case.call)
    twin = played_prefix(env, case, label)
    goal, state = twin.goal_text(), twin.observation
    substeps, message = substep_lines(twin, case)
    return "\n".join(
        [
            f"Example {n}:",
            f"Goal: {goal}",
            "The actions:",
            f"```python\n{case.library}\n```",
            f"The action `{name}` was called after this observation:",
            state,
            f"Action: {case.call}",
            f"It failed (invalid_action): {message}",
            "What happened inside the call, step by step:",
            substeps,
            "Answer:",
            answer_text(case, name),
        ]
    )
