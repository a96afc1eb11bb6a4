"""``learnact demo``: the main job of ``make demo``, a small learning run you can watch.

It learns actions on generated gripper tasks, printing each step of the loop as it
happens (the candidates drawn and why any were dropped, their scores on each training
task, the failed call and its error feedback, the revision, the score before and after,
the release), exports the library, then lets the agent play a held-out task with what
was learned. No data download is needed.

The model is ``--model`` or ``$LEARNACT_MODEL``, else ``local``: the small model of
``learnact local-model serve``, set up on first use and stopped again afterwards.
``--scripted`` uses the offline stand-in (see :mod:`learnact_langgraph.testing`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from learnact_langgraph.cli.bench import (
    _BASE_URL,
    _MAX_TOKENS,
    _RECORD,
    _REPLAY,
    _TIMEOUT,
    on_error_option,
)
from learnact_langgraph.cli.learning_view import LearningView
from learnact_langgraph.cli.options import count_option
from learnact_langgraph.episode import AgentSettings, SimpleAction, Trajectory, run_episode
from learnact_langgraph.models import (
    LOCAL,
    MODEL_ENV_VAR,
    SCRIPTED,
    ModelSettings,
    model_id,
    resolve_roles,
)
from learnact_langgraph.models.recording import Recording, open_recording
from learnact_langgraph.sandbox.types import OnError

console = Console(highlight=False)
TRAIN_TASKS = 3

if TYPE_CHECKING:
    from collections.abc import Iterator

    from langchain_core.runnables import RunnableConfig


def _env(size: int, n: int, seed: int) -> Any:
    from learnact_langgraph.envs.pddl import load_env

    return load_env("gripper", tasks="generated", n=n, size=size, seed=seed)


def show_episode(traj: Trajectory, title: str, out: Console = console) -> None:
    table = Table(title=title, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("action")
    table.add_column("valid")
    table.add_column("kind")
    for i, step in enumerate(traj.steps, 1):
        table.add_row(str(i), escape(step.action), "yes" if step.valid else "no", step.kind)
    out.print(table)
    verdict = "[green]solved[/green]" if traj.success else "[red]not solved[/red]"
    out.print(
        f"{traj.task_id}: {verdict}, progress {traj.progress:.2f}, "
        f"{len(traj.steps)} steps, {traj.seconds:.2f}s"
    )


@dataclass
class DemoResult:
    """What a demo run produced: the learning run's final state and the held-out episode."""

    learning: dict[str, Any]
    view: LearningView
    held_out: Trajectory | None


@dataclass(frozen=True)
class DemoSize:
    """How big the demo's learning run is: a CPU model gets a smaller one."""

    k: int
    rounds: int
    size: int
    train_tasks: int
    train_steps: int
    test_steps: int
    max_attempts: int
    concurrency: int | None = None


#: For the scripted stand-in and hosted models.
FULL = DemoSize(k=4, rounds=2, size=4, train_tasks=3, train_steps=10, test_steps=30, max_attempts=4)
#: For the local 1.5B model on a CPU: every call takes seconds, and the server serves one
#: request at a time (one branch at a time keeps its prompt cache warm).
SMALL = DemoSize(
    k=2,
    rounds=1,
    size=2,
    train_tasks=2,
    train_steps=6,
    test_steps=10,
    max_attempts=3,
    concurrency=1,
)

LOCAL_NOTE = (
    "This is a demonstration of the loop, not of a method: a 1.5B model on a CPU rarely "
    "writes working actions or solves tasks. For real results use a capable model, e.g. "
    "[bold]learnact demo --model openai:gpt-4o-mini[/bold] (any init_chat_model string, "
    "or openai:<name>@<url> for an OpenAI-compatible server)."
)


