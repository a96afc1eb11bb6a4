"""Aggregating stored episodes into the numbers a report shows.

Every rate is first averaged over the tasks of one repeat, then over repeats (the
paper reports the mean of its repeat runs); the spread is the standard deviation
across repeats. Averages over domains are macro averages (each domain counts once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean, pstdev
from typing import Any

RATES = ("success", "progress", "valid_share", "steps")


@dataclass(frozen=True)
class Cell:
    """One method on one domain: means over repeats, with the spread across repeats."""

    episodes: int
    repeats: int
    mean: dict[str, float]
    std: dict[str, float]


def _mean(values: Iterable[float]) -> float:
    vals = list(values)
    return fmean(vals) if vals else 0.0


def cell(records: Sequence[dict[str, Any]]) -> Cell:
    by_repeat: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_repeat[int(r["repeat"])].append(r)
    per_repeat = {k: [_mean(float(r[k]) for r in rs) for rs in by_repeat.values()] for k in RATES}
    return Cell(
        episodes=len(records),
        repeats=len(by_repeat),
        mean={k: _mean(v) for k, v in per_repeat.items()},
        std={k: pstdev(v) if len(v) > 1 else 0.0 for k, v in per_repeat.items()},
    )


def table(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Cell]:
    """(method, domain) -> :class:`Cell`."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r["method"], r["domain"])].append(r)
    return {key: cell(rs) for key, rs in groups.items()}


def macro_average(cells: dict[tuple[str, str], Cell], method: str, key: str) -> float | None:
    vals = [c.mean[key] for (m, _), c in cells.items() if m == method]
    return _mean(vals) if vals else None


def _usage_sum(items: Iterable[dict[str, Any]]) -> dict[str, float]:
    total = {"calls": 0.0, "input_tokens": 0.0, "output_tokens": 0.0, "seconds": 0.0}
    for u in items:
        for k in total:
            total[k] += float(u.get(k, 0) or 0)
    return total


def costs(
    records: Sequence[dict[str, Any]], artifacts: Sequence[dict[str, Any]]
) -> dict[str, dict[str, float]]:
    """Per method: LLM calls, tokens and wall time of test episodes and of learning."""
    out: dict[str, dict[str, float]] = {}
    methods = list(dict.fromkeys([r["method"] for r in records]))
    for method in methods:
        eps = [r for r in records if r["method"] == method]
        arts = [a for a in artifacts if a["method"] == method]
        test = _usage_sum(r.get("usage", {}) for r in eps)
        learn = _usage_sum(a.get("usage", {}) for a in arts)
        out[method] = {
            "episodes": float(len(eps)),
            "test_calls": test["calls"],
            "test_input_tokens": test["input_tokens"],
            "test_output_tokens": test["output_tokens"],
            "test_seconds": sum(float(r.get("seconds", 0.0)) for r in eps),
            "learn_calls": learn["calls"],
            "learn_input_tokens": learn["input_tokens"],
            "learn_output_tokens": learn["output_tokens"],
            "learn_seconds": sum(float(a.get("seconds", 0.0)) for a in arts),
        }
        out[method]["tokens"] = sum(
            out[method][k]
            for k in (
                "test_input_tokens",
                "test_output_tokens",
                "learn_input_tokens",
                "learn_output_tokens",
            )
        )
    return out


def learning_curves(artifacts: Sequence[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """method -> domain -> training success after each round, averaged over repeats.

    A run that stopped early (everything solved) keeps its last value for later rounds,
    so runs of different lengths average cleanly.
    """
    grouped: dict[tuple[str, str], list[list[float]]] = defaultdict(list)
    for a in artifacts:
        rounds = sorted(a.get("rounds") or [], key=lambda r: r["round"])
        if rounds:
            grouped[(a["method"], a["domain"])].append([float(r["success"]) for r in rounds])
    out: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for (method, domain), runs in grouped.items():
        length = max(len(r) for r in runs)
        padded = [r + [r[-1]] * (length - len(r)) for r in runs]
        out[method][domain] = [_mean(col) for col in zip(*padded, strict=True)]
    return dict(out)
