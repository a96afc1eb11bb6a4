"""Bench plots as pure functions: numbers in, one PNG out, one idea per picture.

matplotlib (the ``bench`` extra) is imported lazily with the Agg backend, so the
package and its CLI work without it until a report is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from learnact_langgraph.bench.store import BenchError


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise BenchError(
            "Plots need matplotlib: install it with `pip install 'learnact-langgraph[bench]'`."
        ) from exc
    return plt


def _save(fig: Any, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    _pyplot().close(fig)
    return out


def plot_success(
    success: Mapping[str, Mapping[str, float]],
    methods: Sequence[str],
    domains: Sequence[str],
    path: str | Path,
    *,
    labels: Mapping[str, str] | None = None,
    title: str = "Success rate per task and method",
) -> Path:
    """Grouped bars: one group per task, one bar per method (success in %)."""
    plt = _pyplot()
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(domains) + 2), 4.2))
    width = 0.8 / max(1, len(methods))
    for i, method in enumerate(methods):
        xs = [d + (i - (len(methods) - 1) / 2) * width for d in range(len(domains))]
        ys = [100 * success.get(method, {}).get(dom, 0.0) for dom in domains]
        ax.bar(xs, ys, width, label=labels.get(method, method))
    ax.set_xticks(range(len(domains)), list(domains))
    ax.set_xlabel("Task")
    ax.set_ylabel("Success rate (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _save(fig, path)


def plot_learning(
    curves: Mapping[str, Mapping[str, Sequence[float]]],
    domains: Sequence[str],
    path: str | Path,
    *,
    labels: Mapping[str, str] | None = None,
    title: str = "Training success across learning rounds",
) -> Path:
    """One panel per task; a line per learning method (LearnAct, Reflexion variants)."""
    plt = _pyplot()
    labels = labels or {}
    shown = [d for d in domains if any(d in c for c in curves.values())] or list(domains)
    fig, axes = plt.subplots(
        1, len(shown), figsize=(3.2 * len(shown) + 1, 3.4), sharey=True, squeeze=False
    )
    for ax, domain in zip(axes[0], shown, strict=True):
        for method, per_domain in curves.items():
            ys = per_domain.get(domain)
            if ys:
                ax.plot(
                    range(len(ys)),
                    [100 * y for y in ys],
                    marker="o",
                    label=labels.get(method, method),
                )
        ax.set_title(domain)
        ax.set_xlabel("Round")
        ax.set_ylim(-5, 105)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("Success on training tasks (%)")
    handles, names = [], []
    for ax in axes[0]:
        for h, n in zip(*ax.get_legend_handles_labels(), strict=True):
            if n not in names:
                handles.append(h)
                names.append(n)
    if handles:
        fig.legend(handles, names, loc="lower center", ncol=len(names), frameon=False,
                   bbox_to_anchor=(0.5, -0.08))  # fmt: skip
    fig.suptitle(title)
    return _save(fig, path)


def plot_cost(
    points: Sequence[tuple[str, float, float]],
    path: str | Path,
    *,
    title: str = "Cost against success (all tasks)",
) -> Path:
    """One labelled point per method: total tokens (x) against mean success (y)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, tokens, success in points:
        ax.scatter([tokens], [100 * success], s=60)
        ax.annotate(label, (tokens, 100 * success), textcoords="offset points", xytext=(6, 4))
    ax.set_xlabel("LLM tokens, learning + test (input + output)")
    ax.set_ylabel("Mean success rate (%)")
    ax.set_ylim(-5, 105)
    if points and min(p[1] for p in points) > 0:
        ax.set_xscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)