def _intro(model: Any, plan: DemoSize, seed: int, out: Console) -> list[str]:
    env = _env(plan.size, plan.train_tasks + 1, seed)
    tasks = [t.id for t in env.tasks()]
    if model == SCRIPTED:
        out.print(
            "[yellow]Models: scripted, an offline stand-in that plays every role by rule "
            "(not an LLM). It shows the learning loop working, not a model's skill.[/yellow]"
        )
        out.print(
            "For a real model: [bold]learnact demo[/bold] (the local model) or "
            "[bold]--model openai:gpt-4o-mini[/bold] (any init_chat_model string), or set "
            f"{MODEL_ENV_VAR}."
        )
    else:
        out.print(f"Model: {escape(str(model))}")
        if model == LOCAL:
            out.print(f"[yellow]{LOCAL_NOTE}[/yellow]")
    env.reset(0)
    n = plan.train_tasks
    out.print(
        f"\nTasks: generated gripper problems with {plan.size} balls (seed {seed}). Training "
        f"on {', '.join(tasks[:n])}; {tasks[n]} is held out. K={plan.k} candidates, "
        f"{plan.rounds} revision round(s), {plan.train_steps} steps per training episode."
    )
    out.print(f"[bold]Goal of {tasks[0]}:[/bold] {escape(env.goal)}")
    out.print(f"[bold]Start state:[/bold] {escape(env.observation)}")
    return tasks


def run_demo(
    model: Any = SCRIPTED,
    *,
    plan: DemoSize = FULL,
    seed: int = 0,
    settings: ModelSettings | None = None,
    recording: Recording | None = None,
    export: Path | None = None,
    out: Console = console,
    on_error: OnError = "restore",
) -> DemoResult:
    """Learn on generated gripper tasks, watching the loop, then play a held-out one."""
    from langgraph.store.memory import InMemoryStore

    from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
    from learnact_langgraph.library import ActionLibrary
    from learnact_langgraph.sandbox import Sandbox

    chat, learner = resolve_roles(model, None, settings=settings, recording=recording)
    tasks = _intro(model if isinstance(model, str) else model_id(chat), plan, seed, out)
    n = plan.train_tasks
    view = LearningView(out, tasks[:n])
    library = ActionLibrary(InMemoryStore(), prefix=("demo", "gripper"))
    ctx = LearnerContext(
        env="gripper",
        tasks="generated",
        learner_model=learner,
        agent_model=chat,
        k=plan.k,
        rounds=plan.rounds,
        train_steps=plan.train_steps,
        max_attempts=plan.max_attempts,
        sample_concurrency=plan.concurrency or 4,
        seed=seed,
        library=library,
        env_factory=lambda: _env(plan.size, n + 1, seed),
        train_task_ids=tasks[:n],
        on_error=on_error,
    )
    config: RunnableConfig = {"max_concurrency": plan.concurrency} if plan.concurrency else {}
    final: dict[str, Any] = {}
    stream = cast(  # several stream modes: (mode, chunk) pairs
        "Iterator[tuple[str, Any]]",
        learner_graph().stream({}, config, context=ctx, stream_mode=["updates", "values"]),
    )
    for mode, chunk in stream:
        if mode == "values":
            final = chunk
            continue
        for node, update in chunk.items():
            view.update(node, update)
    release = final.get("release")
    usage = final.get("usage", {})
    out.print(
        f"Learning cost: {usage.get('calls', 0)} model calls, {usage.get('input_tokens', 0)} "
        f"input / {usage.get('output_tokens', 0)} output tokens, "
        f"{usage.get('seconds', 0.0):.0f} s in model calls."
    )
    if not release:
        return DemoResult(final, view, None)
    if export is not None:
        from learnact_langgraph.library_export import export_manifest

        export.write_text(export_manifest(library), encoding="utf-8")
        out.print(f"Exported the library (every version, with provenance) to {export}.")
    out.rule(f"[bold]Held-out task {tasks[n]} with the learned actions")
    env = _env(plan.size, n + 1, seed)
    actions = [
        SimpleAction(a["name"], a["source"], a["signature"], a["description"], tuple(a["notes"]))
        for a in release["actions"].values()
    ]
    with Sandbox(env, on_error=on_error) as sandbox:
        sandbox.load({a.name: a.source for a in actions})
        traj = run_episode(
            env,
            sandbox,
            chat,
            n,
            actions=actions,
            settings=AgentSettings(max_steps=plan.test_steps),
            usage_examples=release["usage_examples"],
        )
    show_episode(traj, f"{tasks[n]} (held out)", out)
    return DemoResult(final, view, traj)


