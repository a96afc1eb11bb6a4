"""A small STRIPS simulator over parsed PDDL (see :mod:`.parsing`).

A state is a ``frozenset`` of ground atoms, so states are immutable, hashable and cheap
to snapshot. Semantics follow the engine the paper used (pddlgym inside AgentBoard):
successor = (state - deletes) | adds, an invalid action leaves the state unchanged, and
by default one object may not fill two parameters of one action (``distinct_args``).

Listing valid actions every step is the hot path. The problem is ground once, on first
use (:mod:`.grounded`): every action whose static preconditions hold, numbered in listing
order, with its atoms as sets. The applicable set of the last state asked about is kept
and moved to the next state (:mod:`.applicable`) by re-checking only the actions whose
preconditions mention an atom that changed; ``apply`` tells it which action made the
successor, so that costs a few set operations. Any other state (a reset, a restored
snapshot) is reached by its difference from the tracked one. A state whose static atoms
differ from the initial ones (never reached by acting) falls back to
:meth:`Simulator.search_valid_actions`, which joins each operator's positive
preconditions against the state (backtracking over the atoms of each predicate, in an
order planned once per problem).
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from learnact_langgraph.envs.pddl.applicable import Applicable
from learnact_langgraph.envs.pddl.grounded import Grounding, Label, ground_problem
from learnact_langgraph.envs.pddl.parsing import (
    DomainModel,
    Operator,
    ProblemModel,
    State,
    Term,
)
from learnact_langgraph.envs.pddl.parsing import ground as _ground

#: Groundings by parsed problem (and ``distinct_args``), for as long as the problem lives.
_GROUNDINGS: weakref.WeakKeyDictionary[ProblemModel, dict[bool, Grounding]] = (
    weakref.WeakKeyDictionary()
)


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
        #: callers' per-problem caches, one entry per ground action, by purpose (the
        #: environment keeps its call texts here); shared by copies, like the grounding
        self.label_cache: dict[str, list[str | None]] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> Simulator:
        """A copy that shares everything, which never changes (the parsed problem, the
        grounding), but tracks states of its own: deep-copying an environment stays cheap
        and its copies do not move each other's applicable set around."""
        twin = copy.copy(self)
        for cached in ("_tracker", "_hot"):
            twin.__dict__.pop(cached, None)
        return twin

    @property
    def initial_state(self) -> State:
        return self.problem.init

    @cached_property
    def grounding(self) -> Grounding:
        """The ground actions of this problem, built on first use and kept with the parsed
        problem (which the parser caches), so every environment on it shares them."""
        per_problem = _GROUNDINGS.setdefault(self.problem, {})
        found = per_problem.get(self.distinct_args)
        if found is None:
            found = ground_problem(self.domain, self.problem.init, self.of_type, self.distinct_args)
            per_problem[self.distinct_args] = found
        return found

    @cached_property
    def _tracker(self) -> Applicable:
        return Applicable(self.grounding, self.problem.init)

    @cached_property
    def _hot(self) -> tuple[dict[Label, int], Sequence[State], Sequence[State], Applicable]:
        """What :meth:`apply` needs, in one lookup: index, deletes, adds, tracker."""
        g = self.grounding
        return g.index, g.delete, g.add, self._tracker

    # --- single actions
    def check(self, name: str, args: tuple[str, ...], state: State) -> str | None:
        """Why ``name(args)`` cannot run in ``state`` (None when it can).

        The reason is one of ``"arity"``, ``"type"``, ``"distinct"``, ``"precondition"``.
        """
        g = self.grounding
        i = g.index.get((name, args if isinstance(args, tuple) else tuple(args)))
        if i is not None:  # well typed and grounded: only the preconditions can fail
            if g.pre_all[i] <= state and state.isdisjoint(g.neg_all[i]):
                return None
            return "precondition"
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
        index, delete, add, tracker = self._hot
        try:
            i = index.get((name, args))
        except TypeError:  # arguments given as a list
            i = index.get((name, tuple(args)))
        if i is not None:
            successor = (state - delete[i]) | add[i]
            tracker.pending = (successor, state, i)
            return successor
        op = self.domain.operators[name]
        deletes = {_ground(p, t, args) for p, t in op.delete}
        adds = {_ground(p, t, args) for p, t in op.add}
        return (state - deletes) | adds

    # --- all valid actions
    def valid_actions(self, state: State) -> list[tuple[str, tuple[str, ...]]]:
        """Every applicable ground action, sorted by operator file order then arguments."""
        ids = self._tracker.ids(state)
        if ids is None:
            return self.search_valid_actions(state)
        labels = self.grounding.labels
        return [labels[i] for i in ids]

    def valid_ids(self, state: State) -> list[int] | None:
        """Like :meth:`valid_actions`, as indices into ``grounding.labels`` (None: use that).

        The list is shared: do not modify it.
        """
        return self._tracker.ids(state)

    def search_valid_actions(self, state: State) -> list[tuple[str, tuple[str, ...]]]:
        """:meth:`valid_actions` from scratch, by joining preconditions against ``state``."""
        index: dict[str, list[tuple[str, ...]]] = {}
        for atom in state:
            index.setdefault(atom[0], []).append(atom[1:])
        out: list[tuple[str, tuple[str, ...]]] = []
        for op in self.domain.operators.values():
            plan = self._plans[op.name]
            if any(pred not in index for pred, _, _ in plan):
                continue  # some precondition predicate has no true atom at all
            found: list[tuple[str, ...]] = []
            self._join(op, plan, index, state, found)
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
        todo, bound = list(op.pos), set[int]()
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
        return len(self.goal & state) / len(self.goal)

    def is_goal(self, state: State) -> bool:
        return self.goal <= state
