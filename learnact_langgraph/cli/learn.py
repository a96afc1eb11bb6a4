"""``learnact learn`` and ``learnact eval``: one learning run into a library, one evaluation.

Both are thin: ``learn`` streams the learner graph into a SQLite (or PostgreSQL) action
library, checkpointed in a SQLite file or a PostgreSQL database (see
:mod:`learnact_langgraph.checkpoints`); ``eval`` is a one-method bench (see
:mod:`learnact_langgraph.cli.bench`) that can test a stored library's actions with the
Act agent instead of learning.
"""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from learnact_langgraph.checkpoints import (
    CHECKPOINTS_ENV_VAR,
    describe_checkpoints,
    is_checkpoint_url,
    open_checkpointer,
)
from learnact_langgraph.cli.bench import (
    _BASE_URL,
    _DATA,
    _EXECUTOR,
    _K,
    _LEARNER,
    _MAX_TOKENS,
    _MEMORY,
    _MODEL,
    _RAY_ADDRESS,
    _RAY_WORKERS,
    _RECORD,
    _REPLAY,
    _ROUNDS,
    _SEED,
    _TASKS,
    _TIMEOUT,
    _TRAIN_STEPS,
    INTERRUPTED_EXIT,
    _model,
    console,
    on_error_option,
)
from learnact_langgraph.cli.library import PREFIX_OPTION as _PREFIX
from learnact_langgraph.cli.options import ray_address_for
from learnact_langgraph.cli.stores import default_store, describe_store, open_library
from learnact_langgraph.errors import LearnActError
from learnact_langgraph.library import default_prefix
from learnact_langgraph.models import resolve_roles
from learnact_langgraph.models.recording import open_recording

if TYPE_CHECKING:
    from collections.abc import Iterator

    from langchain_core.runnables import RunnableConfig

    from learnact_langgraph.graphs.learner_state import LearnerState
    from learnact_langgraph.graphs.resumable import RunState


