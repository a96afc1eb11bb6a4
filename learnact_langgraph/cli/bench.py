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

from learnact_langgraph.bench.methods import METHODS
from learnact_langgraph.bench.runner import BenchConfig, BenchSummary, run_bench
from learnact_langgraph.bench.store import BenchError
from learnact_langgraph.cli.options import (
    choice,
    count_option,
    executor_options,
    greater_than,
    ray_address_for,
)
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.models import MODEL_ENV_VAR
from learnact_langgraph.models import SCRIPTED as SCRIPTED_SPEC
from learnact_langgraph.models.recording import open_recording

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


def _model(spec: str, role: str, replay: str | None = None) -> str:
    """The model name of ``role``, or one sentence saying how to name one."""
    if not spec and replay:
        return SCRIPTED_SPEC
    if not spec:
        raise LearnActError(
            f"No {role} model is configured: pass --model or set {MODEL_ENV_VAR} to an "
            "init_chat_model string such as 'openai:gpt-4o-mini', 'local' for the local "
            "model server, or 'scripted' for an offline dry run."
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
    help="Domain or group, repeatable: gripper, blockworld, barman, tyreworld, "
    "robotic_planning; alfworld_put, alfworld_clean, alfworld_heat, alfworld_cool, "
    "alfworld_examine, alfworld_puttwo, alfworld (the six; needs the alfworld extra).",
)
_OUT = typer.Option(
    "bench-results", "--out", "-o", envvar="LEARNACT_BENCH_DIR", help="Results directory."
)
_REPEATS = count_option(1, "--repeats", help="Repeat runs of every method on every task.")
_TASKS_PER = count_option(
    None, "--tasks-per-domain", help="Only the first N evaluation tasks of each domain."
)
_TRAIN = typer.Option(
    False,
    "--include-train",
    help="Also evaluate on the 3 training tasks (the reference code evaluated on all).",
)
_MAX_STEPS = count_option(
    None,
    "--max-steps",
    help="Step limit of a test episode (default: the domain's, 30 for planning and 20 for "
    "AlfWorld, as in the paper)",
)
_MEMORY = count_option(
    None,
    "--memory-steps",
    help="Steps of history shown to the agent (default: the domain's, 10 for planning and "
    "the whole episode for AlfWorld)",
    minimum=0,
    zero="the whole history",
)
_TRAIN_STEPS = count_option(
    None, "--train-steps", help="Step limit of a training episode (default: the domain's, 10)"
)
_K = count_option(4, "--k", help="LearnAct: candidate action sets sampled per round.")
_ROUNDS = count_option(
    2,
    "--rounds",
    help="Learning rounds (LearnAct revisions, Reflexion).",
    minimum=0,
    zero="no revision or reflection rounds",
)
_SEED = typer.Option(0, "--seed", help="Base seed of the learner's samples.")
_TASKS = typer.Option(
    "benchmark",
    "--tasks",
    help="benchmark (the paper's) or generated (made here, no data needed).",
    callback=choice("benchmark", "generated"),
)
_DATA = typer.Option(None, "--data-dir", envvar="LEARNACT_DATA_DIR", help="Benchmark data.")
_CONC = count_option(1, "--concurrency", "-j", help="Episodes run in parallel.")
_EXECUTOR, _RAY_ADDRESS, _RAY_WORKERS = executor_options()
_MAX_TOKENS = count_option(
    None,
    "--max-tokens",
    help="Cap on each model reply, in tokens (default: the provider's; for --model local "
    "640 for the learner and 160 for the agent).",
)
_TIMEOUT = typer.Option(
    None, "--timeout", help="Seconds one model call may take.", callback=greater_than(0)
)
_BASE_URL = typer.Option(
    None,
    "--base-url",
    envvar="LEARNACT_BASE_URL",
    help="OpenAI-compatible endpoint for openai: models (llama-cpp, vLLM, Ollama), "
    "e.g. http://127.0.0.1:8767/v1.",
)


def on_error_option(default: str) -> Any:
    """``--on-error``: what a failed learned call leaves behind (same in ``learnact.toml``)."""
    return typer.Option(
        default,
        "--on-error",
        help="What a failed learned-action call leaves behind: keep (its valid sub-steps "
        "stay in effect, as in the paper) or restore (every sub-step is undone).",
        callback=choice("keep", "restore"),
    )


