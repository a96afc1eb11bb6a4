"""``learnact learn`` and ``learnact eval``: one learning run into a library, one evaluation.

Both are thin: ``learn`` streams the learner graph into a SQLite (or PostgreSQL) action
library, ``eval`` is a one-method bench (see :mod:`learnact_langgraph.cli.bench`) that
can test a stored library's actions with the Act agent instead of learning.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from learnact_langgraph.bench.methods import METHODS
from learnact_langgraph.cli.bench import (
    _CONC,
    _DATA,
    _DOMAIN,
    _K,
    _LEARNER,
    _MAX_STEPS,
    _MEMORY,
    _MODEL,
    _REPEATS,
    _ROUNDS,
    _SEED,
    _TASKS,
    _TASKS_PER,
    _TRAIN,
    _TRAIN_STEPS,
    INTERRUPTED_EXIT,
    SCRIPTED_SPEC,
    _config,
    _model,
    _write_report,
    console,
    run_with_progress,
)
from learnact_langgraph.errors import LearnActError


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


def _preset(
    store: str | None, prefix: str | None, domains: list[str]
) -> tuple[dict[str, dict[str, Any]], str]:
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