_EXPORT = typer.Option(
    Path("demo-library.json"), "--export", help="Where to write the learned library."
)


def _default_model(model: str, scripted: bool, recording: Recording | None) -> str:
    """``--scripted``, else ``--model``, else what a replayed run used, else ``local``."""
    if scripted:
        return SCRIPTED
    if model:
        return model
    if recording is not None and recording.mode == "replay":
        from learnact_langgraph.local_model import MODEL_ALIAS

        recorded = recording.model_for("agent")
        return LOCAL if f":{MODEL_ALIAS}@" in recorded else recorded
    return LOCAL


def demo(
    model: str = typer.Option(
        "",
        "--model",
        envvar=MODEL_ENV_VAR,
        help="'local' (the default: a small model served on this machine, set up on first "
        "use), an init_chat_model string (e.g. openai:gpt-4o-mini), or 'scripted'.",
    ),
    scripted: bool = typer.Option(
        False, "--scripted", help="Use the offline scripted stand-in: no model, seconds."
    ),
    k: int | None = count_option(None, "--k", help="Candidate action sets sampled per round."),
    rounds: int | None = count_option(
        None, "--rounds", help="Revision rounds", minimum=0, zero="keep the best first draft"
    ),
    size: int | None = count_option(None, "--size", help="Balls per generated gripper task."),
    seed: int = typer.Option(0, "--seed", help="Seed of the task generator and the samples."),
    max_tokens: int | None = _MAX_TOKENS,
    timeout: float | None = _TIMEOUT,
    base_url: str | None = _BASE_URL,
    on_error: str = on_error_option("restore"),
    record: str | None = _RECORD,
    replay: str | None = _REPLAY,
    export: Path = _EXPORT,
) -> None:
    """Watch a small learning run on generated gripper tasks, then a held-out task.

    Sizes default to a small run for the local model and a fuller one otherwise.
    """
    recording = open_recording(record, replay)
    name = _default_model(model, scripted, recording)
    plan = SMALL if name == LOCAL else FULL
    plan = replace(
        plan,
        k=plan.k if k is None else k,
        rounds=plan.rounds if rounds is None else rounds,
        size=plan.size if size is None else size,
    )
    settings = ModelSettings(max_tokens, timeout, base_url)
    started = False
    if name == LOCAL and (recording is None or recording.mode == "record"):
        started = _serve_local()
    try:
        result = run_demo(
            name,
            plan=plan,
            seed=seed,
            settings=settings,
            recording=recording,
            export=export,
            on_error=on_error,  # type: ignore[arg-type]
        )
    finally:
        if started:
            from learnact_langgraph import local_model

            local_model.stop_server()
            console.print("Stopped the local model server this demo started.")
    _verdict(result, strict=name == SCRIPTED)


def _serve_local() -> bool:
    """Start the local model server (setting it up the first time); whether we started it."""
    from learnact_langgraph import local_model
    from learnact_langgraph.cli.local_model import RichProgress

    with RichProgress() as progress:
        return local_model.ensure_server(progress).started


def _verdict(result: DemoResult, *, strict: bool) -> None:
    """Exit status: the scripted run must solve the held-out task; a real model's run
    only has to finish, since a small model often can't (the output says what happened)."""
    if result.held_out is None:
        status = result.learning.get("status")
        what = (
            "The best action set was withheld: every one of its calls failed on the training "
            "tasks, so it is published only with a person's approval."
            if status == "withheld"
            else f"No action set survived the checks, so nothing was published (status: "
            f"{status}); the reasons are listed above."
        )
        console.print(f"[red]{what} Try more candidates with --k, or a stronger model.[/red]")
        if strict:
            raise typer.Exit(1)
        return
    if not result.held_out.success and strict:
        raise typer.Exit(1)
    if not result.held_out.success:
        console.print(
            "[yellow]The loop ran end to end; the held-out task was not solved, which is "
            "what to expect of a small model. For real results use a capable one, e.g. "
            "--model openai:gpt-4o-mini.[/yellow]"
        )
