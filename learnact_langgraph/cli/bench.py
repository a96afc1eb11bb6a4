"""``learnact bench``, ``report``, ``learn`` and ``eval``: thin commands over the bench runner.

Settings come from flags, then ``LEARNACT_*`` environment variables, then the config
file (``--config`` on the root command, ``$LEARNACT_CONFIG`` or ``./learnact.toml``),
then the defaults. Long operations draw rich progress bars; Ctrl-C stops at the next
model call, keeps every finished episode, and the same command resumes.
"""

from __future__ import annotations

import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from learnact_langgraph.bench.methods import METHODS
from learnact_langgraph.bench.runner import BenchConfig, BenchSummary, run_bench
from learnact_langgraph.bench.scripted import SCRIPTED_SPEC, scripted_model
from learnact_langgraph.bench.store import BenchError
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.models import MODEL_ENV_VAR

console = Console(highlight=False)
CONFIG_ENV_VAR = "LEARNACT_CONFIG"
DEFAULT_CONFIG = "learnact.toml"
INTERRUPTED_EXIT = 130


def load_config(path: str | None) -> dict[str, Any]:
    """The config file as ``{section: {option: value}}``; ``[defaults]`` applies to all."""
    target = Path(path) if path else Path(DEFAULT_CONFIG)
    if not target.exists():
        if path:
            raise LearnActError(f"The config file {target} does not exist; check --config.")
        return {}
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LearnActError(f"Cannot read the config file {target}: {exc}.") from exc
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def default_map(config: dict[str, Any], commands: list[str]) -> dict[str, Any]:
    """Click's ``default_map``: per command, its section over ``[defaults]``.

    Keys use the option names with dashes or underscores (``max-steps``/``max_steps``).
    """
    shared = config.get("defaults", {})
    out = {}
    for name in commands:
        merged = {**shared, **config.get(name, {})}
        out[name] = {k.replace("-", "_"): v for k, v in merged.items()}
    return out


def _model(spec: str, role: str) -> Any:
    if spec == SCRIPTED_SPEC:
        return scripted_model()
    if not spec:
        raise LearnActError(
            f"No {role} model is configured: pass --model or set {MODEL_ENV_VAR} to an "
            "init_chat_model string such as 'openai:gpt-4o-mini' (or 'scripted' for an "
            "offline dry run)."
        )
    return spec


# ----- options shared by bench and eval ---------------------------------------------------
_MODEL = typer.Option(
    "",
    "--model",
    envvar=MODEL_ENV_VAR,
    help="Agent model, an init_chat_model string (e.g. openai:gpt-4o-mini); "
    "'scripted' runs an offline scripted player.",
)
_LEARNER = typer.Option(
    "",
    "--learner-model",
    envvar="LEARNACT_LEARNER_MODEL",
    help="Learner model (LearnAct writes actions with it); default: the agent model.",
)
_METHODS = typer.Option(
    list(METHODS), "--method", "-m", help="Method, repeatable: " + ", ".join(METHODS) + "."
)
_DOMAIN = typer.Option(
    ["robotic_planning"],
    "--domain",
    "-d",
    help="Domain or group, repeatable: gripper, blockworld, barman, tyreworld, robotic_planning.",
)
_OUT = typer.Option(
    "bench-results", "--out", "-o", envvar="LEARNACT_BENCH_DIR", help="Results directory."
)
_REPEATS = typer.Option(1, "--repeats", help="Repeat runs of every method on every task.")
_TASKS_PER = typer.Option(
    None, "--tasks-per-domain", help="Only the first N evaluation tasks of each domain."
)
_TRAIN = typer.Option(
    False,
    "--include-train",
    help="Also evaluate on the 3 training tasks (the reference code evaluated on all).",
)
_MAX_STEPS = typer.Option(30, "--max-steps", help="Step limit of a test episode.")
_MEMORY = typer.Option(10, "--memory-steps", help="Steps of history shown to the agent.")
_TRAIN_STEPS = typer.Option(10, "--train-steps", help="Step limit of a training episode.")
_K = typer.Option(4, "--k", help="LearnAct: candidate action sets sampled per round.")
_ROUNDS = typer.Option(2, "--rounds", help="Learning rounds (LearnAct revisions, Reflexion).")
_SEED = typer.Option(0, "--seed", help="Base seed of the learner's samples.")
_TASKS = typer.Option("benchmark", "--tasks", help="benchmark (the paper's) or generated.")
_DATA = typer.Option(None, "--data-dir", envvar="LEARNACT_DATA_DIR", help="Benchmark data.")
_CONC = typer.Option(1, "--concurrency", "-j", help="Episodes run in parallel.")


