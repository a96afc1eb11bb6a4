"""Keyword ranking for stores without a semantic index.

SqliteStore's vector index needs SQLite extensions that many Pythons cannot load, so
``ActionLibrary.search`` falls back to this: words of the query (identifiers split on
``_`` and camelCase) weighted by inverse document frequency, summed over the words a
document contains. Deterministic, dependency-free and good enough to pick a few
actions out of thousands by what they do.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping

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


def keyword_rank(query: str, docs: Mapping[str, str]) -> list[str]:
    """Document keys best first; documents sharing no word with the query are dropped."""
    wanted = set(tokens(query))
    if not wanted or not docs:
        return []
    bags = {key: Counter(tokens(text)) for key, text in docs.items()}
    df = Counter(word for bag in bags.values() for word in set(bag) & wanted)
    n = len(docs)
    scores: dict[str, float] = {}
    for key, bag in bags.items():
        score = sum((1.0 + math.log(bag[w])) * math.log(1.0 + n / df[w]) for w in wanted if bag[w])
        if score > 0:
            scores[key] = score
    return sorted(scores, key=lambda k: (-scores[k], k))
