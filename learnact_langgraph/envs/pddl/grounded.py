"""Ground a problem once: every action that can ever apply, as sets of atoms.

:func:`ground_problem` instantiates every operator of a problem with every typed (and,
by default, distinct) choice of objects whose *static* preconditions hold: predicates
that no operator adds or deletes never change, so those preconditions are decided once
against the initial state. What is left of each ground action is a few sets of atoms
(fluent preconditions, effects), and ground actions are numbered in the order
:meth:`Simulator.valid_actions` lists them (operator file order, then arguments), so a
sorted set of numbers is a sorted listing.

It also indexes the actions by the atoms their preconditions mention, which is what
:mod:`.applicable` needs to update an applicable set after a change: per atom, who needs
it (and their preconditions, for a re-check in one pass), and per action, those indexes
for the atoms it adds and deletes. All of it is shared references, a few per action.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter

from learnact_langgraph.envs.pddl.parsing import Atom, DomainModel, Operator, State, Term

#: A ground action as listed: (operator name, argument objects).
Label = tuple[str, tuple[str, ...]]

#: A diff bigger than this is cheaper to recompute from scratch than to walk.
_MAX_DIFF = 48


#: Actions that need an atom (or need it absent), with their fluent preconditions
#: in the same order: re-checked together when the atom appears (or goes).
Wake = tuple[tuple[int, ...], tuple[frozenset[Atom], ...]]


@dataclass(frozen=True, eq=False)
class Grounding:
    """All ground actions of one problem whose static preconditions hold initially.

    Per ground action ``i``: ``labels[i]``; ``pre[i]`` / ``neg[i]`` its fluent positive
    / negative preconditions; ``pre_all[i]`` / ``neg_all[i]`` the same with the static
    ones (exact for any state); ``add[i]``, and ``delete[i]`` minus ``add[i]`` (the
    successor is ``(state - delete[i]) | add[i]``, so an atom both added and deleted
    stays true). Atoms are shared objects, so set operations mostly compare by identity.
    """

    labels: tuple[Label, ...]
    index: dict[Label, int]
    pre: tuple[frozenset[Atom], ...]
    neg: tuple[frozenset[Atom], ...]
    pre_all: tuple[frozenset[Atom], ...]
    neg_all: tuple[frozenset[Atom], ...]
    add: tuple[frozenset[Atom], ...]
    delete: tuple[frozenset[Atom], ...]
    #: fluent atom -> the actions with it as a positive / negative precondition
    pos_watch: dict[Atom, frozenset[int]]
    neg_watch: dict[Atom, frozenset[int]]
    #: the same, with preconditions alongside
    pos_wake: dict[Atom, Wake]
    neg_wake: dict[Atom, Wake]
    #: per action: the watcher sets of the actions it always disables (they need an atom
    #: it deletes, or need one it adds absent), and the wakes of those it may enable
    lose: tuple[tuple[frozenset[int], ...], ...]
    wake: tuple[tuple[Wake, ...], ...]
    static_predicates: frozenset[str]
    has_negative: bool

    def changes(
        self, added: Iterable[Atom], deleted: Iterable[Atom]
    ) -> tuple[list[frozenset[int]], list[Wake]]:
        """:attr:`lose` and :attr:`wake` for any change of state."""
        return _changes(
            self.pos_watch, self.neg_watch, self.pos_wake, self.neg_wake, added, deleted
        )


def _changes(
    pos_watch: dict[Atom, frozenset[int]],
    neg_watch: dict[Atom, frozenset[int]],
    pos_wake: dict[Atom, Wake],
    neg_wake: dict[Atom, Wake],
    added: Iterable[Atom],
    deleted: Iterable[Atom],
) -> tuple[list[frozenset[int]], list[Wake]]:
    lose = [pos_watch[a] for a in deleted if a in pos_watch]
    lose += [neg_watch[a] for a in added if a in neg_watch]
    wake = [pos_wake[a] for a in added if a in pos_wake]
    wake += [neg_wake[a] for a in deleted if a in neg_wake]
    return lose, wake


def static_predicates(domain: DomainModel) -> frozenset[str]:
    """Predicates that no operator adds or deletes."""
    changed = {p for op in domain.operators.values() for p, _ in (*op.add, *op.delete)}
    used = {p for op in domain.operators.values() for p, _ in (*op.pos, *op.neg)}
    return frozenset(used - changed)


def ground_problem(
    domain: DomainModel,
    init: State,
    of_type: dict[str, tuple[str, ...]],
    distinct: bool,
) -> Grounding:
    """Every ground action of the problem that the initial statics allow, in listing order.

    The cyclic garbage collector is paused meanwhile: the tens of thousands of small sets
    built here hold no cycles, and collections triggered by them cost a third of the time.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _ground(domain, init, of_type, distinct)
    finally:
        if paused:
            gc.enable()


