"""A person's approval of a learner release, in LangChain's human-in-the-loop format.

The request and the answer are those of ``HumanInTheLoopMiddleware`` (an
``HITLRequest`` in, an ``HITLResponse`` back), so any client that reviews an agent's
tool calls can review a release: each learned action is one ``publish_action``
request to approve, edit or reject. A person's edit is code that will run for every
agent, so it passes the same gate as learned code and then a dry run in the sandbox;
anything wrong (a refused edit, a malformed answer) is answered by asking again with
the reasons, never by an exception, and nothing is published until an answer passes.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, cast

from langchain.agents.middleware.human_in_the_loop import (
    ActionRequest,
    DecisionType,
    HITLRequest,
    ReviewConfig,
)
from langgraph.types import interrupt

from learnact_langgraph.dry_run import DryRun, runner_for
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.graphs.publishing import apply_edits, edit_problems
from learnact_langgraph.graphs.sessions import make_env, training_tasks
from learnact_langgraph.pyast import literal_call
from learnact_langgraph.sandbox import Sandbox, gate
from learnact_langgraph.usage_examples import shows_any

#: The action name of every request: publishing one learned action.
TOOL = "publish_action"
ALLOWED: list[DecisionType] = ["approve", "edit", "reject"]
#: Key of ``problems`` for reasons about the whole answer rather than one action.
WHOLE = ""


class _Choice(NamedTuple):
    kind: str
    source: str | None = None
    description: str | None = None


def example_calls(best: Mapping[str, Any], name: str) -> list[str]:
    """The calls of ``name`` in ``best``'s usage examples (their ``Action:`` lines)."""
    calls = []
    for example in best.get("usage_examples", []) or []:
        for line in str(example).splitlines():
            call = line.removeprefix("Action: ").strip()
            parsed = literal_call(call) if line.startswith("Action: ") else None
            if parsed and parsed[0] == name and call not in calls:
                calls.append(call)
    return calls


def approval_request(
    best: Mapping[str, Any],
    *,
    warning: str = "",
    problems: Mapping[str, Sequence[str]] | None = None,
) -> HITLRequest:
    """One ``publish_action`` request per learned action of ``best``.

    ``problems`` maps an action name to why its last decision was refused (key
    :data:`WHOLE` for the answer as a whole); they are shown in the descriptions and
    listed under an extra top-level ``"problems"`` key, absent when there are none.
    """
    problems = problems or {}
    general = list(problems.get(WHOLE, ()))
    header = _summary(best, warning)
    requests = []
    for name, action in best["actions"].items():
        text = str(action.get("description", "") or "")
        lines = [
            f"Publish the learned action `{name}` to the library" + (f": {text}" if text else "."),
            *header,
        ]
        calls = example_calls(best, name)
        if calls:
            lines.append("Example call: " + calls[0])
        mine = [*general, *problems.get(name, ())]
        if mine:
            lines.append("Refused (edit again, approve or reject): " + " | ".join(mine))
        args = {"name": name, "source": action["source"], "description": text}
        requests.append(ActionRequest(name=TOOL, args=args, description="\n".join(lines)))
    request = HITLRequest(
        action_requests=requests,
        review_configs=[ReviewConfig(action_name=TOOL, allowed_decisions=list(ALLOWED))],
    )
    flat = general + [f"{n}: {p}" for n, ps in problems.items() if n != WHOLE for p in ps]
    return cast(HITLRequest, {**request, "problems": flat}) if flat else request


def review(
    best: dict[str, Any], ctx: Any, *, warning: str = ""
) -> tuple[dict[str, Any] | None, str]:
    """Ask a person about ``best`` until an answer passes; what to publish, and why.

    Returns ``(best_to_publish, "approved")`` with rejected actions left out and edits
    applied, or ``(None, "rejected")`` when every action was rejected. Runs inside a
    graph node: each question is a LangGraph ``interrupt``.
    """
    names = list(best["actions"])
    problems: dict[str, list[str]] = {}
    while True:
        answer = interrupt(approval_request(best, warning=warning, problems=problems))
        choices, problems = _read(answer, names)
        if problems:
            continue
        rejected = {n for n, c in choices.items() if c.kind == "reject"}
        if names and len(rejected) == len(names):
            return None, "rejected"
        edits = {n: c.source for n, c in choices.items() if c.source is not None}
        problems, examples = _check(best, ctx, edits, rejected)
        if problems:
            continue
        out = apply_edits(best, edits) if edits else dict(best)
        actions = {n: a for n, a in out["actions"].items() if n not in rejected}
        for n, c in choices.items():
            if c.description is not None and n in actions:
                actions[n] = {**actions[n], "description": c.description}
        stale = rejected | set(edits)  # examples of changed code show what it no longer does
        kept = [e for e in best.get("usage_examples", []) if not shows_any(e, stale)]
        out.update(actions=actions, usage_examples=kept + examples)
        if rejected:
            out["rejected_by_human"] = sorted(rejected)
        return out, "approved"


