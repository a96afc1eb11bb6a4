"""The LearnAct steps as plain functions: create, check and repair, describe, revise.

The learner graph (``graphs/learner.py``) calls these from small nodes. None of them
runs learned code in this interpreter: code is checked by the sandbox's policy and by
a static look at the names it calls; it runs only inside the sandbox during
evaluation.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from learnact_langgraph import prompts, pyast
from learnact_langgraph.code_checks import PolicyCheck, check_functions, salvage
from learnact_langgraph.dry_run import DryRunner, keep_what_runs
from learnact_langgraph.envs.base import Environment
from learnact_langgraph.episode import SimpleAction, Step, environment_prefix
from learnact_langgraph.models import ChatModel, Usage, invoke_reply, invoke_text
from learnact_langgraph.parsing import ExtractedCode, extract_functions, parse_revision
from learnact_langgraph.scoring import Failure
from learnact_langgraph.usage_examples import shows_any


@dataclass
class Candidate:
    """One candidate set of learned actions, with where it came from."""

    id: str
    actions: dict[str, SimpleAction]
    origin: str = "create"
    parent: str | None = None
    round: int = 0
    seed: int | None = None
    revision: dict[str, Any] = field(default_factory=dict)
    usage_examples: list[str] = field(default_factory=list)

    def sources(self) -> dict[str, str]:
        return {name: a.source for name, a in self.actions.items()}

    def library_source(self) -> str:
        return "\n\n".join(a.source for a in self.actions.values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["actions"] = {k: asdict(v) for k, v in self.actions.items()}
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        d = dict(data)
        d["actions"] = {
            k: SimpleAction(**{**v, "notes": tuple(v.get("notes", ()))})
            for k, v in d["actions"].items()
        }
        return cls(**d)


def signature_of(source: str, name: str) -> str:
    """``name(a, b)`` from a function's source (parameters only, no defaults)."""
    tree = pyast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            args = [a.arg for a in node.args.posonlyargs + node.args.args]
            if node.args.vararg:
                args.append("*" + node.args.vararg.arg)
            args += [a.arg for a in node.args.kwonlyargs]
            return f"{name}({', '.join(args)})"
    return f"{name}(...)"


def docstring_of(source: str) -> str:
    tree = pyast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            doc = ast.get_docstring(node) or ""
            return " ".join(doc.split())
    return ""


@dataclass
class CodeResult:
    """Functions that passed every check, or why each attempt failed."""

    functions: dict[str, str]
    attempts: int
    error: str = ""
    errors: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    salvaged: list[str] = field(default_factory=list)
    #: Usage examples from the dry run (real observations), one per successful call.
    examples: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Dropped:
    """A sample that gave no candidate, and why (shown in the learner's log)."""

    id: str
    reason: str
    attempts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fence_closed(text: str) -> bool:
    return text.count("```") >= 2 and text.count("```") % 2 == 0