def _ground(
    domain: DomainModel,
    init: State,
    of_type: dict[str, tuple[str, ...]],
    distinct: bool,
) -> Grounding:
    statics = static_predicates(domain)
    canon: dict[Atom, Atom] = {a: a for a in init}
    labels: list[Label] = []
    parts: list[list[frozenset[Atom]]] = [[], [], [], [], [], []]
    pre, neg, pre_all, neg_all, add, dele = parts
    for op in domain.operators.values():
        makers = _Makers(op, statics, canon)
        for args in _bindings(op, init, statics, of_type, distinct):
            labels.append((op.name, args))
            for group, atoms in zip(parts, makers.ground(args), strict=True):
                group.append(atoms)
    pre_t, neg_t = tuple(pre), tuple(neg)
    pos_watch, neg_watch = _watchers(pre_t), _watchers(neg_t)
    pos_wake = {a: _wake(ids, pre_t) for a, ids in pos_watch.items()}
    neg_wake = {a: _wake(ids, pre_t) for a, ids in neg_watch.items()}
    watch = (pos_watch, neg_watch, pos_wake, neg_wake)
    lose, wake = [], []
    for added, deleted in zip(add, dele, strict=True):
        losing, waking = _changes(*watch, added, deleted)
        lose.append(_joined(losing))
        wake.append(_merged(waking, losing, pre_t))
    return Grounding(
        labels=tuple(labels),
        index={label: i for i, label in enumerate(labels)},
        pre=pre_t,
        neg=neg_t,
        pre_all=tuple(pre_all),
        neg_all=tuple(neg_all),
        add=tuple(add),
        delete=tuple(dele),
        pos_watch=pos_watch,
        neg_watch=neg_watch,
        pos_wake=pos_wake,
        neg_wake=neg_wake,
        lose=tuple(lose),
        wake=tuple(wake),
        static_predicates=statics,
        has_negative=any(neg_t),
    )


_NO_ATOMS: frozenset[Atom] = frozenset()
Maker = Callable[[tuple[str, ...]], Atom]
#: Up to this many woken actions, an action's wakes are merged into one of its own.
_MERGE_LIMIT = 96
#: Up to this many disabled actions, an action's watcher sets are joined into one.
_JOIN_LIMIT = 32


def _joined(losing: list[frozenset[int]]) -> tuple[frozenset[int], ...]:
    """An action's watcher sets as one set (one difference per step), when small."""
    if len(losing) > 1 and sum(map(len, losing)) <= _JOIN_LIMIT:
        return (frozenset().union(*losing),)
    return tuple(losing)


def _merged(
    waking: list[Wake], losing: list[frozenset[int]], pre: tuple[frozenset[Atom], ...]
) -> tuple[Wake, ...]:
    """An action's wakes as one, when small: no action twice, none it surely disables.

    Bigger ones stay the shared per-atom wakes (merging them all would cost memory).
    """
    if not waking or sum(len(ids) for ids, _ in waking) > _MERGE_LIMIT:
        return tuple(waking)
    ids = set().union(*(ids for ids, _ in waking)).difference(*losing)
    return (_wake(ids, pre),) if ids else ()