def _summary(best: Mapping[str, Any], warning: str) -> list[str]:
    """The candidate and its training scores, so the reviewer sees what was measured."""
    stats = best.get("stats") or {}
    scores = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in stats.items()
    )
    where = f"Candidate {best.get('id', '?')} (round {best.get('round', 0)})"
    lines = [f"{where} scores on the training tasks: {scores or 'none'}."]
    return [*lines, f"Warning: {warning}."] if warning else lines


def _read(answer: Any, names: list[str]) -> tuple[dict[str, _Choice], dict[str, list[str]]]:
    """The decision per action, or why the answer is not a valid ``HITLResponse``."""
    decisions = answer.get("decisions") if isinstance(answer, dict) else None
    if not isinstance(decisions, list) or len(decisions) != len(names):
        got = f"{len(decisions)} decision(s)" if isinstance(decisions, list) else repr(answer)[:120]
        return {}, {
            WHOLE: [
                f'answer with {{"decisions": [...]}}: one decision per action request, in '
                f"order ({len(names)}: {', '.join(names)}); got {got}"
            ]
        }
    choices: dict[str, _Choice] = {}
    problems: dict[str, list[str]] = {}
    for name, d in zip(names, decisions, strict=True):
        choice, why = _decision(name, d)
        if why:
            problems[name] = [why]
        else:
            choices[name] = choice
    return choices, problems


def _decision(name: str, d: Any) -> tuple[_Choice, str]:
    kind = d.get("type") if isinstance(d, dict) else None
    if kind not in ALLOWED:
        what = f"decision type {kind!r}" if isinstance(kind, str) else f"decision {d!r:.80}"
        return _Choice(""), f"{what} is not allowed here; allowed: {', '.join(ALLOWED)}"
    if kind != "edit":
        return _Choice(str(kind)), ""
    edited = d.get("edited_action")
    args = edited.get("args") if isinstance(edited, dict) else None
    source = args.get("source") if isinstance(args, dict) else None
    if not isinstance(edited, dict) or not isinstance(args, dict):
        return _Choice(""), "an edit needs edited_action with args (name, source)"
    if not isinstance(source, str) or not source.strip():
        return _Choice(""), "an edit needs the new code in edited_action.args.source"
    if edited.get("name", TOOL) != TOOL:
        return _Choice(""), f"edited_action.name must be {TOOL!r}, not {edited.get('name')!r}"
    if args.get("name", name) != name:
        return _Choice(""), (
            f"an edit cannot rename `{name}` to `{args.get('name')}`; edit `{name}` itself"
        )
    text = args.get("description")
    return _Choice("edit", source, text if isinstance(text, str) else None), ""


def _check(
    best: Mapping[str, Any], ctx: Any, edits: dict[str, str], rejected: set[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """Why the decisions can't be published (gate, dependencies, dry run); new examples."""
    problems: dict[str, list[str]] = {}
    for name, source in edits.items():
        if found := edit_problems({name: source}, ctx):
            problems[name] = found
    final = {n: edits.get(n, a["source"]) for n, a in best["actions"].items() if n not in rejected}
    for name, source in final.items():
        needs = sorted(_called(source) & rejected)
        if needs:
            problems.setdefault(name, []).append(
                f"`{name}` calls {', '.join(needs)}, which would not be published; "
                "reject or edit it too"
            )
    if problems or not edits:
        return problems, []
    ran = _dry_run(ctx, edits, {n: s for n, s in final.items() if n not in edits}, best)
    for problem in ran.problems:
        owners = [n for n in edits if any(c in problem for c in example_calls(best, n))]
        for owner in owners or list(edits):
            problems.setdefault(owner, []).append(problem)
    return problems, ran.examples


def _dry_run(
    ctx: Any, edits: dict[str, str], existing: dict[str, str], best: Mapping[str, Any]
) -> DryRun:
    """The edited set run once in the sandbox on a throwaway first training task.

    With no example call to run, the edits are still loaded, which catches what fails
    to load.
    """
    task = training_tasks(ctx)[0]
    backend = getattr(ctx, "sandbox_backend", "subprocess")
    calls = [c for n in edits for c in example_calls(best, n)]
    if calls:
        run = runner_for(lambda: make_env(ctx), task, existing=existing, backend=backend)
        return run(edits, calls)
    try:
        env = make_env(ctx)
        env.reset(task)
        with Sandbox(env, backend=backend) as sandbox:
            sandbox.load({**existing, **edits})
    except LearnActError as exc:
        return DryRun([f"loading the edited code failed: {exc}"])
    return DryRun()


def _called(source: str) -> set[str]:
    """Names ``source`` calls directly (a function of another learned action, say)."""
    tree, _ = gate.parse_source(source, "<edit>")
    if tree is None:
        return set()
    return {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }


__all__ = ["TOOL", "approval_request", "example_calls", "review"]
