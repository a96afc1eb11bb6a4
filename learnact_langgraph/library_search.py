"""Keyword ranking for stores without a semantic index.

SqliteStore's vector index needs SQLite extensions that many Pythons cannot load, so
``ActionLibrary.search`` falls back to this: Okapi BM25 over words (identifiers split
on ``_`` and camelCase, a few stop words dropped). Deterministic, dependency-free and
good enough to pick a few actions out of thousands by what they do.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping

_K1, _B = 1.2, 0.75
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


def keyword_rank(query: str, docs: Mapping[str, str | Counter[str]]) -> list[str]:
    """Document keys best first (BM25); documents sharing no word with the query are dropped.

    ``docs`` maps keys to text, or to a :func:`bag` computed earlier (callers cache those).
    """
    wanted = set(tokens(query))
    if not wanted or not docs:
        return []
    bags = {key: d if isinstance(d, Counter) else bag(d) for key, d in docs.items()}
    lengths = {key: sum(b.values()) for key, b in bags.items()}
    avg = max(1.0, sum(lengths.values()) / len(lengths))
    df = Counter(word for b in bags.values() for word in set(b) & wanted)
    idf = {w: math.log(1.0 + (len(docs) - df[w] + 0.5) / (df[w] + 0.5)) for w in df}
    scores: dict[str, float] = {}
    for key, b in bags.items():
        norm = _K1 * (1 - _B + _B * lengths[key] / avg)
        score = sum(idf[w] * b[w] * (_K1 + 1) / (b[w] + norm) for w in wanted if b[w])
        if score > 0:
            scores[key] = score
    return sorted(scores, key=lambda k: (-scores[k], k))
