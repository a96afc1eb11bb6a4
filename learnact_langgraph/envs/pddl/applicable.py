"""The applicable set of one state, moved to the next state instead of recomputed.

:class:`Applicable` keeps the applicable ground actions (see :mod:`.grounded`) of the
last state asked about. A change of state touches only the actions whose preconditions
mention a changed atom: an action loses applicability exactly when an atom it needs is
deleted (or one it forbids is added), a set difference in C; it can only gain it when an
atom it needs is added (or one it forbids deleted), and only those are re-checked, in one
C pass of ``state >= pre`` over the precomputed preconditions. After ``apply`` the change
is known from the ground action itself (no diff of the states); any other state (a
reset, a restored snapshot) is reached through its difference from the tracked one.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import compress

from learnact_langgraph.envs.pddl.grounded import Grounding, Wake
from learnact_langgraph.envs.pddl.parsing import State

#: A difference bigger than this is cheaper to recompute from scratch than to walk.
_MAX_DIFF = 48


class Applicable:
    """The applicable ground actions of the last state asked about.

    Only states whose static atoms are those of the initial state can be served (the
    grounding was pruned with them); :meth:`ids` returns ``None`` for any other state.
    The tracked data is one tuple, replaced whole, so concurrent callers always see a
    consistent state and set (at worst one of them recomputes from a difference).
    """

    def __init__(self, grounding: Grounding, init: State) -> None:
        self.g = grounding
        self._lose = grounding.lose
        self._wake = grounding.wake
        self._negative = grounding.has_negative
        self._init = init
        self._init_app = self._full(init)
        self._init_ids = sorted(self._init_app)
        #: (state, applicable ids, the same sorted)
        self._cur: tuple[State, frozenset[int], list[int]] = (
            init,
            self._init_app,
            self._init_ids,
        )
        #: (successor, predecessor, ground action): the last apply() of a ground action
        self.pending: tuple[State, State, int] | None = None

    def _full(self, state: State) -> frozenset[int]:
        g = self.g
        pre, neg = g.pre, g.neg
        if not g.has_negative:
            return frozenset(i for i, p in enumerate(pre) if p <= state)
        return frozenset(i for i, p in enumerate(pre) if p <= state and state.isdisjoint(neg[i]))

    def ids(self, state: State) -> list[int] | None:
        """The applicable ground actions of ``state``, sorted (do not modify the list)."""
        cur, app, ids = self._cur
        if state is cur:
            return ids
        pending = self.pending
        if pending is not None and pending[0] is state and pending[1] is cur:
            i = pending[2]  # what _move does, inlined on the hot path
            new = app
            for gone in self._lose[i]:
                new = new - gone
            found: list[int] = []
            for woken, pres in self._wake[i]:
                found += compress(woken, map(state.issuperset, pres))
            if found:
                if self._negative:
                    found = self._allowed(found, state)
                new = new.union(found)
        elif state is self._init:
            new = self._init_app
        else:
            added, deleted = state - cur, cur - state
            statics = self.g.static_predicates
            if any(a[0] in statics for a in (*added, *deleted)):
                return None
            if len(added) + len(deleted) > _MAX_DIFF:
                new = self._full(state)
            else:
                new = self._move(app, *self.g.changes(added, deleted), state)
        ids = sorted(new)
        self._cur = (state, new, ids)
        return ids

    def _move(
        self,
        app: frozenset[int],
        lose: Iterable[frozenset[int]],
        wake: Iterable[Wake],
        state: State,
    ) -> frozenset[int]:
        """``app`` without the actions in ``lose``, plus those of ``wake`` now applicable.

        An action left in ``app`` kept all its preconditions, so it needs no re-check
        (one woken as well is simply found again).
        """
        for gone in lose:
            app = app - gone
        found: list[int] = []
        for ids, pres in wake:
            found += compress(ids, map(state.issuperset, pres))
        if found and self._negative:
            found = self._allowed(found, state)
        return app.union(found) if found else app

    def _allowed(self, found: list[int], state: State) -> list[int]:
        """The actions of ``found`` none of whose forbidden atoms holds in ``state``."""
        neg = self.g.neg
        return [i for i in found if state.isdisjoint(neg[i])]
