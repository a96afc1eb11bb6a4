"""``learnact demo``: the main job of ``make demo``.

With a model (``--model`` or ``$LEARNACT_MODEL``) it runs a real learning run on
generated gripper tasks and then lets the agent use the learned actions on a held-out
task. Without one it says how to set a model and plays an offline episode: a
generated gripper task, one learned action run in the sandbox, and a scripted player
standing in for the LLM. Neither path needs a data download.
"""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from learnact_langgraph.episode import AgentSettings, SimpleAction, Trajectory, run_episode
from learnact_langgraph.models import MODEL_ENV_VAR

console = Console()

CARRY_BALL = '''def carry_ball(ball, from_room, to_room, gripper):
    """Carry ball from from_room to to_room in gripper; Robby must start in from_room."""
    pick(ball, from_room, gripper)
    move(from_room, to_room)
    return drop(ball, to_room, gripper)'''


def _env(size: int, n: int, seed: int) -> Any:
    from learnact_langgraph.envs.pddl import load_env

    return load_env("gripper", tasks="generated", n=n, size=size, seed=seed)


def _show(traj: Trajectory, title: str) -> None:
    table = Table(title=title, show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("action")
    table.add_column("valid")
    table.add_column("kind")
    for i, step in enumerate(traj.steps, 1):
        table.add_row(str(i), step.action, "yes" if step.valid else "no", step.kind)
    console.print(table)
    verdict = "[green]solved[/green]" if traj.success else "[red]not solved[/red]"
    console.print(
        f"{traj.task_id}: {verdict}, progress {traj.progress:.2f}, "
        f"{len(traj.steps)} steps, {traj.seconds:.2f}s"
    )


def offline_episode(size: int = 4, seed: int = 0) -> Trajectory:
    """A real episode with no model and no data: scripted player, sandboxed learned action."""
    from learnact_langgraph.envs.pddl.scripted import gripper_policy
    from learnact_langgraph.sandbox import Sandbox
    from learnact_langgraph.testing import scripted

    env = _env(size, 1, seed)
    action = SimpleAction(
        "carry_ball",
        CARRY_BALL,
        "carry_ball(ball, from_room, to_room, gripper)",
        "Carry ball from from_room to to_room in gripper.",
    )
    player = scripted(lambda msgs: gripper_policy(str(msgs[-1].content)), name="scripted-player")
    with Sandbox(env) as sandbox:
        sandbox.load({action.name: action.source})
        return run_episode(
            env, sandbox, player, 0, actions=[action], settings=AgentSettings(max_steps=30)
        )


def learning_run(model: Any, k: int, rounds: int, size: int, seed: int) -> dict[str, Any]:
    from langgraph.store.memory import InMemoryStore

    from learnact_langgraph.graphs.learner import LearnerContext, learner_graph
    from learnact_langgraph.library import ActionLibrary

    library = ActionLibrary(InMemoryStore(), prefix=("demo", "gripper"))
    ctx = LearnerContext(
        env="gripper",
        tasks="generated",
        learner_model=model,
        agent_model=model,
        k=k,
        rounds=rounds,
        seed=seed,
        library=library,
        env_factory=lambda: _env(size, 4, seed),
        train_task_ids=[f"gripper/gen-{seed}-{size}-{i}" for i in range(3)],
    )
    start = time.perf_counter()
    result: dict[str, Any] = learner_graph().invoke({}, context=ctx)
    console.print(f"learning run: {result['status']} in {time.perf_counter() - start:.1f}s")
    return result


def demo(
    model: str = typer.Option(
        "", "--model", envvar=MODEL_ENV_VAR, help="init_chat_model string, e.g. openai:gpt-4o-mini."
    ),
    k: int = typer.Option(4, help="Candidate action sets sampled per round."),
    rounds: int = typer.Option(2, help="Revision rounds."),
    size: int = typer.Option(4, help="Balls per generated gripper task."),
    seed: int = typer.Option(0, help="Seed of the task generator and the samples."),
) -> None:
    """Learn actions on generated gripper tasks (with a model), or play one offline."""
    if not model:
        console.print(
            f"[yellow]No model configured: set {MODEL_ENV_VAR} to an init_chat_model "
            "string (for example openai:gpt-4o-mini) to run a real learning run.[/yellow]"
        )
        console.print(
            "Meanwhile, an offline episode: a generated gripper task, the learned "
            "action carry_ball run in the sandbox, a scripted player instead of an LLM."
        )
        traj = offline_episode(size, seed)
        _show(traj, "offline episode")
        if not traj.success:
            raise typer.Exit(1)
        return
    if learning_demo(model, k=k, rounds=rounds, size=size, seed=seed) is None:
        raise typer.Exit(1)


def learning_demo(
    model: Any, *, k: int = 4, rounds: int = 2, size: int = 4, seed: int = 0
) -> Trajectory | None:
    """Learn on three generated tasks, then play a fourth with the learned actions."""
    from learnact_langgraph.models import resolve_model
    from learnact_langgraph.sandbox import Sandbox

    result = learning_run(model, k, rounds, size, seed)
    release = result.get("release")
    if not release:
        console.print("[red]No action set survived the checks; nothing was published.[/red]")
        return None
    for action in release["actions"].values():
        console.print(f"[bold]{action['signature']}[/bold]: {action['description']}")
    console.print(f"scores: {release['stats']}")
    usage = result["usage"]
    console.print(
        f"LLM usage: {usage.get('calls')} calls, {usage.get('input_tokens')} input / "
        f"{usage.get('output_tokens')} output tokens"
    )
    env = _env(size, 4, seed)
    actions = [
        SimpleAction(a["name"], a["source"], a["signature"], a["description"], tuple(a["notes"]))
        for a in release["actions"].values()
    ]
    chat = resolve_model(model, temperature=0) if isinstance(model, str) else model
    with Sandbox(env) as sandbox:
        sandbox.load({a.name: a.source for a in actions})
        traj = run_episode(
            env, sandbox, chat, 3, actions=actions, usage_examples=release["usage_examples"]
        )
    _show(traj, "held-out task with the learned actions")
    return traj