class _Bars:
    """Rich progress bars driven by the runner's events."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.learn: Any = None
        self.eps: Any = None
        self.solved = 0
        self.seen = 0

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        p = self.progress
        if kind == "plan":
            if event["skipped"]:
                p.console.print(f"resuming: {event['skipped']} finished episodes are kept")
            if event["prepare"]:
                self.learn = p.add_task("learning", total=event["prepare"], success="")
            self.eps = p.add_task("episodes", total=event["episodes"], success="")
        elif kind == "prepare_start" and self.learn is not None:
            p.update(self.learn, description=f"learning {event['method']} on {event['domain']}")
        elif kind == "prepare_done" and self.learn is not None:
            p.advance(self.learn)
        elif kind == "episode_start" and self.eps is not None:
            p.update(self.eps, description=f"{event['method']} on {event['task_id']}")
        elif kind == "episode_done" and self.eps is not None:
            self.seen += 1
            self.solved += int(event["success"])
            p.update(self.eps, advance=1, success=f"success {self.solved}/{self.seen}")


def run_with_progress(config: BenchConfig, **kwargs: Any) -> BenchSummary:
    """``run_bench`` under progress bars; Ctrl-C stops cleanly."""
    stop = threading.Event()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}", style="bold"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[success]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        bars = _Bars(progress)
        try:
            summary = run_bench(config, on_event=bars, stop=stop, **kwargs)
        except KeyboardInterrupt:
            stop.set()
            console.print("[yellow]Stopped; finished episodes are kept.[/yellow]")
            raise typer.Exit(INTERRUPTED_EXIT) from None
    for line in summary.failed:
        console.print(f"[red]failed:[/red] {line}")
    console.print(
        f"{summary.finished} episodes run, {summary.skipped} already done, "
        f"{summary.planned} planned; results in {summary.results_dir} "
        f"(settings {summary.settings_hash})"
    )
    if summary.interrupted:
        console.print("[yellow]Stopped early: run the same command again to finish.[/yellow]")
        raise typer.Exit(INTERRUPTED_EXIT)
    if summary.failed:
        raise BenchError(
            f"{len(summary.failed)} episode(s) or learning runs failed (listed above); "
            "run the same command again to retry them."
        )
    return summary


def _config(**kw: Any) -> BenchConfig:
    return BenchConfig(**kw)


def bench(
    model: str = _MODEL,
    learner_model: str = _LEARNER,
    method: list[str] = _METHODS,
    domain: list[str] = _DOMAIN,
    out: str = _OUT,
    repeats: int = _REPEATS,
    tasks_per_domain: int | None = _TASKS_PER,
    include_train: bool = _TRAIN,
    max_steps: int = _MAX_STEPS,
    memory_steps: int = _MEMORY,
    train_steps: int = _TRAIN_STEPS,
    k: int = _K,
    rounds: int = _ROUNDS,
    seed: int = _SEED,
    tasks: str = _TASKS,
    data_dir: str | None = _DATA,
    concurrency: int = _CONC,
    report: bool = typer.Option(True, help="Write report.md and the plots when done."),
) -> None:
    """Run methods x tasks x repeats on the paper's splits; resumes an interrupted bench."""
    config = _config(
        methods=method,
        domains=domain,
        repeats=repeats,
        tasks_per_domain=tasks_per_domain,
        include_train=include_train,
        max_steps=max_steps,
        memory_steps=memory_steps,
        train_steps=train_steps,
        k=k,
        rounds=rounds,
        seed=seed,
        tasks=tasks,
        data_dir=data_dir,
        concurrency=concurrency,
    )
    agent = _model(model, "agent")
    learner = _model(learner_model, "learner") if learner_model else None
    summary = run_with_progress(
        config,
        model=agent,
        learner_model=learner,
        out=out,
        invocation={"argv": sys.argv[1:]},
    )
    if report:
        _write_report(out, summary.settings_hash, include_train, model == SCRIPTED_SPEC)


