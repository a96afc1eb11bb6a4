"""The ``learnact`` command line.

Each sub-command group lives in its own module exposing a ``typer.Typer`` named ``app``
and is registered below with one ``add_typer`` line, so adding ``cli/library.py`` or
``cli/demo.py`` touches nothing else. Errors the package raises on purpose
(:class:`LearnActError`) and usage errors (unknown options, bad numbers; see
:mod:`learnact_langgraph.cli.options`) become one red line on stderr and exit code 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

try:  # typer >= 0.29 vendors click; older versions raise click's own exceptions
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError  # type: ignore[assignment]

from learnact_langgraph import __version__
from learnact_langgraph.cli import bench, data, db, demo, evaluate, learn, library, local_model
from learnact_langgraph.errors import LearnActError

#: Exit code of a command that failed with a :class:`LearnActError`.
USER_ERROR_EXIT = 2


def _say(message: str) -> None:
    """Print ``message`` as one red line on stderr (newlines and runs of spaces folded)."""
    Console(stderr=True).print(
        f"[red]Error: {escape(' '.join(message.split()))}[/red]", soft_wrap=True, highlight=False
    )


def usage_line(exc: UsageError) -> str:
    """A click usage error as one sentence that points at the right ``--help``."""
    text = " ".join(exc.format_message().split())
    if text and text[-1] not in ".?!":
        text += "."
    ctx = exc.ctx
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        text += f" See '{ctx.command_path} {ctx.help_option_names[0]}'."
    return text


def _is_help_request(exc: UsageError) -> bool:
    """Whether ``exc`` is click's "no arguments, show the help" signal (matched by name,
    as typer does, since older click versions lack the class)."""
    return type(exc).__name__ == "NoArgsIsHelpError"


class _FriendlyErrors(TyperGroup):
    """One red line and exit 2 for user errors from any sub-command; no traceback, no box.

    Two kinds are user errors: :class:`LearnActError` (raised by the package on
    purpose) and click's usage errors (an unknown option, a non-integer, a count below
    its minimum). Click raises the latter while parsing: the root's own options in
    :meth:`make_context`, a sub-command's inside the root's :meth:`invoke`, so these
    two hooks see every one before typer would draw its rich error panel. Asking for
    help with no arguments (``NoArgsIsHelpError``) is not an error and passes through.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except UsageError as exc:
            if _is_help_request(exc):
                raise
            _say(usage_line(exc))
            raise typer.Exit(USER_ERROR_EXIT) from None

    def invoke(self, ctx: Any) -> Any:  # a typer Context; its class is private
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if _is_help_request(exc):
                raise
            _say(usage_line(exc))
            raise typer.Exit(USER_ERROR_EXIT) from None
        except LearnActError as exc:
            _say(str(exc))
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
app.add_typer(
    db.app, name="db", help="Set up a PostgreSQL database for shared libraries and run checkpoints."
)
app.add_typer(local_model.app, name="local-model")
app.command("demo")(demo.demo)
app.command("bench")(bench.bench)
app.command("report")(bench.report)
app.command("learn")(learn.learn)
app.command("eval")(evaluate.eval_)


def main() -> None:
    """Entry point of the ``learnact`` console script."""
    app(prog_name="learnact")
