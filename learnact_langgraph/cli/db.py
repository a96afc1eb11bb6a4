"""``learnact db``: set up a PostgreSQL database for shared libraries and run checkpoints.

Commands that use a PostgreSQL database never create tables in it on their own: a
database is shared, and its owner decides when its layout changes. ``learnact db setup
URL`` creates (or upgrades) the LangGraph checkpoint tables that ``learnact learn
--checkpoint URL`` needs and the store tables of ``--store URL``, once; running it
again changes nothing.
"""

from __future__ import annotations

import typer

from learnact_langgraph.checkpoints import (
    CHECKPOINTS_ENV_VAR,
    describe_checkpoints,
    is_checkpoint_url,
    setup_checkpoints,
)
from learnact_langgraph.errors import LearnActError

__all__ = ["app", "setup"]

app = typer.Typer(
    help="Set up a PostgreSQL database for shared libraries and run checkpoints.",
    no_args_is_help=True,
)


@app.command("setup")
def setup(
    url: str = typer.Argument(
        ...,
        envvar=CHECKPOINTS_ENV_VAR,
        metavar="URL",
        show_default=False,
        help=f"postgresql:// URL of the database (default: ${CHECKPOINTS_ENV_VAR}).",
    ),
) -> None:
    """Create the checkpoint and library store tables in a PostgreSQL database.

    Safe to run again: tables that exist are kept, and an older layout is upgraded.
    """
    from learnact_langgraph.cli.stores import open_store

    if not is_checkpoint_url(url):
        raise LearnActError(
            f"{url} is not a postgresql:// URL; only a PostgreSQL database needs setting up "
            "(SQLite files are created when a command first uses them)."
        )
    setup_checkpoints(url)
    with open_store(url, "create"):
        pass
    typer.echo(
        f"{describe_checkpoints(url)} is ready for run checkpoints (--checkpoint) and "
        "action libraries (--store)."
    )