def _wake(ids: Iterable[int], pre: tuple[frozenset[Atom], ...]) -> Wake:
    order = tuple(sorted(ids))
    if len(order) > 1:
        return order, itemgetter(*order)(pre)
    return order, tuple(pre[i] for i in order)


def _maker(pred: str, terms: tuple[Term, ...]) -> Maker:
    """A function from an action's arguments to this atom of it."""
    if any(isinstance(t, str) for t in terms):
        return lambda args: (pred, *[t if isinstance(t, str) else args[t] for t in terms])
    index = [t for t in terms if isinstance(t, int)]
    if not index:
        atom = (pred,)
        return lambda args: atom
    if len(index) == 1:
        j = index[0]
        return lambda args: (pred, args[j])
    get, head = itemgetter(*index), (pred,)
    return lambda args: head + get(args)


class _Makers:
    """An operator's atoms compiled once, then ground per argument tuple (shared atoms)."""

    def __init__(self, op: Operator, statics: frozenset[str], canon: dict[Atom, Atom]) -> None:
        def makers(group: Iterable[tuple[str, tuple[Term, ...]]], static: bool) -> list[Maker]:
            return [_maker(p, t) for p, t in group if (p in statics) == static]

        self.groups = [
            makers(op.pos, False),
            makers(op.neg, False),
            makers(op.pos, True),
            makers(op.neg, True),
            [_maker(p, t) for p, t in op.add],
            [_maker(p, t) for p, t in op.delete],
        ]
        self.share = canon.setdefault

    def _atoms(self, makers: list[Maker], args: tuple[str, ...]) -> frozenset[Atom]:
        if not makers:
            return _NO_ATOMS
        share = self.share
        out = []
        for make in makers:
            atom = make(args)
            out.append(share(atom, atom))
        return frozenset(out)

    def ground(self, args: tuple[str, ...]) -> list[frozenset[Atom]]:
        """(fluent pre, fluent neg, all pre, all neg, add, delete minus add) for ``args``."""
        atoms = self._atoms
        pos, neg, pos_static, neg_static, add, dele = [atoms(g, args) for g in self.groups]
        return [
            pos,
            neg,
            pos | pos_static if pos_static else pos,
            neg | neg_static if neg_static else neg,
            add,
            dele - add if add and dele else dele,
        ]


def _watchers(groups: Iterable[frozenset[Atom]]) -> dict[Atom, frozenset[int]]:
    out: dict[Atom, set[int]] = {}
    for i, atoms in enumerate(groups):
        for atom in atoms:
            out.setdefault(atom, set()).add(i)
    return {atom: frozenset(ids) for atom, ids in out.items()}


def _bindings(
    op: Operator,
    init: State,
    statics: frozenset[str],
    of_type: dict[str, tuple[str, ...]],
    distinct: bool,
) -> list[tuple[str, ...]]:
    """Typed argument tuples of ``op`` (sorted) that its static preconditions allow.

    Parameters are bound in order from their sorted pools; each static atom is tested
    as soon as its last parameter is bound.
    """
    n = len(op.params)
    tests: list[list[tuple[str, tuple[Term, ...], bool]]] = [[] for _ in range(n + 1)]
    for group, wanted in ((op.pos, True), (op.neg, False)):
        for pred, terms in group:
            if pred in statics:
                last = max((t for t in terms if isinstance(t, int)), default=-1)
                tests[last + 1].append((pred, terms, wanted))
    pools = [of_type[t] for t in op.types]
    out: list[tuple[str, ...]] = []
    binding: list[str] = []

    def holds(level: int) -> bool:
        for pred, terms, wanted in tests[level]:
            atom = (pred, *(t if isinstance(t, str) else binding[t] for t in terms))
            if (atom in init) != wanted:
                return False
        return True

    def rec(k: int) -> None:
        if k == n:
            out.append(tuple(binding))
            return
        for obj in pools[k]:
            if distinct and obj in binding:
                continue
            binding.append(obj)
            if holds(k + 1):
                rec(k + 1)
            binding.pop()

    if holds(0):
        rec(0)
    return out
