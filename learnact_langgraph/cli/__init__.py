"""The ``learnact`` command line.

Each sub-command group lives in its own module exposing a ``typer.Typer`` named ``app``
and is registered below with one ``add_typer`` line, so adding ``cli/library.py`` or
``cli/demo.py`` touches nothing else. Errors the package raises on purpose
(:class:`LearnActError`) become one red line on stderr and exit code 2; anything else is
a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from learnact_langgraph import __version__
from learnact_langgraph.cli import bench, data, demo, learn, library
from learnact_langgraph.errors import LearnActError

#: Exit code of a command that failed with a :class:`LearnActError`.
USER_ERROR_EXIT = 2


class _FriendlyErrors(TyperGroup):
    """Turn :class:`LearnActError` from any sub-command into one red line and exit 2."""

    def invoke(self, ctx: Any) -> Any:  # a typer Context; its class is private
        try:
            return super().invoke(ctx)
        except LearnActError as exc:
            Console(stderr=True).print(
                f"[red]Error: {escape(str(exc))}[/red]", soft_wrap=True, highlight=False
            )
            raise typer.Exit(USER_ERROR_EXIT) from None


app = typer.Typer(
    cls=_FriendlyErrors,
    help="LearnAct for LangGraph: agents that learn new actions from failed tasks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"learnact-langgraph {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        help="Show the version and exit.",
        callback=_show_version,
        is_eager=True,
    ),
    config: str | None = typer.Option(
        None,
        "--config",
        envvar=bench.CONFIG_ENV_VAR,
        help=f"TOML settings file (default: ./{bench.DEFAULT_CONFIG} when present); "
        "flags and environment variables win over it.",
    ),
) -> None:
    """LearnAct for LangGraph: agents that learn new actions from failed tasks."""
    ctx.default_map = bench.default_map(bench.load_config(config), list(app_commands(ctx)))


def app_commands(ctx: typer.Context) -> list[str]:
    return list(getattr(ctx.command, "commands", {}))


app.add_typer(data.app, name="data")
app.add_typer(library.app, name="library")
app.command("demo")(demo.demo)
app.command("bench")(bench.bench)
app.command("report")(bench.report)
app.command("learn")(learn.learn)
app.command("eval")(learn.eval_)


def main() -> None:
    """Entry point of the ``learnact`` console script."""
    app(prog_name="learnact")
