"""``learnact eval``: one method on the test tasks, or a stored library's actions.

A one-method bench (see :mod:`learnact_langgraph.cli.bench`) that can test the actions
of a stored library with the Act agent instead of learning; the library is only read.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from learnact_langgraph.bench.methods import METHODS
from learnact_langgraph.cli.bench import (
    _BASE_URL,
    _CONC,
    _DATA,
    _DOMAIN,
    _EXECUTOR,
    _MAX_STEPS,
    _MAX_TOKENS,
    _MEMORY,
    _MODEL,
    _ON_ERROR,
    _RAY_ADDRESS,
    _RAY_WORKERS,
    _RECORD,
    _REPEATS,
    _REPLAY,
    _TASKS,
    _TASKS_PER,
    _TIMEOUT,
    _TRAIN,
    SCRIPTED_SPEC,
    _config,
    _model,
    _write_report,
    console,
    run_with_progress,
)
from learnact_langgraph.cli.library import PREFIX_OPTION as _PREFIX
from learnact_langgraph.cli.options import ray_address_for
from learnact_langgraph.cli.stores import describe_store, open_library
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.library import default_prefix
from learnact_langgraph.models.recording import open_recording

__all__ = ["eval_"]


def _library_prefix(domains: list[str], prefix: str | None) -> str | None:
    """The ``--prefix`` given, refused when it would name one library for several domains."""
    from learnact_langgraph.bench.config import expand_domains

    if prefix is not None and len(expand_domains(domains)) > 1:
        raise LearnActError(
            f"--prefix {prefix} names one library but several domains were chosen; "
            "pass a single --domain, or leave out --prefix to use learnact/<domain> each."
        )
    return prefix


def _preset(
    store: str, prefix: str | None, domains: list[str]
) -> tuple[dict[str, dict[str, Any]], str]:
    """Stored actions per domain as LearnAct artifacts, and a tag naming where they came from.

    The store is only read (``read`` mode): evaluating never creates or changes it.
    """
    from learnact_langgraph.bench.config import expand_domains

    preset: dict[str, dict[str, Any]] = {}
    tags = []
    for dom in expand_domains(domains):
        where = prefix or default_prefix(dom)
        with open_library(store, where, "read") as library:
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
                f"The library {where} in {describe_store(store)} has no actions: "
                f"run `learnact learn --domain {dom} --store {describe_store(store)}` first."
            )
        preset[dom] = {"actions": actions, "usage_examples": []}
    return preset, f"{describe_store(store)}#{','.join(tags)}"


def eval_(
    typer_ctx: typer.Context,
    model: str = _MODEL,
    method: str | None = typer.Option(
        None,
        "--method",
        "-m",
        help=f"One of {', '.join(METHODS)} (default: act); with --store it is "
        "learnact, testing the stored actions instead of learning.",
    ),
    domain: list[str] = _DOMAIN,
    store: str | None = typer.Option(
        None,
        "--store",
        help="Test the actions of this library (SQLite file or postgresql:// URL, only "
        "read) with the agent.",
    ),
    prefix: str | None = _PREFIX,
    out: str = typer.Option(
        "eval-results", "--out", "-o", help="Results directory (removed again if nothing ran)."
    ),
    repeats: int = _REPEATS,
    tasks_per_domain: int | None = _TASKS_PER,
    include_train: bool = _TRAIN,
    max_steps: int | None = _MAX_STEPS,
    memory_steps: int | None = _MEMORY,
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
) -> None:
    """Evaluate one method (or a stored library with the Act agent) on test tasks."""
    preset, tag = (None, "")
    if store is not None:
        if method not in (None, "learnact"):
            console.print("using the stored actions: method is learnact (with the library)")
        method = "learnact"
        preset, tag = _preset(store, _library_prefix(domain, prefix), domain)
    config = _config(
        methods=[method or "act"],
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
        max_tokens=max_tokens,
        timeout=timeout,
        base_url=base_url,
        on_error=on_error,
        executor=executor,
        ray_address=ray_address_for(typer_ctx, executor, ray_address),
        workers=ray_workers,
    )
    summary = run_with_progress(
        config,
        model=_model(model, "agent", replay),
        out=out,
        preset=preset,
        invocation={"argv": sys.argv[1:]},
        recording=open_recording(record, replay),
    )
    _write_report(out, summary.settings_hash, include_train, model == SCRIPTED_SPEC)
