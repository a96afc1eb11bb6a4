"""Reading PDDL: repairs for malformed files, then parsing with ``pddl`` into our models.

A parsed domain keeps its operators in file order, compiled so every atom is
``(predicate, terms)`` with a term being a parameter index (int) or a constant (str).
A parsed problem keeps its typed objects, its initial state (a ``frozenset`` of atom
tuples such as ``("at", "ball1", "rooma")``) and its goal atoms. Both are cached on the
file text.

The raw AgentBoard ``tyreworld`` domain is malformed for strict parsers;
:func:`repair_domain_text` and :func:`repair_problem_text` fix it with small text edits
(add ``:requirements``, put ``:constants`` before ``:predicates``, swap the argument types
of ``in``, drop problem objects that re-declare domain constants).
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from learnact_langgraph.envs.pddl import parse_cache
from learnact_langgraph.errors import PDDLError

Atom = tuple[str, ...]
State = frozenset[Atom]
#: A term of a compiled atom: a parameter index (int) or a constant name (str).
Term = int | str


# ----- text repairs ------------------------------------------------------------------------
def _block_span(text: str, keyword: str) -> tuple[int, int] | None:
    """Start and end (exclusive) of the parenthesised block that opens with ``(keyword``."""
    m = re.search(r"\(\s*" + re.escape(keyword) + r"\b", text, flags=re.IGNORECASE)
    if m is None:
        return None
    depth = 0
    for i in range(m.start(), len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return m.start(), i + 1
    return None


def repair_domain_text(text: str) -> str:
    """Fix the known defects of hand-written domains that strict parsers reject."""
    text = re.sub(r";[^\n]*", "", text)
    if _block_span(text, ":types") and not _block_span(text, ":requirements"):
        head = re.search(r"\(\s*define\s*\(\s*domain\s+[^)]*\)", text, flags=re.IGNORECASE)
        if head is not None:
            text = f"{text[: head.end()]}\n  (:requirements :strips :typing){text[head.end() :]}"
    consts, preds = _block_span(text, ":constants"), _block_span(text, ":predicates")
    if consts and preds and consts[0] > preds[0]:
        block = text[consts[0] : consts[1]]
        text = text[: consts[0]] + text[consts[1] :]
        text = f"{text[: preds[0]]}{block}\n{text[preds[0] :]}"
    # tyreworld declares (in ?x - container ?y - obj) but always uses (in <obj> <container>).
    return re.sub(
        r"\(\s*in\s+\?x\s*-\s*container\s+\?y\s*-\s*obj\s*\)", "(in ?x - obj ?y - container)", text
    )


def repair_problem_text(text: str, constants: Iterable[str]) -> str:
    """Drop problem objects that re-declare a domain constant (the parser rejects them)."""
    names = {c.lower() for c in constants}
    span = _block_span(text, ":objects")
    if not names or span is None:
        return text
    body = text[span[0] : span[1]].strip()[1:-1]
    tokens = body.split()[1:]  # skip ":objects"
    groups: list[tuple[list[str], str | None]] = []
    current: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == "-" and i + 1 < len(tokens):
            groups.append((current, tokens[i + 1]))
            current, i = [], i + 2
        else:
            current.append(tokens[i])
            i += 1
    if current:
        groups.append((current, None))
    kept = []
    for objs, typ in groups:
        objs = [o for o in objs if o.lower() not in names]
        if objs:
            kept.append(" ".join(objs) + (f" - {typ}" if typ else ""))
    return f"{text[: span[0]]}(:objects {' '.join(kept)})" + text[span[1] :]


# ----- parsing -----------------------------------------------------------------------------
@functools.cache
def _parsers() -> tuple[Any, Any]:
    from pddl.parser.domain import DomainParser
    from pddl.parser.problem import ProblemParser

    return DomainParser(), ProblemParser()


#: The pddl parsers keep state between calls (0.2 s to build, so they are shared):
#: one parse at a time, and fresh ones after a parse that failed half-way.
_PARSE_LOCK = threading.Lock()


def _parse(which: int, text: str) -> Any:
    with _PARSE_LOCK:
        try:
            return _parsers()[which](text)
        except Exception:
            _parsers.cache_clear()
            raise


def _reason(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[0].rstrip(".") if lines else type(exc).__name__


def _conjunction(formula: Any, where: str) -> tuple[list[Any], list[Any]]:
    """Split a conjunction of literals into (positive, negative) predicates."""
    from pddl.logic.base import And, Not
    from pddl.logic.predicates import Predicate

    pos: list[Any] = []
    neg: list[Any] = []
    todo = [] if formula is None else [formula]
    while todo:
        f = todo.pop(0)
        if isinstance(f, And):
            todo[:0] = list(f.operands)
        elif isinstance(f, Not) and isinstance(f.argument, Predicate):
            neg.append(f.argument)
        elif isinstance(f, Predicate):
            pos.append(f)
        else:
            raise PDDLError(
                f"{where} uses {type(f).__name__}, but only conjunctions of (negated) atoms "
                "are supported; rewrite it as plain STRIPS."
            )
    return pos, neg


def _type_name(tags: Iterable[str]) -> str:
    tags = sorted(str(t) for t in tags)
    return tags[0] if tags else "object"


@dataclass(frozen=True)
class Operator:
    """A compiled action schema; atoms are ``(predicate, terms)``."""

    name: str
    params: tuple[str, ...]
    types: tuple[str, ...]
    pos: tuple[tuple[str, tuple[Term, ...]], ...]
    neg: tuple[tuple[str, tuple[Term, ...]], ...]
    add: tuple[tuple[str, tuple[Term, ...]], ...]
    delete: tuple[tuple[str, tuple[Term, ...]], ...]


@dataclass(frozen=True, eq=False)
class DomainModel:
    """A parsed domain: its operators (in file order), types and constants.

    Compared and hashed by identity: :func:`parse_domain` returns one instance per text.
    """

    name: str
    operators: dict[str, Operator]
    parents: dict[str, str]
    constants: dict[str, str]
    source: str

    def kinds(self, type_name: str) -> frozenset[str]:
        """A type and all its ancestors."""
        out = {type_name, "object"}
        while type_name in self.parents:
            type_name = self.parents[type_name]
            out.add(type_name)
        return frozenset(out)


def _compile_atom(pred: Any, index: dict[str, int]) -> tuple[str, tuple[Term, ...]]:
    terms: list[Term] = []
    for t in pred.terms:
        terms.append(index[t.name] if t.name in index else str(t.name))
    return str(pred.name), tuple(terms)


@functools.lru_cache(maxsize=64)
def parse_domain(text: str, source: str = "<domain>") -> DomainModel:
    """Parse (and repair) a domain; cached on the text, so reloading is free, and on
    disk (:mod:`.parse_cache`), so a new process does not parse it again."""
    key = parse_cache.digest("domain", text, source)
    cached = _domain_from(parse_cache.load(key), source)
    if cached is not None:
        return cached
    model = _parse_domain(text, source)
    parse_cache.store(key, _domain_data(model))
    return model


def _parse_domain(text: str, source: str) -> DomainModel:
    try:
        dom = _parse(0, repair_domain_text(text))
    except PDDLError:
        raise
    except Exception as exc:  # the parser raises lark and pddl errors of many kinds
        raise PDDLError(f"Could not parse the PDDL domain {source}: {_reason(exc)}.") from exc
    order = [m.lower() for m in re.findall(r"\(\s*:action\s+([^\s()]+)", text, re.IGNORECASE)]
    ops: dict[str, Operator] = {}
    for act in sorted(dom.actions, key=lambda a: order.index(a.name) if a.name in order else 0):
        params = tuple(str(v.name) for v in act.parameters)
        index = {p: i for i, p in enumerate(params)}
        where = f"action {act.name} of {source}"
        pos, neg = _conjunction(act.precondition, where)
        add, dele = _conjunction(act.effect, where)
        ops[str(act.name)] = Operator(
            str(act.name),
            params,
            tuple(_type_name(v.type_tags) for v in act.parameters),
            *(tuple(_compile_atom(q, index) for q in group) for group in (pos, neg, add, dele)),
        )
    parents = {str(t): str(p) for t, p in dom.types.items() if p is not None}
    constants = {str(c.name): _type_name(c.type_tags) for c in dom.constants}
    return DomainModel(str(dom.name), ops, parents, constants, source)


@dataclass(frozen=True, eq=False)
class ProblemModel:
    """A parsed problem: typed objects, initial state and goal atoms."""

    name: str
    objects: dict[str, str]
    init: State
    goal: tuple[Atom, ...]
    source: str


@functools.lru_cache(maxsize=256)
def parse_problem(text: str, domain: DomainModel, source: str = "<problem>") -> ProblemModel:
    """Parse (and repair) a problem of ``domain``; cached on the text, and on disk."""
    constants = json.dumps(sorted(domain.constants.items()))
    key = parse_cache.digest("problem", text, constants, source)
    cached = _problem_from(parse_cache.load(key), source)
    if cached is not None:
        return cached
    model = _parse_problem(text, domain, source)
    parse_cache.store(key, _problem_data(model))
    return model


def _parse_problem(text: str, domain: DomainModel, source: str) -> ProblemModel:
    try:
        prob = _parse(1, repair_problem_text(text, domain.constants))
    except Exception as exc:
        raise PDDLError(f"Could not parse the PDDL problem {source}: {_reason(exc)}.") from exc
    objects = dict(domain.constants)
    objects.update({str(o.name): _type_name(o.type_tags) for o in prob.objects})
    init = frozenset((str(q.name), *(str(t.name) for t in q.terms)) for q in prob.init)
    pos, neg = _conjunction(prob.goal, f"the goal of {source}")
    if neg:
        raise PDDLError(f"The goal of {source} has negative atoms; only positive goals work.")
    goal = tuple(sorted((str(q.name), *(str(t.name) for t in q.terms)) for q in pos))
    return ProblemModel(str(prob.name), objects, init, goal, source)


# ----- the models as plain data, for the disk cache ----------------------------------------------
def _domain_data(model: DomainModel) -> dict[str, Any]:
    ops = [
        [op.name, op.params, op.types, op.pos, op.neg, op.add, op.delete]
        for op in model.operators.values()
    ]
    return {"name": model.name, "ops": ops, "parents": model.parents, "constants": model.constants}


def _atoms(raw: Any) -> tuple[tuple[str, tuple[Term, ...]], ...]:
    out = []
    for pred, terms in raw:
        if not isinstance(pred, str) or not all(isinstance(t, int | str) for t in terms):
            raise ValueError("not an atom")
        out.append((pred, tuple(terms)))
    return tuple(out)


def _names(raw: Any) -> tuple[str, ...]:
    if not all(isinstance(n, str) for n in raw):
        raise ValueError("not names")
    return tuple(raw)


def _domain_from(data: Any, source: str) -> DomainModel | None:
    try:
        ops = {}
        for name, params, types, *groups in data["ops"]:
            ops[str(name)] = Operator(
                str(name), _names(params), _names(types), *(_atoms(g) for g in groups)
            )
        parents = {str(k): str(v) for k, v in data["parents"].items()}
        constants = {str(k): str(v) for k, v in data["constants"].items()}
        return DomainModel(str(data["name"]), ops, parents, constants, source)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _problem_data(model: ProblemModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "objects": model.objects,
        "init": sorted(model.init),
        "goal": model.goal,
    }


def _problem_from(data: Any, source: str) -> ProblemModel | None:
    try:
        objects = {str(k): str(v) for k, v in data["objects"].items()}
        init = frozenset(_names(a) for a in data["init"])
        goal = tuple(_names(a) for a in data["goal"])
        return ProblemModel(str(data["name"]), objects, init, goal, source)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def ground(pred: str, terms: tuple[Term, ...], args: tuple[str, ...]) -> Atom:
    """Instantiate a compiled atom with the arguments of an action."""
    return (pred, *(t if isinstance(t, str) else args[t] for t in terms))