def learn(
    typer_ctx: typer.Context,
    domain: str = typer.Option("gripper", "--domain", "-d", help="Domain to learn actions for."),
    model: str = _MODEL,
    learner_model: str = _LEARNER,
    store: str | None = typer.Option(
        None,
        "--store",
        envvar="LEARNACT_LIBRARY",
        help="SQLite library file (created if missing) or postgresql:// URL "
        "(default: $LEARNACT_LIBRARY or the user data dir).",
    ),
    prefix: str | None = _PREFIX,
    k: int = _K,
    rounds: int = _ROUNDS,
    train_steps: int | None = _TRAIN_STEPS,
    memory_steps: int | None = _MEMORY,
    seed: int = _SEED,
    tasks: str = _TASKS,
    data_dir: str | None = _DATA,
    max_tokens: int | None = _MAX_TOKENS,
    timeout: float | None = _TIMEOUT,
    base_url: str | None = _BASE_URL,
    on_error: str = on_error_option("restore"),
    executor: str = _EXECUTOR,
    ray_address: str | None = _RAY_ADDRESS,
    ray_workers: int = _RAY_WORKERS,
    record: str | None = _RECORD,
    replay: str | None = _REPLAY,
    checkpoint: str | None = typer.Option(
        None,
        "--checkpoint",
        envvar=CHECKPOINTS_ENV_VAR,
        help="SQLite file or postgresql:// URL for the run's checkpoint (default: "
        f"${CHECKPOINTS_ENV_VAR}, else <library>.checkpoints.sqlite beside the library "
        "file). Running the same command again resumes an unfinished run from it; a "
        "database needs `learnact db setup URL` once.",
    ),
    thread: str | None = typer.Option(
        None,
        "--thread",
        help="Resume (or start) the run with this id instead of the one derived from the "
        "settings, e.g. one that another machine started in a shared --checkpoint database.",
    ),
    no_checkpoint: bool = typer.Option(
        False, "--no-checkpoint", help="Keep no checkpoint: a stopped run starts over."
    ),
    fresh: bool = typer.Option(
        False,
        "--fresh",
        help="Start over even if an unfinished run with these settings (or --thread) exists.",
    ),
) -> None:
    """Learn actions on the domain's training tasks and publish them to a library.

    Models and training tasks are checked before the store is opened, and a store
    file this command creates is removed again if it fails, so a bad --model or a
    missing data directory leaves nothing behind. The run is checkpointed (except with
    --record/--replay, which need whole runs): if it stops (a model still down after
    its retries, Ctrl-C, a killed process), the same command resumes it where it
    stopped, and its release is published once. With a PostgreSQL --checkpoint, another
    machine resumes it with the same --checkpoint and the --thread id printed at the start.
    """
    from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
    from learnact_langgraph.graphs.resumable import (
        has_checkpoints,
        pick_thread,
        remove_if_empty,
        thread_for,
    )
    from learnact_langgraph.graphs.sessions import training_tasks
    from learnact_langgraph.models import model_id

    where = prefix or default_prefix(domain)
    if executor != "local" and (record or replay):
        raise LearnActError(
            "A recorded or replayed run uses the local executor only (the recording is one "
            "file here); leave --executor at local."
        )
    agent = _model(model, "agent", replay)
    ctx = LearnerContext(
        env=domain,
        tasks=tasks,  # type: ignore[arg-type]
        data_dir=data_dir,
        k=k,
        rounds=rounds,
        train_steps=train_steps,
        memory_steps=memory_steps,
        seed=seed,
        max_tokens=max_tokens,
        timeout=timeout,
        base_url=base_url,
        on_error=on_error,  # type: ignore[arg-type]
        executor=executor,  # type: ignore[arg-type]
        ray_address=ray_address_for(typer_ctx, executor, ray_address),
        ray_workers=ray_workers,
    )
    agent_chat, learner_chat = resolve_roles(
        agent,
        _model(learner_model, "learner") if learner_model else None,
        settings=ctx.model_settings(),
        learner_temperature=ctx.temperature,
        recording=open_recording(record, replay),
    )
    ctx = replace(ctx, learner_model=learner_chat, agent_model=agent_chat)
    training_tasks(ctx)  # an unknown domain or missing data fails here, before any file
    target = store or default_store()
    settings = {
        "domain": domain,
        "store": describe_store(target),
        "prefix": where,
        "agent": model_id(agent_chat),
        "learner": model_id(learner_chat),
        **{
            f.name: getattr(ctx, f.name)
            for f in fields(ctx)
            if isinstance(getattr(ctx, f.name), str | int | float | None)
            and f.name not in _PLACEMENT
        },
    }
    saved = None if no_checkpoint or record or replay else (checkpoint or _beside(target))
    if thread is not None and not saved:
        raise LearnActError(
            f"--thread {thread} names a checkpointed run, but this run keeps no checkpoint; "
            "leave out --no-checkpoint (and --record/--replay) to use it."
        )
    with open_library(store, where, "create") as library, ExitStack() as stack:
        ctx = replace(ctx, library=library)
        if saved:
            stack.callback(remove_if_empty, saved)  # runs after the saver is closed
        saver = stack.enter_context(open_checkpointer(saved)) if saved else None
        graph = learner_graph(checkpointer=saver)
        config: RunnableConfig = {}
        start: LearnerState | None = {}
        if saver is not None and saved:
            base, shown = thread_for("learn", settings), describe_checkpoints(saved)
            run, state = pick_thread(graph, saver, base, thread, fresh=fresh, where=shown)
            start = _announce(run, state, saved)
            config = {"configurable": {"thread_id": run}}
        final: dict[str, Any] = {}
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())

        def resume_hint() -> str:
            if saved and has_checkpoints(saved):
                return (
                    f"; the run's checkpoint is kept in {describe_checkpoints(saved)}: run "
                    "the same command again to resume"
                )
            return "; nothing was published"

        with Progress(*columns, console=console) as progress:
            bar = progress.add_task("learning: create_actions", total=None)
            episodes = 0
            try:
                # Several stream modes: (mode, chunk) pairs.
                parts = cast(
                    "Iterator[tuple[str, Any]]",
                    graph.stream(
                        start,
                        config,
                        context=ctx,
                        stream_mode=["updates", "values"],
                        durability="sync" if saver is not None else None,
                    ),
                )
                for mode, chunk in parts:
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
                console.print(f"[yellow]Stopped{resume_hint()}.[/yellow]")
                raise typer.Exit(INTERRUPTED_EXIT) from None
            except LearnActError as exc:
                hint = resume_hint()
                if hint == "; nothing was published":
                    raise
                raise LearnActError(f"{str(exc).rstrip('.')}{hint}.") from exc
        if saver is not None:
            saver.delete_thread(config["configurable"]["thread_id"])
    release = final.get("release")
    if not release:
        why = next((e["reason"] for e in final.get("log", []) if e.get("node") == "publish"), "")
        raise LearnActError(
            f"No action set was published for {domain} (status: {final.get('status')}"
            f"{': ' + why if why else ''}); try more candidates (--k), more --rounds or "
            "another learner model."
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
        + (f", {usage['retries']} retried model errors" if usage.get("retries") else "")
    )
    console.print(
        f"published {len(release['actions'])} actions to {describe_store(target)} at prefix "
        f"{where} "
        f"(release {release['library_generation']}); see them with "
        f"`learnact library ls {_store_flags(store, where, domain)}`"
    )


#: Where episodes run: not part of a run's identity, so another executor may resume it.
_PLACEMENT = ("executor", "ray_address", "ray_workers")


def _announce(run: str, state: RunState, saved: str) -> LearnerState | None:
    """Say which run goes on, and where; the input to stream (``None`` resumes)."""
    where = describe_checkpoints(saved)
    if state.status == "unfinished":
        done = sum(1 for _ in state.values.get("results", {}))
        pending = Counter(state.next_nodes)
        nodes = ", ".join(f"{n} x{c}" if c > 1 else n for n, c in pending.items())
        console.print(
            f"resuming the unfinished run {run} from {where} (stopped before "
            f"{nodes}; {done} training episodes done)"
        )
        return None
    hint = f" (resume it elsewhere with --checkpoint {where} --thread {run})"
    console.print(f"checkpointing run {run} in {where}{hint if is_checkpoint_url(saved) else ''}")
    return {}


def _beside(target: str) -> str:
    """The default checkpoint file: beside a SQLite library, else in the user data dir."""
    from learnact_langgraph.cli.stores import is_postgres

    if is_postgres(target):
        return str(Path(default_store()).with_name("checkpoints.sqlite"))
    return f"{Path(target).expanduser()}.checkpoints.sqlite"


def _store_flags(store: str | None, prefix: str, domain: str) -> str:
    """The ``--store``/``--domain``/``--prefix`` flags that find a library again."""
    flags = [f"--store {describe_store(store)}"] if store else []
    flags.append(f"-d {domain}" if prefix == default_prefix(domain) else f"--prefix {prefix}")
    return " ".join(flags)