_ON_ERROR = on_error_option("keep")
_RECORD = typer.Option(
    None, "--record", help="Record every model call (request and reply) to this JSONL file."
)
_REPLAY = typer.Option(
    None,
    "--replay",
    help="Play back the model calls recorded in this file instead of calling a model.",
)


class _Bars:
    """Rich progress bars driven by the runner's events.

    The display starts with the runner's ``plan`` event, after models and task lists
    were resolved, so a bench that fails its checks prints its one error line only.
    """

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
            p.start()
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


def _stop_bars(progress: Progress) -> None:
    if progress.live.is_started:  # stop() prints a newline even when never started
        progress.stop()


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
    progress = Progress(*columns, console=console, transient=False)
    try:
        summary = run_bench(config, on_event=_Bars(progress), stop=stop, **kwargs)
    except KeyboardInterrupt:
        _stop_bars(progress)
        stop.set()
        console.print("[yellow]Stopped; finished episodes are kept.[/yellow]")
        raise typer.Exit(INTERRUPTED_EXIT) from None
    finally:
        _stop_bars(progress)
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
    typer_ctx: typer.Context,
    model: str = _MODEL,
    learner_model: str = _LEARNER,
    method: list[str] = _METHODS,
    domain: list[str] = _DOMAIN,
    out: str = _OUT,
    repeats: int = _REPEATS,
    tasks_per_domain: int | None = _TASKS_PER,
    include_train: bool = _TRAIN,
    max_steps: int | None = _MAX_STEPS,
    memory_steps: int | None = _MEMORY,
    train_steps: int | None = _TRAIN_STEPS,
    k: int = _K,
    rounds: int = _ROUNDS,
    seed: int = _SEED,
    tasks: str = _TASKS,
    data_dir: str | None = _DATA,
    concurrency: int = _CONC,
    executor: str = _EXECUTOR,
    ray_address: str | None = _RAY_ADDRESS,
    ray_workers: int = _RAY_WORKERS,
    max_tokens: int | None = _MAX_TOKENS,
    timeout: float | None = _TIMEOUT,
    base_url: str | None = _BASE_URL,
    on_error: str = _ON_ERROR,
    record: str | None = _RECORD,
    replay: str | None = _REPLAY,
    report: bool = typer.Option(True, help="Write report.md and the plots when done."),
    checkpoint: bool = typer.Option(
        True,
        "--checkpoint/--no-checkpoint",
        help="Checkpoint learning runs in <out>/checkpoints.sqlite, so that running the "
        "same command again resumes them where they stopped.",
    ),
    checkpoint_url: str | None = typer.Option(
        None,
        "--checkpoint-url",
        envvar="LEARNACT_CHECKPOINTS",
        help="Keep those checkpoints in a postgresql:// database (set up once with "
        "`learnact db setup URL`) or another SQLite file: a bench with the same settings "
        "on another machine then resumes its learning runs.",
    ),
) -> None:
    """Run methods x tasks x repeats on the paper's splits; resumes an interrupted bench.

    Finished episodes are recorded as they end; learning runs (LearnAct, Reflexion) are
    checkpointed, so a stopped bench resumes them from their last finished step.
    """
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
        max_tokens=max_tokens,
        timeout=timeout,
        base_url=base_url,
        on_error=on_error,
        checkpoint=checkpoint,
        checkpoint_url=checkpoint_url,
        executor=executor,
        ray_address=ray_address_for(typer_ctx, executor, ray_address),
        workers=ray_workers,
    )
    agent = _model(model, "agent", replay)
    learner = _model(learner_model, "learner") if learner_model else None
    summary = run_with_progress(
        config,
        model=agent,
        learner_model=learner,
        out=out,
        invocation={"argv": sys.argv[1:]},
        recording=open_recording(record, replay),
    )
    if report:
        _write_report(out, summary.settings_hash, include_train, model == SCRIPTED_SPEC)


SCRIPTED_NOTE = (
    "Made with scripted models (an offline stand-in that plays gripper and AlfWorld by rule "
    "and guesses elsewhere), not an LLM: these numbers test the pipeline, not any method."
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
    _say_if_no_plots()


def _say_if_no_plots() -> None:
    from learnact_langgraph.bench import plots

    if not plots.available():
        console.print(f"[yellow]{plots.PLOTS_MISSING}.[/yellow]")


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
    if plots:
        _say_if_no_plots()
