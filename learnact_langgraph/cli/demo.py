"""``learnact demo``: the main job of ``make demo``, a small learning run you can watch.

It learns actions on three generated gripper tasks, printing each step of the loop as
it happens (the candidates drawn, their scores on each training task, the failed call
and its error feedback, the revision, the score before and after, the release), then
lets the agent play a held-out task with what was learned. No data download is needed.

The model is ``--model`` or ``$LEARNACT_MODEL``, and ``scripted`` (the offline
stand-in, see :mod:`learnact_langgraph.testing`) when neither is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from learnact_langgraph.cli.learning_view import LearningView
from learnact_langgraph.cli.options import count_option
from learnact_langgraph.episode import SimpleAction, Trajectory, run_episode
from learnact_langgraph.models import MODEL_ENV_VAR, SCRIPTED

console = Console(highlight=False)
TRAIN_TASKS = 3


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


def _intro(model: Any, size: int, seed: int, out: Console) -> list[str]:
    env = _env(size, TRAIN_TASKS + 1, seed)
    tasks = [t.id for t in env.tasks()]
    if model == SCRIPTED:
        out.print(
            "[yellow]Models: scripted, an offline stand-in that plays every role by rule "
            "(not an LLM). It shows the learning loop working, not a model's skill.[/yellow]"
        )
        out.print(
            "For a real model: [bold]learnact demo --model openai:gpt-4o-mini[/bold] (any "
            f"init_chat_model string), or set {MODEL_ENV_VAR}."
        )
    else:
        out.print(f"Model: {escape(str(model))}")
    env.reset(0)
    out.print(
        f"\nTasks: generated gripper problems with {size} balls (seed {seed}). Training on "
        f"{', '.join(tasks[:TRAIN_TASKS])}; {tasks[TRAIN_TASKS]} is held out."
    )
    out.print(f"[bold]Goal of {tasks[0]}:[/bold] {escape(env.goal)}")
    out.print(f"[bold]Start state:[/bold] {escape(env.observation)}")
    return tasks


def run_demo(
    model: Any = SCRIPTED,
    *,
    k: int = 4,
    rounds: int = 2,
    size: int = 4,
    seed: int = 0,
    out: Console = console,
) -> DemoResult:
    """Learn on three generated gripper tasks, watching the loop, then play a fourth."""
    from langgraph.store.memory import InMemoryStore

    from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
    from learnact_langgraph.library import ActionLibrary
    from learnact_langgraph.models import resolve_model
    from learnact_langgraph.sandbox import Sandbox

    chat = resolve_model(model, temperature=0) if isinstance(model, str) else model
    tasks = _intro(model, size, seed, out)
    view = LearningView(out, tasks[:TRAIN_TASKS])
    ctx = LearnerContext(
        env="gripper",
        tasks="generated",
        learner_model=model,
        agent_model=model,
        k=k,
        rounds=rounds,
        seed=seed,
        library=ActionLibrary(InMemoryStore(), prefix=("demo", "gripper")),
        env_factory=lambda: _env(size, TRAIN_TASKS + 1, seed),
        train_task_ids=tasks[:TRAIN_TASKS],
    )
    final: dict[str, Any] = {}
    for mode, chunk in learner_graph().stream({}, context=ctx, stream_mode=["updates", "values"]):
        if mode == "values":
            final = chunk
            continue
        for node, update in chunk.items():
            view.update(node, update)
    release = final.get("release")
    usage = final.get("usage", {})
    out.print(
        f"Learning cost: {usage.get('calls', 0)} model calls, {usage.get('input_tokens', 0)} "
        f"input / {usage.get('output_tokens', 0)} output tokens."
    )
    if not release:
        return DemoResult(final, view, None)
    out.rule(f"[bold]Held-out task {tasks[TRAIN_TASKS]} with the learned actions")
    env = _env(size, TRAIN_TASKS + 1, seed)
    actions = [
        SimpleAction(a["name"], a["source"], a["signature"], a["description"], tuple(a["notes"]))
        for a in release["actions"].values()
    ]
    with Sandbox(env) as sandbox:
        sandbox.load({a.name: a.source for a in actions})
        traj = run_episode(
            env,
            sandbox,
            chat,
            TRAIN_TASKS,
            actions=actions,
            usage_examples=release["usage_examples"],
        )
    show_episode(traj, f"{tasks[TRAIN_TASKS]} (held out)", out)
    return DemoResult(final, view, traj)


def demo(
    model: str = typer.Option(
        SCRIPTED,
        "--model",
        envvar=MODEL_ENV_VAR,
        help="init_chat_model string (e.g. openai:gpt-4o-mini); 'scripted' is the offline "
        "stand-in.",
    ),
    k: int = count_option(4, "--k", help="Candidate action sets sampled per round."),
    rounds: int = count_option(
        2, "--rounds", help="Revision rounds", minimum=0, zero="keep the best first draft"
    ),
    size: int = count_option(4, "--size", help="Balls per generated gripper task."),
    seed: int = typer.Option(0, "--seed", help="Seed of the task generator and the samples."),
) -> None:
    """Watch a small learning run on generated gripper tasks, then a held-out task."""
    result = run_demo(model or SCRIPTED, k=k, rounds=rounds, size=size, seed=seed)
    if result.held_out is None:
        console.print(
            f"[red]No action set survived the checks, so nothing was published (status: "
            f"{result.learning.get('status')}); try more candidates with --k.[/red]"
        )
        raise typer.Exit(1)
    if not result.held_out.success:
        raise typer.Exit(1)
