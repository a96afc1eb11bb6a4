"""The LearnAct steps as plain functions: create, check and repair, describe, revise.

The learner graph (``graphs/learner.py``) calls these from small nodes. None of them
runs learned code in this interpreter: code is checked by the sandbox's policy and by
a static look at the names it calls; it runs only inside the sandbox during
evaluation.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable

from learnact_langgraph import prompts, pyast
from learnact_langgraph.envs.base import Environment
from learnact_langgraph.episode import SimpleAction, Step, Trajectory, environment_prefix
from learnact_langgraph.models import Usage, invoke_text
from learnact_langgraph.parsing import extract_functions, parse_revision
from learnact_langgraph.scoring import Failure

SAFE_BUILTINS = frozenset(
    "abs all any bool dict enumerate filter float int isinstance len list map max min "
    "print range reversed round set sorted str sum tuple zip ValueError Exception "
    "RuntimeError KeyError IndexError TypeError".split()
)
#: Checks a piece of source against the sandbox policy; returns the problems found.
PolicyCheck = Callable[[str], Sequence[str]]


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


def unknown_calls(functions: Mapping[str, str], known: set[str]) -> list[str]:
    """Problems: calls to names that are neither actions, defined functions nor builtins."""
    problems = []
    for name, source in functions.items():
        tree = pyast.parse(source)
        local = {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        local |= {
            a.arg
            for n in ast.walk(tree)
            if isinstance(n, ast.arguments)
            for a in n.args + n.kwonlyargs
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                callee = node.func.id
                if callee not in known and callee not in local and callee not in SAFE_BUILTINS:
                    problems.append(
                        f"NameError in {name}: `{callee}` is not an available action or function"
                    )
        if name in dir(builtins):
            problems.append(f"`{name}` is a Python builtin name; choose another function name")
    return problems


@dataclass
class CodeResult:
    functions: dict[str, str]
    attempts: int
    error: str = ""


def generate_code(
    model: BaseChatModel | Runnable[Any, Any],
    prompt: str,
    *,
    known: set[str],
    check: PolicyCheck,
    max_attempts: int = 4,
    usage: Usage | None = None,
    node: str,
    accept_without_code: Callable[[str], bool] | None = None,
    extract: Callable[[str], dict[str, str] | str] | None = None,
) -> tuple[CodeResult, str]:
    """Ask for code and repair it in one conversation until it passes the checks.

    Returns the functions (empty on failure) and the last reply. ``extract`` turns a
    reply into functions or an error string (default: every top-level ``def``).
    """
    messages: list[BaseMessage] = [HumanMessage(content=prompt)]
    reply = ""
    for attempt in range(1, max_attempts + 1):
        reply = invoke_text(model, messages, usage=usage, node=node)  # type: ignore[arg-type]
        if accept_without_code and accept_without_code(reply):
            return CodeResult({}, attempt), reply
        got = extract(reply) if extract else _default_extract(reply)
        if isinstance(got, str):
            error = prompts.NO_CODE_FOUND if "no ```python" in got else got
        else:
            problems = list(unknown_calls(got, known | set(got)))
            for source in got.values():
                problems += list(check(source))
            if not problems:
                return CodeResult(got, attempt), reply
            error = "\n".join(problems)
        messages += [
            AIMessage(content=reply),
            HumanMessage(content=prompts.REPAIR_CODE.format(error=error)),
        ]
    return CodeResult({}, max_attempts, error=error), reply


def _default_extract(reply: str) -> dict[str, str] | str:
    extracted = extract_functions(reply)
    return extracted.error or extracted.functions


def describe(
    model: BaseChatModel | Runnable[Any, Any],
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
        model,  # type: ignore[arg-type]
        prompts.DESCRIBE_ACTION.format(prefix=prefix, source=source, name=name),
        usage=usage,
        node="describe",
    )
    return " ".join(text.split())


def with_seed(model: BaseChatModel, seed: int | None) -> BaseChatModel | Runnable[Any, Any]:
    """Bind a sampling seed where the model takes one (the seed is recorded either way)."""
    if seed is not None and "seed" in getattr(type(model), "model_fields", {}):
        return model.bind(seed=seed)
    return model


def create_candidate(
    model: BaseChatModel,
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
) -> Candidate | None:
    """Sample one candidate action set; ``None`` when every repair attempt failed."""
    prefix = environment_prefix(env, examples)
    prompt = prompts.CREATE_ACTIONS.format(
        prefix=prefix, action_example=action_example, tool_example=tool_example
    )
    base = {a.name for a in env.base_actions()}
    result, _ = generate_code(
        with_seed(model, seed),
        prompt,
        known=base,
        check=check,
        max_attempts=max_attempts,
        usage=usage,
        node="create_actions",
    )
    clashes = set(result.functions) & base
    if not result.functions or clashes:
        return None
    actions = {
        name: SimpleAction(
            name, src, signature_of(src, name), describe(model, prefix, name, src, usage=usage)
        )
        for name, src in result.functions.items()
    }
    return Candidate(candidate_id, actions, origin="create", seed=seed)


def revise_candidate(
    model: BaseChatModel,
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
) -> Candidate | None:
    """One Update (new code) or Plan (a usage note) revision of ``best`` from a failure."""
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
    )
    base = {a.name for a in env.base_actions()}

    def is_plan(reply: str) -> bool:
        return parse_revision(reply, target).kind == "plan"

    def extract(reply: str) -> dict[str, str] | str:
        rev = parse_revision(reply, target)
        return rev.error if rev.kind == "invalid" else rev.functions

    result, reply = generate_code(
        with_seed(model, seed),
        prompt,
        known=base | set(best.actions),
        check=check,
        max_attempts=max_attempts,
        usage=usage,
        node="update_actions",
        accept_without_code=is_plan,
        extract=extract,
    )
    rev = parse_revision(reply, target)
    actions = dict(best.actions)
    if rev.kind == "plan" and not result.functions:
        name = target if target in actions else rev.target
        if name not in actions:
            return None
        actions[name] = replace(actions[name], notes=(*actions[name].notes, rev.note))
        kind = "plan"
    elif result.functions and not set(result.functions) & base:
        for name, src in result.functions.items():
            actions[name] = SimpleAction(
                name, src, signature_of(src, name), describe(model, prefix, name, src, usage=usage)
            )
        kind = "update"
    else:
        return None
    return Candidate(
        candidate_id,
        actions,
        origin=kind,
        parent=best.id,
        round=round_,
        seed=seed,
        revision={
            "kind": kind,
            "target": target,
            "reason": rev.reason,
            "task": failure.task_id,
            "step": failure.step_index,
            "error_kind": step.error_kind,
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


def usage_examples_from(trajectories: Sequence[Trajectory], limit: int = 300) -> list[str]:
    """Real, successful learned-action calls from evaluation (never invented by the model)."""
    seen: set[str] = set()
    out = []
    for traj in trajectories:
        for step in traj.steps:
            name = step.learned_call
            if name and step.valid and name not in seen:
                seen.add(name)
                before = step.state_before[:limit]
                after = step.observation[:limit]
                out.append(f"Observation: {before}\nAction: {step.action}\nObservation: {after}")
    return out