SCRIPTED_NOTE = (
    "Made with scripted models (an offline stand-in that plays gripper by rule and guesses "
    "elsewhere), not an LLM: these numbers test the pipeline, not any method."
)


def _write_report(out: str, settings: str | None, include_train: bool, scripted: bool) -> None:
    from learnact_langgraph.bench.report import load_report, write_report

    note = SCRIPTED_NOTE if scripted else ""
    if not note:
        run = load_report(out, settings, include_train=include_train).run
        if "scripted" in str(run.get("models", {})):
            note = SCRIPTED_NOTE
    path = write_report(out, settings=settings, include_train=include_train, note=note)
    console.print(f"report: {path}")


def report(
    results: str = typer.Argument("bench-results", help="Results directory of a bench."),
    settings: str | None = typer.Option(
        None, "--settings", help="Settings hash to report (default: the latest run)."
    ),
    out: str | None = typer.Option(None, "--out", "-o", help="Where to write (default: results)."),
    include_train: bool = typer.Option(
        False, "--include-train", help="Count episodes on training tasks too."
    ),
    plots: bool = typer.Option(True, help="Draw the PNG plots."),
) -> None:
    """Write the Markdown table (method x task, success and progress) and PNG plots."""
    from learnact_langgraph.bench.report import load_report, write_report

    data = load_report(results, settings, include_train=include_train)
    note = SCRIPTED_NOTE if "scripted" in str(data.run.get("models", {})) else ""
    path = write_report(
        results,
        out,
        settings=data.settings_hash,
        include_train=include_train,
        with_plots=plots,
        note=note,
    )
    console.print(path.read_text(encoding="utf-8"))
    console.print(f"report: {path}")


def learn(
    domain: str = typer.Option("gripper", "--domain", "-d", help="Domain to learn actions for."),
    model: str = _MODEL,
    learner_model: str = _LEARNER,
    store: str | None = typer.Option(
        None, "--store", envvar="LEARNACT_LIBRARY", help="SQLite library file (or postgresql://)."
    ),
    prefix: str | None = typer.Option(
        None, "--prefix", help="Library inside the store (default: learnact/<domain>)."
    ),
    k: int = _K,
    rounds: int = _ROUNDS,
    train_steps: int = _TRAIN_STEPS,
    memory_steps: int = _MEMORY,
    seed: int = _SEED,
    tasks: str = _TASKS,
    data_dir: str | None = _DATA,
) -> None:
    """Learn actions on the domain's training tasks and publish them to a library."""
    from learnact_langgraph.cli.library import open_library
    from learnact_langgraph.graphs.learner import LearnerContext, learner_graph

    agent = _model(model, "agent")
    learner = _model(learner_model, "learner") if learner_model else agent
    with open_library(store, prefix or f"learnact/{domain}") as library:
        ctx = LearnerContext(
            env=domain,
            tasks=tasks,  # type: ignore[arg-type]
            data_dir=data_dir,
            learner_model=learner,
            agent_model=agent,
            k=k,
            rounds=rounds,
            train_steps=train_steps,
            memory_steps=memory_steps,
            seed=seed,
            library=library,
        )
        final: dict[str, Any] = {}
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            bar = progress.add_task("learning: create_actions", total=None)
            episodes = 0
            try:
                for mode, chunk in learner_graph().stream(
                    {}, context=ctx, stream_mode=["updates", "values"]
                ):
                    if mode == "values":
                        final = chunk
                        continue
                    for node in chunk:
                        episodes += node == "act"
                        progress.update(
                            bar,
                            description=f"learning {domain}: {node} "
                            f"(round {final.get('round', 0)}, {episodes} training episodes)",
                        )
            except KeyboardInterrupt:
                console.print("[yellow]Stopped; nothing was published.[/yellow]")
                raise typer.Exit(INTERRUPTED_EXIT) from None
        release = final.get("release")
        if not release:
            raise LearnActError(
                f"No action set was published for {domain} (status: {final.get('status')}); "
                "try more candidates (--k) or another learner model."
            )
        table = Table(title=f"learned actions for {domain}")
        table.add_column("action")
        table.add_column("description")
        for a in release["actions"].values():
            table.add_row(a["signature"], a.get("description", ""))
        console.print(table)
        usage = final.get("usage", {})
        console.print(
            f"scores {release['stats']}; library generation {release['library_generation']}; "
            f"{usage.get('calls', 0)} LLM calls, {usage.get('input_tokens', 0)} input / "
            f"{usage.get('output_tokens', 0)} output tokens"
        )


