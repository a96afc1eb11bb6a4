"""``learnact report``: Markdown tables laid out like the paper's, plus PNG plots.

Everything is rebuilt from the stored episodes and artifacts of one settings hash
(the latest run by default), so a report can be redone at any time from the results
directory alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape

from learnact_langgraph.bench import metrics, plots
from learnact_langgraph.bench.methods import LABELS, METHODS
from learnact_langgraph.bench.store import EPISODES, BenchError, ResultStore
from learnact_langgraph.envs.registry import ENV_NAMES

PLOTS = {
    "success": "success_per_task.png",
    "learning": "success_across_rounds.png",
    "cost": "cost_vs_success.png",
}


@dataclass
class ReportData:
    settings_hash: str
    run: dict[str, Any]
    methods: list[str]
    domains: list[str]
    cells: dict[tuple[str, str], metrics.Cell]
    costs: dict[str, dict[str, float]]
    curves: dict[str, dict[str, list[float]]]
    include_train: bool
    note: str = ""
    plots: dict[str, str] = field(default_factory=dict)
    #: Lines of the results files that could not be read (see ``ResultStore.problems``).
    problems: list[str] = field(default_factory=list)


def load_report(
    results_dir: str | Path, settings: str | None = None, *, include_train: bool = False
) -> ReportData:
    """The numbers of a report, from the stored results of one settings hash."""
    store = ResultStore(results_dir)
    shash = settings or store.latest_settings()
    run = store.manifest()["runs"].get(shash)
    if run is None:
        raise BenchError(f"No bench run with settings hash {shash!r} in {results_dir}.")
    episodes = [e for e in store.episodes(shash) if include_train or e.get("split") != "train"]
    if not episodes:
        unread = len(store.problems())
        raise BenchError(
            f"The bench in {results_dir} has no finished test episodes yet"
            + (f" ({unread} line(s) of {EPISODES} could not be read)" if unread else "")
            + ": run the bench first."
        )
    artifacts = store.artifacts(shash)
    present = {e["method"] for e in episodes}
    methods = [m for m in METHODS if m in present]
    doms = {e["domain"] for e in episodes}
    domains = [d for d in ENV_NAMES if d in doms] + sorted(doms - set(ENV_NAMES))
    return ReportData(
        settings_hash=shash,
        run=run,
        methods=methods,
        domains=domains,
        cells=metrics.table(episodes),
        costs=metrics.costs(episodes, artifacts),
        curves={m: c for m in METHODS if (c := metrics.learning_curves(artifacts).get(m))},
        include_train=include_train,
        problems=[str(p) for p in store.problems()],
    )


def problems_warning(problems: list[str]) -> list[str]:
    """The warning a report opens with when records were left out, one line per problem.

    Excerpts are escaped for rich markup (``\\[`` reads as ``[`` in Markdown too), since
    ``learnact report`` prints the report through rich.
    """
    if not problems:
        return []
    out = [
        f"> **Warning:** {len(problems)} line(s) of the results could not be read, so "
        "their records are left out of every number below:",
        ">",
    ]
    out += [f"> - {escape(p)}" for p in problems]
    return [*out, ""]


def _pct(cell: metrics.Cell | None, key: str) -> str:
    if cell is None:
        return "–"
    text = f"{100 * cell.mean[key]:.1f}"
    if cell.repeats > 1:
        text += f" ± {100 * cell.std[key]:.1f}"
    return text


def _rate_table(data: ReportData, key: str) -> list[str]:
    head = ["Method", *data.domains, "Average"]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    for method in data.methods:
        row = [LABELS.get(method, method)]
        row += [_pct(data.cells.get((method, d)), key) for d in data.domains]
        avg = metrics.macro_average(data.cells, method, key)
        row.append("–" if avg is None else f"{100 * avg:.1f}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _cost_table(data: ReportData) -> list[str]:
    lines = [
        "| Method | Episodes | Test LLM calls | Test tokens in / out | Test time (s) "
        "| Learning LLM calls | Learning tokens in / out | Learning time (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for method in data.methods:
        c = data.costs[method]
        lines.append(
            f"| {LABELS.get(method, method)} | {c['episodes']:.0f} | {c['test_calls']:.0f} "
            f"| {c['test_input_tokens']:.0f} / {c['test_output_tokens']:.0f} "
            f"| {c['test_seconds']:.1f} | {c['learn_calls']:.0f} "
            f"| {c['learn_input_tokens']:.0f} / {c['learn_output_tokens']:.0f} "
            f"| {c['learn_seconds']:.1f} |"
        )
    return lines


def render_markdown(data: ReportData) -> str:
    """The report text: provenance, success and progress tables, cost, plots."""
    run = data.run
    settings = run.get("settings", {})
    models = run.get("models", {})
    repeats = max((c.repeats for c in data.cells.values()), default=0)
    split = "test and training tasks" if data.include_train else "test tasks only"
    out = ["# LearnAct bench report", "", *problems_warning(data.problems)]
    if data.note:
        out += [f"> {data.note}", ""]
    out += [
        f"- Agent model: `{models.get('agent')}`; learner model: `{models.get('learner')}`"
        + (
            f"; Reflexion's reflections by: `{models['reflections']}`"
            if models.get("reflections")
            else ""
        ),
        f"- Evaluated on: {split}; repeats: {repeats}; settings hash `{data.settings_hash}`",
        "- Settings: "
        + ", ".join(
            f"{k}={_setting(settings[k])}"
            for k in (
                "max_steps",
                "memory_steps",
                "train_steps",
                "k",
                "rounds",
                "seed",
                "tasks",
                "on_error",
                "learner_temperature",
            )
            if k in settings
        ),
        *(
            [f"- Learned actions read from the stored library `{settings['library']}`"]
            if settings.get("library")
            else []
        ),
        f"- Package {run.get('package_version')}, git commit `{run.get('git_commit')}`, "
        f"Python {run.get('python')}",
        "",
        "Cells are means over repeats of the per-repeat mean over tasks"
        + (" (± standard deviation across repeats)" if repeats > 1 else "")
        + "; Average is the mean over tasks.",
        "",
        "## Success rate (%)",
        "",
        *_rate_table(data, "success"),
        "",
        "## Progress rate (%)",
        "",
        *_rate_table(data, "progress"),
        "",
        "## Cost",
        "",
        *_cost_table(data),
        "",
    ]
    if data.plots:
        out += ["## Plots", ""]
        titles = {
            "success": "Success per task and method",
            "learning": "Success across learning rounds",
            "cost": "Cost against success",
        }
        for key, name in data.plots.items():
            out += [f"![{titles.get(key, key)}]({name})", ""]
    return "\n".join(out)


def write_report(
    results_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    settings: str | None = None,
    include_train: bool = False,
    with_plots: bool = True,
    note: str = "",
) -> Path:
    """Write ``report.md`` (and the PNG plots beside it); returns the report path.

    Without matplotlib the tables are still written and the report says how to get
    the plots: a long run must never end without its results.
    """
    data = load_report(results_dir, settings, include_train=include_train)
    data.note = note
    target = Path(out_dir or results_dir)
    target.mkdir(parents=True, exist_ok=True)
    if with_plots and not plots.available():
        missing = plots.PLOTS_MISSING[0].upper() + plots.PLOTS_MISSING[1:] + "."
        data.note = "\n\n".join(p for p in (note, missing) if p)
    elif with_plots:
        success = {
            m: {d: c.mean["success"] for (mm, d), c in data.cells.items() if mm == m}
            for m in data.methods
        }
        plots.plot_success(
            success, data.methods, data.domains, target / PLOTS["success"], labels=LABELS
        )
        data.plots["success"] = PLOTS["success"]
        if data.curves:
            plots.plot_learning(
                data.curves, data.domains, target / PLOTS["learning"], labels=LABELS
            )
            data.plots["learning"] = PLOTS["learning"]
        points = [
            (
                LABELS.get(m, m),
                data.costs[m]["tokens"],
                metrics.macro_average(data.cells, m, "success") or 0.0,
            )
            for m in data.methods
        ]
        plots.plot_cost(points, target / PLOTS["cost"])
        data.plots["cost"] = PLOTS["cost"]
    path = target / "report.md"
    path.write_text(render_markdown(data) + "\n", encoding="utf-8")
    return path


def _setting(value: Any) -> str:
    """A hashed setting as the report shows it (``None`` steps are each domain's own)."""
    return "each domain's default" if value is None else str(value)
