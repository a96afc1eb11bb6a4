"""``learnact library``: look at, roll back, export and import a learned action library.

The library lives in a SQLite file by default (``$LEARNACT_LIBRARY`` or the user data
directory); ``--store postgresql://...`` uses a shared PostgreSQL database instead
(needs the ``postgres`` extra). ``--domain`` picks the library ``learnact learn``
wrote for that domain (``learnact/<domain>``); ``--prefix`` names any other one.
Commands that only look (ls, show, history, diff, releases, export) open the store
read-only and never create or change it; see :mod:`learnact_langgraph.cli.stores`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from learnact_langgraph.cli.options import count_argument, count_option
from learnact_langgraph.cli.stores import default_store, describe_store, open_library
from learnact_langgraph.errors import LearnActError, LibraryError
from learnact_langgraph.library import default_prefix

__all__ = ["PREFIX_OPTION", "app", "default_store", "library_prefix", "open_library"]

PREFIX_ENV_VAR = "LEARNACT_LIBRARY_PREFIX"

app = typer.Typer(
    help="Inspect, roll back, export and import learned action libraries.",
    no_args_is_help=True,
)

_STORE = typer.Option(
    None,
    "--store",
    help="SQLite file or postgresql:// URL (default: $LEARNACT_LIBRARY or the user data dir).",
)
_DOMAIN = typer.Option(
    "gripper",
    "--domain",
    "-d",
    help="Domain whose library to use: the one at prefix learnact/<domain>, where "
    "`learnact learn` publishes.",
)
#: ``--prefix``, shared with ``learn`` and ``eval`` so all of them honour the variable.
PREFIX_OPTION = typer.Option(
    None,
    "--prefix",
    envvar=PREFIX_ENV_VAR,
    help="Library inside the store, e.g. team/gripper (default: learnact/<domain>).",
)
_RELEASE_HELP = "0 = the empty release before anything was published"

_OUTPUT = typer.Option(None, "--output", "-o", help="File to write (default: stdout).")
_MANIFEST = typer.Argument(..., help="A JSON manifest from `learnact library export`.")


def library_prefix(domain: str, prefix: str | None) -> str:
    """``--prefix`` when given, else the domain's default (see :func:`default_prefix`)."""
    return prefix or default_prefix(domain)


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@app.command("ls")
def ls(
    store: str | None = _STORE,
    domain: str = _DOMAIN,
    prefix: str | None = PREFIX_OPTION,
    release: int | None = count_option(
        None, "--release", help="Show this release instead.", minimum=0, zero=_RELEASE_HELP
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the actions of the current (or a given) release."""
    where = library_prefix(domain, prefix)
    with open_library(store, where, "read") as lib:
        actions = lib.actions(release)
        gen = lib.generation if release is None else release
    if as_json:
        typer.echo(json.dumps([a.to_record() for a in actions], indent=2, sort_keys=True))
        return
    table = Table(title=f"{where} (release {gen}, {len(actions)} actions)")
    for col in ("name", "version", "signature", "description"):
        table.add_column(col)
    for a in actions:
        table.add_row(a.name, str(a.version), escape(a.signature), escape(a.description))
    _console().print(table)


@app.command()
def show(
    name: str,
    version: int | None = count_option(
        None, "--version", "-v", help="Version to show (default: the released one)."
    ),
    store: str | None = _STORE,
    domain: str = _DOMAIN,
    prefix: str | None = PREFIX_OPTION,
) -> None:
    """Print one action: signature, description, notes, provenance, scores and source."""
    with open_library(store, library_prefix(domain, prefix), "read") as lib:
        a = lib.get(name, version)
        status = lib.status(name)
    out = _console()
    out.print(
        f"[bold]{escape(a.signature)}[/bold]  v{a.version} (latest v{status.latest}"
        f"{', retired' if status.retired else ''})"
    )
    out.print(f"description: {escape(a.description)}")
    for note in a.notes:
        out.print(f"note: {escape(note)}")
    prov = a.provenance.model_dump(exclude_defaults=True)
    out.print(f"parent: {a.parent_version}  created: {a.created_at}")
    out.print(f"provenance: {escape(json.dumps(prov, sort_keys=True))}")
    out.print(f"scores: {escape(json.dumps(a.scores, sort_keys=True))}")
    out.print(escape(a.source), end="")


@app.command()
def history(
    name: str,
    store: str | None = _STORE,
    domain: str = _DOMAIN,
    prefix: str | None = PREFIX_OPTION,
) -> None:
    """Every version of an action, oldest first."""
    with open_library(store, library_prefix(domain, prefix), "read") as lib:
        versions = lib.history(name)
        released = lib.status(name).released
    table = Table(title=f"{name}: {len(versions)} versions")
    for col in ("version", "parent", "created", "run", "notes", "description"):
        table.add_column(col)
    for a in versions:
        mark = " *" if a.version == released else ""
        table.add_row(
            f"{a.version}{mark}",
            str(a.parent_version or "-"),
            a.created_at or "",
            a.provenance.run_id or "-",
            str(len(a.notes)),
            escape(a.description),
        )
    _console().print(table)
    _console().print("* = in the current release")


@app.command()
def diff(
    name: str,
    old: int = count_argument(..., help="The older version."),
    new: int | None = count_argument(None, help="The newer version (default: the released one)."),
    store: str | None = _STORE,
    domain: str = _DOMAIN,
    prefix: str | None = PREFIX_OPTION,
) -> None:
    """Unified diff between two versions of an action."""
    with open_library(store, library_prefix(domain, prefix), "read") as lib:
        text = lib.diff(name, old, new)
    typer.echo(text or "(no difference)", nl=not text)


@app.command()
def rollback(
    name: str | None = typer.Argument(None, help="Action to roll back (or use --release)."),
    to: int | None = count_option(None, "--to", help="Version whose content to publish again."),
    release: int | None = count_option(
        None, "--release", help="Restore a whole release.", minimum=0, zero=_RELEASE_HELP
    ),
    store: str | None = _STORE,
    domain: str = _DOMAIN,
    prefix: str | None = PREFIX_OPTION,
) -> None:
    """Publish an old version of one action, or the contents of an old release."""
    if not (release is not None and name is None and to is None) and not (
        name is not None and to is not None and release is None
    ):
        raise LibraryError("Give either NAME --to VERSION or --release GENERATION.")
    with open_library(store, library_prefix(domain, prefix), "write") as lib:
        if release is not None:
            rel = lib.rollback_release(release)
            typer.echo(f"release {rel.generation} now equals release {release}")
        else:
            assert name is not None and to is not None
            action = lib.rollback(name, to)
            typer.echo(f"{name}: v{action.version} published with the content of v{to}")


@app.command("releases")
def releases(
    store: str | None = _STORE,
    domain: str = _DOMAIN,
    prefix: str | None = PREFIX_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Every published release: generation, run, message and what changed."""
    where = library_prefix(domain, prefix)
    with open_library(store, where, "read") as lib:
        rows = lib.releases()
        current = lib.generation
    if as_json:
        typer.echo(json.dumps([r.to_record() for r in rows], indent=2, sort_keys=True))
        return
    table = Table(title=f"{where}: current release {current}")
    for col in ("release", "kind", "run", "created", "message", "changes"):
        table.add_column(col)
    for r in rows:
        changes = ", ".join(
            f"{n}->{'retired' if v is None else f'v{v}'}" for n, v in r.changes.items()
        )
        table.add_row(
            str(r.generation),
            r.kind,
            r.run_id or "-",
            r.created_at,
            escape(r.message),
            escape(changes),
        )
    _console().print(table)


@app.command("export")
def export(
    fmt: str = typer.Option("json", "--format", "-f", help="json, python, openai or mcp."),
    output: Path | None = _OUTPUT,
    store: str | None = _STORE,
    domain: str = _DOMAIN,
    prefix: str | None = PREFIX_OPTION,
) -> None:
    """Export the library: JSON manifest (with history), Python module, OpenAI tools, or
    an MCP manifest (the tools as MCP lists them and the command that serves them)."""
    from learnact_langgraph.library_export import export_manifest, export_openai, export_python
    from learnact_langgraph.mcp_server import mcp_manifest

    writers: dict[str, Any] = {
        "json": export_manifest,
        "python": export_python,
        "openai": export_openai,
        "mcp": lambda lib: mcp_manifest(lib, env=domain),
    }
    if fmt not in writers:
        raise LibraryError(f"Unknown export format {fmt!r}; choose json, python, openai or mcp.")
    with open_library(store, library_prefix(domain, prefix), "read") as lib:
        text = writers[fmt](lib)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LibraryError(
            f"Cannot write {output} ({exc.strerror}); pass --output with a writable file path."
        ) from exc
    typer.echo(f"wrote {output}", err=True)


def _check_manifest(text: str, manifest: Path) -> None:
    """Load the manifest into a throwaway in-memory library, so a bad one fails before
    any store is created or touched."""
    from langgraph.store.memory import InMemoryStore

    from learnact_langgraph.library import ActionLibrary
    from learnact_langgraph.library_export import import_manifest

    try:
        import_manifest(ActionLibrary(InMemoryStore(), ("check",)), text)
    except LearnActError as exc:
        raise LibraryError(f"{manifest}: {exc}") from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LibraryError(
            f"{manifest} is not a complete learnact library manifest ({type(exc).__name__}: "
            f"{exc}); export it again with `learnact library export`."
        ) from exc


@app.command("import")
def import_(
    manifest: Path = _MANIFEST,
    replace: bool = typer.Option(False, "--replace", help="Empty the library first."),
    store: str | None = _STORE,
    domain: str = _DOMAIN,
    prefix: str | None = PREFIX_OPTION,
) -> None:
    """Load a JSON manifest (every version and release) into a library.

    The store is created if missing, and removed again if the import fails.
    """
    from learnact_langgraph.library_export import import_manifest

    try:
        text = manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise LibraryError(f"Cannot read {manifest} ({reason}); check the path.") from exc
    _check_manifest(text, manifest)
    where = library_prefix(domain, prefix)
    with open_library(store, where, "create") as lib:
        import_manifest(lib, text, replace=replace)
        count = len(lib)
    typer.echo(
        f"imported {count} actions into {describe_store(store or default_store())} "
        f"at prefix {where}"
    )


@app.command("serve-mcp")
def serve_mcp(
    store: str | None = _STORE,
    domain: str = _DOMAIN,
    prefix: str | None = PREFIX_OPTION,
    env: str | None = typer.Option(
        None, "--env", help="Environment the tools act in (default: the domain)."
    ),
    tasks: str = typer.Option(
        "benchmark", "--tasks", help="benchmark (needs the data) or generated."
    ),
    task: str = typer.Option("0", "--task", help="Task id or index the session starts on."),
    transport: str = typer.Option("stdio", "--transport", help="stdio or http."),
    port: int = count_option(8765, "--port", help="Port for --transport http (127.0.0.1)."),
) -> None:
    """Serve the newest release's actions as MCP tools (stdio or HTTP on 127.0.0.1).

    Calls run in the sandbox against one session of the environment; a failed call is
    an MCP error result. A release published while serving is offered at once.
    """
    from learnact_langgraph.envs.registry import load_env
    from learnact_langgraph.mcp_server import build_mcp_server, serve

    if transport not in ("stdio", "http"):
        raise LibraryError(f"Unknown MCP transport {transport!r}; choose stdio or http.")
    live = load_env(env or domain, tasks=tasks)
    live.reset(int(task) if task.isdigit() else task)
    with open_library(store, library_prefix(domain, prefix), "read") as lib:
        toolkit = lib.toolkit(live)
        try:
            serve(build_mcp_server(toolkit, live), transport=transport, port=port)
        finally:
            toolkit.close()