def _preset(store: str | None, prefix: str | None, domains: list[str]) -> tuple[dict, str]:
    """Stored actions per domain as LearnAct artifacts, and a tag naming where they came from."""
    from learnact_langgraph.bench.runner import expand_domains
    from learnact_langgraph.cli.library import default_store, open_library

    preset: dict[str, dict[str, Any]] = {}
    tags = []
    for dom in expand_domains(domains):
        where = prefix or f"learnact/{dom}"
        with open_library(store, where) as library:
            actions = {
                a.name: {
                    "name": a.name,
                    "source": a.source,
                    "signature": a.signature,
                    "description": a.description,
                    "notes": list(a.notes),
                }
                for a in library.actions()
            }
            tags.append(f"{where}@{library.generation}")
        if not actions:
            raise LearnActError(
                f"The library {where} in {store or default_store()} has no actions: "
                f"run `learnact learn --domain {dom}` first."
            )
        preset[dom] = {"actions": actions, "usage_examples": []}
    return preset, f"{store or default_store()}#{','.join(tags)}"


def eval_(
    model: str = _MODEL,
    method: str = typer.Option(
        "act",
        "--method",
        "-m",
        help=f"One of {', '.join(METHODS)}; 'learnact' with --store "
        "tests the stored actions instead of learning.",
    ),
    domain: list[str] = _DOMAIN,
    store: str | None = typer.Option(
        None, "--store", help="Test the actions of this library (SQLite file) with the agent."
    ),
    prefix: str | None = typer.Option(
        None, "--prefix", help="Library inside the store (default: learnact/<domain>)."
    ),
    out: str = typer.Option("eval-results", "--out", "-o", help="Results directory."),
    repeats: int = _REPEATS,
    tasks_per_domain: int | None = _TASKS_PER,
    include_train: bool = _TRAIN,
    max_steps: int = _MAX_STEPS,
    memory_steps: int = _MEMORY,
    tasks: str = _TASKS,
    data_dir: str | None = _DATA,
    concurrency: int = _CONC,
) -> None:
    """Evaluate one method (or a stored library with the Act agent) on test tasks."""
    preset, tag = (None, "")
    if store is not None:
        if method != "learnact":
            console.print("using the stored actions: method is learnact (with the library)")
        method = "learnact"
        preset, tag = _preset(store, prefix, domain)
    config = _config(
        methods=[method],
        domains=domain,
        repeats=repeats,
        tasks_per_domain=tasks_per_domain,
        include_train=include_train,
        max_steps=max_steps,
        memory_steps=memory_steps,
        tasks=tasks,
        data_dir=data_dir,
        concurrency=concurrency,
        library_tag=tag,
    )
    summary = run_with_progress(
        config,
        model=_model(model, "agent"),
        out=out,
        preset=preset,
        invocation={"argv": sys.argv[1:]},
    )
    _write_report(out, summary.settings_hash, include_train, model == SCRIPTED_SPEC)