def generate_code(
    model: ChatModel,
    prompt: str,
    *,
    known: set[str],
    check: PolicyCheck,
    reserved: set[str] = frozenset(),  # type: ignore[assignment]
    max_attempts: int = 4,
    usage: Usage | None = None,
    node: str,
    accept_without_code: Callable[[str], bool] | None = None,
    extract: Callable[[str], ExtractedCode] | None = None,
    dry_run: DryRunner | None = None,
) -> tuple[CodeResult, str]:
    """Ask for code and repair it in one conversation until it passes the checks.

    Every reason a reply can't be used goes back to the model: a reply cut off by the
    output cap (asking for shorter code), base actions defined again, imports and
    other top-level code that would be lost, unknown names, policy problems. When the
    turns are spent, the functions that pass on their own are kept (:func:`salvage`).
    Returns the functions (empty on failure), why each attempt failed, what was
    removed, and the last reply.
    ``extract`` turns a reply into functions (default: every top-level ``def``).
    ``dry_run`` runs code that passed the checks with its example calls (in the
    sandbox, on a throwaway task); its runtime errors are repaired like the others.
    """
    messages: list[BaseMessage] = [HumanMessage(content=prompt)]
    text = ""
    errors: list[str] = []
    dropped: list[str] = []
    replies: list[ExtractedCode] = []
    for attempt in range(1, max_attempts + 1):
        reply = invoke_reply(
            model,
            messages,
            usage=usage,
            node=node,
            run_name=None if attempt == 1 else "learnact.repair",
        )
        text = reply.text
        if accept_without_code and accept_without_code(text):
            return CodeResult({}, attempt, errors=errors), text
        got = (extract or extract_functions)(text)
        if not (reply.truncated and not _fence_closed(text)):
            replies.append(got)
        if reply.truncated and not _fence_closed(text):
            problems = [prompts.TRUNCATED_CODE.format(tokens=reply.output_tokens)]
        elif got.error:
            problems = [prompts.NO_CODE_FOUND if "no ```python" in got.error else got.error]
            problems += got.problems
        else:
            problems = got.problems + check_functions(
                got.functions, known=known, reserved=set(reserved), check=check
            )
        dropped = list(got.dropped)
        examples: list[str] = []
        if not problems and dry_run is not None:
            ran = dry_run(got.functions, got.calls)
            problems, examples = ran.problems, ran.examples
        if not problems:
            return CodeResult(
                got.functions, attempt, errors=errors, dropped=dropped, examples=examples
            ), text
        error = "\n".join(problems)
        errors.append(error)
        messages += [
            AIMessage(content=text),
            HumanMessage(content=prompts.REPAIR_CODE.format(error=error)),
        ]

    def recheck(functions: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        got = ExtractedCode(functions=functions)
        return salvage(got, known=known, reserved=set(reserved), check=check)

    for got in reversed(replies):
        kept, removed = salvage(got, known=known, reserved=set(reserved), check=check)
        examples = []
        if kept and dry_run is not None:
            # A reply often drops the example calls an earlier turn wrote: use them all.
            calls = list(dict.fromkeys(c for r in replies for c in r.calls))
            kept, more, examples = keep_what_runs(kept, calls, dry_run, recheck)
            removed += more
        if kept:
            return CodeResult(
                kept,
                max_attempts,
                errors=errors,
                dropped=list(got.dropped),
                salvaged=removed,
                examples=examples,
            ), text
    return CodeResult({}, max_attempts, error=errors[-1], errors=errors, dropped=dropped), text


def describe(
    model: ChatModel,
    prefix: str,
    name: str,
    source: str,
    *,
    usage: Usage | None = None,
) -> str:
    """The function's docstring, or one model call when it has none (as in the paper)."""
    doc = docstring_of(source)
    if doc:
        return doc
    text = invoke_text(
        model,
        prompts.DESCRIBE_ACTION.format(prefix=prefix, source=source, name=name),
        usage=usage,
        node="describe",
    )
    return " ".join(text.split())


def with_seed(model: ChatModel, seed: int | None) -> ChatModel:
    """Bind a sampling seed where the model takes one (the seed is recorded either way)."""
    wrapped = getattr(model, "learnact_model_id", None) is not None  # recording or replay
    if seed is not None and (wrapped or "seed" in getattr(type(model), "model_fields", {})):
        return model.bind(seed=seed)
    return model


def _drop_reason(result: CodeResult) -> str:
    last = result.errors[-1] if result.errors else "no usable functions"
    return f"no usable code after {result.attempts} attempt(s); last problem: {last}"


def create_candidate(
    model: ChatModel,
    env: Environment,
    *,
    candidate_id: str,
    examples: Sequence[str],
    action_example: str,
    tool_example: str,
    check: PolicyCheck,
    seed: int | None,
    max_attempts: int = 4,
    usage: Usage | None = None,
    state: str = "",
    dry_run: DryRunner | None = None,
) -> Candidate | Dropped:
    """Sample one candidate action set, or say why every repair attempt failed.

    ``state`` is the observation the example calls are written for, and ``dry_run``
    runs them there (:mod:`learnact_langgraph.dry_run`).
    """
    prefix = environment_prefix(env, examples)
    prompt = prompts.CREATE_ACTIONS.format(
        prefix=prefix,
        action_example=action_example,
        tool_example=tool_example,
        state=state or env.observation,
    )
    base = {a.name for a in env.base_actions()}
    result, _ = generate_code(
        with_seed(model, seed),
        prompt,
        known=base,
        reserved=base,
        check=check,
        max_attempts=max_attempts,
        usage=usage,
        node="create_actions",
        dry_run=dry_run,
    )
    if not result.functions:
        return Dropped(candidate_id, _drop_reason(result), result.attempts)
    actions = {
        name: SimpleAction(
            name, src, signature_of(src, name), describe(model, prefix, name, src, usage=usage)
        )
        for name, src in result.functions.items()
    }
    return Candidate(
        candidate_id,
        actions,
        origin="create",
        seed=seed,
        revision=_repairs(result),
        usage_examples=result.examples,
    )


def _repairs(result: CodeResult) -> dict[str, Any]:
    """What the repair loop went through, kept with the candidate for its history."""
    out: dict[str, Any] = {}
    if result.errors:
        out["repaired"] = [e[:300] for e in result.errors]
    if result.dropped:
        out["dropped_lines"] = result.dropped
    if result.salvaged:
        out["salvaged"] = result.salvaged
    return out


def revise_candidate(
    model: ChatModel,
    env: Environment,
    best: Candidate,
    failure: Failure,
    *,
    candidate_id: str,
    round_: int,
    examples: Sequence[str],
    check: PolicyCheck,
    seed: int | None,
    max_attempts: int = 4,
    usage: Usage | None = None,
    dry_run: DryRunner | None = None,
) -> Candidate | Dropped:
    """One Update (new code) or Plan (a usage note) revision of ``best`` from a failure.

    The prompt carries the environment's worked Update and Plan cases; ``dry_run``
    runs an Update's example calls in the state where the call failed.
    """
    prefix = environment_prefix(env, examples)
    step = failure.step
    target = step.learned_call or ""
    prompt = prompts.REVISE_ACTIONS.format(
        prefix=prefix,
        goal=failure.goal,
        library=best.library_source(),
        name=target,
        state=step.state_before,
        line=step.action,
        error_kind=step.error_kind or "error",
        message=step.message,
        substeps=format_substeps(step),
        examples=prompts.revise_examples(env.revision_examples()),
    )
    base = {a.name for a in env.base_actions()}

    def is_plan(reply: str) -> bool:
        return parse_revision(reply, target).kind == "plan"

    def extract(reply: str) -> ExtractedCode:
        return parse_revision(reply, target).extracted()

    result, reply = generate_code(
        with_seed(model, seed),
        prompt,
        known=base | set(best.actions),
        reserved=base,
        check=check,
        max_attempts=max_attempts,
        usage=usage,
        node="update_actions",
        accept_without_code=is_plan,
        extract=extract,
        dry_run=dry_run,
    )
    rev = parse_revision(reply, target)
    actions = dict(best.actions)
    shown = list(best.usage_examples)
    if rev.kind == "plan" and not result.functions:
        name = target if target in actions else rev.target
        if name not in actions:
            return Dropped(
                candidate_id, f"the Plan names {name!r}, which is not a learned action", 1
            )
        actions[name] = replace(actions[name], notes=(*actions[name].notes, rev.note))
        kind = "plan"
    elif result.functions:
        for name, src in result.functions.items():
            actions[name] = SimpleAction(
                name, src, signature_of(src, name), describe(model, prefix, name, src, usage=usage)
            )
        kind = "update"
        changed = set(result.functions)
        shown = result.examples + [e for e in shown if not shows_any(e, changed)]
    else:
        return Dropped(candidate_id, _drop_reason(result), result.attempts)
    return Candidate(
        candidate_id,
        actions,
        origin=kind,
        parent=best.id,
        round=round_,
        seed=seed,
        usage_examples=shown,
        revision={
            "kind": kind,
            "target": target,
            "reason": rev.reason,
            "task": failure.task_id,
            "step": failure.step_index,
            "error_kind": step.error_kind,
            **_repairs(result),
        },
    )


def format_substeps(step: Step) -> str:
    if not step.substeps:
        return f"(no action ran) {step.message}".strip()
    lines = []
    for sub in step.substeps:
        args = ", ".join(repr(a) for a in sub.get("args", []))
        lines.append(f"Action: {sub['name']}({args})")
        lines.append(f"Observation: {sub['observation']}")
    return "\n".join(lines)
