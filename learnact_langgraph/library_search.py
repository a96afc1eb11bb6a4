"""Search of the released actions: the store's semantic index, or keyword ranking.

SqliteStore's vector index needs SQLite extensions that many Pythons cannot load, so
``ActionLibrary.search`` falls back to Okapi BM25 over words (identifiers split on
``_`` and camelCase, a few stop words dropped): deterministic, dependency-free and
good enough to pick a few actions out of thousands by what they do. The scoring lives
here once (:func:`bm25_idf`, :func:`bm25_score`), used both by :func:`keyword_rank`
over whole texts and by the inverted index of release snapshots, so they agree.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from langgraph.store.base import GetOp

from learnact_langgraph.library_release import get_many, resolve

if TYPE_CHECKING:
    from learnact_langgraph.actions import LearnedAction
    from learnact_langgraph.library import ActionLibrary

_K1, _B = 1.2, 0.75
_PAGE = 100_000
_WORD = re.compile(r"[A-Za-z][a-z]*|[a-z]+|\d+")
_STOP = frozenset(
    "a an and are as at be by for from in into is it its of on or the then this to with".split()
)


def tokens(text: str) -> list[str]:
    """Lower-case words; ``pick_up_ball`` and ``pickUpBall`` both give pick, up, ball."""
    out = []
    for chunk in re.split(r"[^A-Za-z0-9]+", text):
        for word in _WORD.findall(chunk):
            word = word.lower()
            if word not in _STOP:
                out.append(word)
    return out


def bag(text: str) -> Counter[str]:
    """The word counts of one document (what :func:`keyword_rank` compares)."""
    return Counter(tokens(text))


def bm25_idf(df: Mapping[str, int], n_docs: int) -> dict[str, float]:
    """Inverse document frequency of each word from how many of ``n_docs`` hold it."""
    return {w: math.log(1.0 + (n_docs - df[w] + 0.5) / (df[w] + 0.5)) for w in df}


def bm25_norm(length: int, avg: float) -> float:
    """The length part of a document's score, the same for each of its words."""
    return _K1 * (1 - _B + _B * length / avg)


def bm25_term(idf: float, count: int, norm: float) -> float:
    """One word's share of a document's score."""
    return idf * count * (_K1 + 1) / (count + norm)


def bm25_score(
    wanted: set[str],
    counts: Mapping[str, int],
    idf: Mapping[str, float],
    length: int,
    avg: float,
) -> float:
    """One document's score; ``wanted`` is iterated as given, so every caller that
    passes the same set object adds the same terms in the same order (same float).
    The terms are added one by one, as the inverted index adds them word by word
    (``sum`` may round differently on newer Pythons)."""
    norm = bm25_norm(length, avg)
    score = 0.0
    for w in wanted:
        if counts.get(w):
            score += bm25_term(idf[w], counts[w], norm)
    return score


def keyword_rank(query: str, docs: Mapping[str, str | Counter[str]]) -> list[str]:
    """Document keys best first (BM25); documents sharing no word with the query are dropped.

    ``docs`` maps keys to text, or to a :func:`bag` computed earlier. This is the
    reference ranking: the library ranks through its stored index
    (``library_snapshot.ReleaseView.rank``), which gives the same order.
    """
    wanted = set(tokens(query))
    if not wanted or not docs:
        return []
    bags = {key: d if isinstance(d, Counter) else bag(d) for key, d in docs.items()}
    lengths = {key: sum(b.values()) for key, b in bags.items()}
    avg = max(1.0, sum(lengths.values()) / len(lengths))
    df = Counter(word for b in bags.values() for word in set(b) & wanted)
    idf = bm25_idf(df, len(docs))
    scores: dict[str, float] = {}
    for key, b in bags.items():
        score = bm25_score(wanted, b, idf, lengths[key], avg)
        if score > 0:
            scores[key] = score
    return sorted(scores, key=lambda k: (-scores[k], k))


def search_library(lib: ActionLibrary, query: str, k: int) -> list[LearnedAction]:
    """``ActionLibrary.search``: the store's semantic index where it has one, else BM25.

    Semantic hits are kept only if the current release holds them. Keyword search ranks
    through the release snapshot's inverted index; a release without a snapshot (a
    store written before snapshots) is ranked from its catalog items, as it always was.
    """
    if k <= 0:
        return []
    gen, skipped = lib.pointer()
    view = lib._snapshots.view(lib, gen)
    if lib.has_index:
        items = lib.store.search(lib.ns("catalog"), query=query, limit=k * 2 + 5)
        keys = [i.key for i in items]
        if view is not None:
            return view.actions([n for n in keys if n in view][:k])
        heads = get_many(lib.store, [GetOp(lib.ns("heads"), n) for n in keys])
        found = [
            (n, v)
            for n, h in zip(keys, heads, strict=True)
            if h is not None and (v := resolve(h.value, gen, skipped)) is not None
        ]
        return lib._read_versions(found[:k])
    if view is not None:
        return view.actions(view.rank(query, k))
    contents = lib.release_contents(gen)
    docs: dict[str, str] = {}
    offset = 0
    while True:
        page = lib.store.search(lib.ns("catalog"), limit=_PAGE, offset=offset)
        docs.update({i.key: str(i.value.get("text", "")) for i in page if i.key in contents})
        if len(page) < _PAGE:
            break
        offset += _PAGE
    return lib._read_versions([(n, contents[n]) for n in keyword_rank(query, docs)[:k]])
