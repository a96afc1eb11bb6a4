"""A small STRIPS simulator on top of the ``pddl`` parser.

A state is a ``frozenset`` of ground atoms, each a tuple ``("at", "ball1", "rooma")``, so
states are immutable, hashable and cheap to snapshot. Semantics follow the engine the
paper used (pddlgym inside AgentBoard): successor = (state - deletes) | adds, an invalid
action leaves the state unchanged, and by default one object may not fill two
parameters of one action (``distinct_args``).

Valid actions are found by joining an operator's positive preconditions against the
state (backtracking over the atoms of each predicate) rather than by trying every typed
combination of objects: this is what makes listing them fast enough to do every step.

The raw AgentBoard ``tyreworld`` domain is malformed for strict parsers;
:func:`repair_domain_text` and :func:`repair_problem_text` fix it with small text edits
(add ``:requirements``, put ``:constants`` before ``:predicates``, swap the argument types
of ``in``, drop problem objects that re-declare domain constants).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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


def _reason(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


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
    """Parse (and repair) a domain; cached on the text, so reloading is free."""
    try:
        dom = _parsers()[0](repair_domain_text(text))
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
    """Parse (and repair) a problem of ``domain``; cached on the text."""
    try:
        prob = _parsers()[1](repair_problem_text(text, domain.constants))
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


# ----- the simulator ----------------------------------------------------------------------
class Simulator:
    """Ground semantics of one problem: applicability, successors, valid actions, goal."""

    def __init__(self, domain: DomainModel, problem: ProblemModel, distinct_args: bool = True):
        self.domain = domain
        self.problem = problem
        self.distinct_args = distinct_args
        self.objects = problem.objects
        kinds = {o: domain.kinds(t) for o, t in self.objects.items()}
        #: type name -> the objects of that type (subtypes included), sorted
        self.of_type: dict[str, tuple[str, ...]] = {}
        for op in domain.operators.values():
            for t in op.types:
                if t not in self.of_type:
                    self.of_type[t] = tuple(sorted(o for o, k in kinds.items() if t in k))
        self._allowed = {t: frozenset(objs) for t, objs in self.of_type.items()}
        self.goal = frozenset(problem.goal)
        self._plans = {op.name: self._plan(op) for op in domain.operators.values()}

    @property
    def initial_state(self) -> State:
        return self.problem.init

    # --- single actions
    def check(self, name: str, args: tuple[str, ...], state: State) -> str | None:
        """Why ``name(args)`` cannot run in ``state`` (None when it can).

        The reason is one of ``"arity"``, ``"type"``, ``"distinct"``, ``"precondition"``.
        """
        op = self.domain.operators[name]
        if len(args) != len(op.params):
            return "arity"
        if any(a not in self._allowed[t] for a, t in zip(args, op.types, strict=True)):
            return "type"
        if self.distinct_args and len(set(args)) < len(args):
            return "distinct"
        for pred, terms in op.pos:
            if _ground(pred, terms, args) not in state:
                return "precondition"
        for pred, terms in op.neg:
            if _ground(pred, terms, args) in state:
                return "precondition"
        return None

    def apply(self, name: str, args: tuple[str, ...], state: State) -> State:
        """The successor of ``state`` (call :meth:`check` first)."""
        op = self.domain.operators[name]
        dele = {_ground(p, t, args) for p, t in op.delete}
        add = {_ground(p, t, args) for p, t in op.add}
        return (state - dele) | add

    # --- all valid actions
    def valid_actions(self, state: State) -> list[tuple[str, tuple[str, ...]]]:
        """Every applicable ground action, sorted by operator file order then arguments."""
        index: dict[str, list[tuple[str, ...]]] = {}
        for atom in state:
            index.setdefault(atom[0], []).append(atom[1:])
        out: list[tuple[str, tuple[str, ...]]] = []
        for op in self.domain.operators.values():
            found: list[tuple[str, ...]] = []
            self._join(op, self._plans[op.name], index, state, found)
            found.sort()
            out.extend((op.name, args) for args in found)
        return out

    def _plan(self, op: Operator) -> list[tuple[str, tuple[Term, ...], bool]]:
        """Join order for ``op``'s positive preconditions.

        Greedy: next take an atom whose variables are all bound already (a set lookup),
        else the one binding variables through the rarest predicate of the initial state.
        Each step records whether its atom is fully bound by then.
        """
        counts: dict[str, int] = {}
        for atom in self.problem.init:
            counts[atom[0]] = counts.get(atom[0], 0) + 1
        todo, bound = list(op.pos), set()
        plan = []
        while todo:
            best = min(
                todo,
                key=lambda a: (
                    any(isinstance(t, int) and t not in bound for t in a[1]),
                    counts.get(a[0], 0),
                ),
            )
            todo.remove(best)
            new = {t for t in best[1] if isinstance(t, int)}
            plan.append((best[0], best[1], new <= bound))
            bound |= new
        return plan

    def _join(
        self,
        op: Operator,
        plan: list[tuple[str, tuple[Term, ...], bool]],
        index: dict[str, list[tuple[str, ...]]],
        state: State,
        out: list[tuple[str, ...]],
    ) -> None:
        binding: list[str | None] = [None] * len(op.params)
        allowed = [self._allowed[t] for t in op.types]
        distinct, last = self.distinct_args, len(plan)

        def rec(k: int) -> None:
            if k == last:
                self._finish(op, binding, state, out)
                return
            pred, terms, fully_bound = plan[k]
            if fully_bound:
                atom = (pred, *(t if isinstance(t, str) else binding[t] for t in terms))
                if atom in state:
                    rec(k + 1)
                return
            for args in index.get(pred, ()):
                if len(args) != len(terms):
                    continue
                newly: list[int] = []
                ok = True
                for t, a in zip(terms, args, strict=True):
                    if isinstance(t, str):
                        ok = t == a
                    else:
                        b = binding[t]
                        if b is None:
                            ok = a in allowed[t] and not (distinct and a in binding)
                            if ok:
                                binding[t] = a
                                newly.append(t)
                        else:
                            ok = b == a
                    if not ok:
                        break
                if ok:
                    rec(k + 1)
                for t in newly:
                    binding[t] = None

        rec(0)

    def _finish(
        self, op: Operator, binding: list[str | None], state: State, out: list[tuple[str, ...]]
    ) -> None:
        """Fill parameters no positive precondition mentions, then test the negatives."""
        if None in binding:
            i = binding.index(None)
            for obj in self.of_type[op.types[i]]:
                if not (self.distinct_args and obj in binding):
                    binding[i] = obj
                    self._finish(op, binding, state, out)
            binding[i] = None
            return
        args = tuple(b for b in binding if b is not None)
        if not op.neg or all(_ground(p, t, args) not in state for p, t in op.neg):
            out.append(args)

    # --- goal
    def progress(self, state: State) -> float:
        """Fraction of goal atoms that hold in ``state``."""
        if not self.goal:
            return 1.0
        return sum(1 for g in self.goal if g in state) / len(self.goal)

    def is_goal(self, state: State) -> bool:
        return self.goal <= state


def _ground(pred: str, terms: tuple[Term, ...], args: tuple[str, ...]) -> Atom:
    return (pred, *(t if isinstance(t, str) else args[t] for t in terms))
