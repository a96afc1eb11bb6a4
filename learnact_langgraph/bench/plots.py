"""Bench plots as pure functions: numbers in, one PNG out, one idea per picture.

matplotlib (the ``bench`` extra) is imported lazily with the Agg backend, so the
package and its CLI work without it until a report is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from learnact_langgraph.bench.store import BenchError

PLOTS_MISSING = (
    "plots were not drawn: they need matplotlib, `pip install 'learnact-langgraph[bench]'` adds it"
)


def available() -> bool:
    """Whether matplotlib can be imported (reports skip their plots when it can't)."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


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
    """One panel per task; a line per learning method (LearnAct, Reflexion variants).

    A run that stopped early (nothing left to fix) keeps its last value up to the
    longest run, drawn dotted, so every line spans the same rounds.
    """
    plt = _pyplot()
    labels = labels or {}
    shown = [d for d in domains if any(d in c for c in curves.values())] or list(domains)
    length = max((len(ys) for c in curves.values() for ys in c.values()), default=1)
    fig, axes = plt.subplots(
        1, len(shown), figsize=(3.2 * len(shown) + 1, 3.6), sharey=True, squeeze=False
    )
    styles = ["o-", "s--", "^-.", "D:", "v-", "P--"]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, domain in zip(axes[0], shown, strict=True):
        for i, (method, per_domain) in enumerate(curves.items()):
            ys = [100 * y for y in per_domain.get(domain) or []]
            if not ys:
                continue
            color = colors[i % len(colors)]
            ax.plot(
                range(len(ys)),
                ys,
                styles[i % len(styles)],
                color=color,
                label=labels.get(method, method),
                markersize=6 + 2 * (len(curves) - i),
            )
            if len(ys) < length:
                ax.plot(
                    range(len(ys) - 1, length), [ys[-1]] * (length - len(ys) + 1), ":", color=color
                )
        ax.set_title(domain)
        ax.set_xlabel("Round")
        ax.set_xticks(range(length))
        ax.set_ylim(-5, 105)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("Success on training tasks (%)")
    handles, names = [], []
    for ax in axes[0]:
        for h, n in zip(*ax.get_legend_handles_labels(), strict=True):
            if n not in names:
                handles.append(h)
                names.append(n)
    if handles:
        fig.legend(
            handles,
            names,
            loc="upper center",
            ncol=len(names),
            frameon=False,
            bbox_to_anchor=(0.5, 0.0),
        )
    fig.suptitle(title, y=1.02)
    return _save(fig, path)


def plot_cost(
    points: Sequence[tuple[str, float, float]],
    path: str | Path,
    *,
    title: str = "Cost against success (all tasks)",
) -> Path:
    """One point per method: total tokens (x) against mean success (y), legend outside."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    for i, (label, tokens, success) in enumerate(points):
        ax.scatter(
            [tokens],
            [100 * success],
            s=70,
            marker=markers[i % len(markers)],
            label=label,
            alpha=0.85,
        )
    ax.set_xlabel("LLM tokens, learning + test (input + output)")
    ax.set_ylabel("Mean success rate (%)")
    ax.set_ylim(-5, 105)
    if points and min(p[1] for p in points) > 0:
        ax.set_xscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _save(fig, path)
