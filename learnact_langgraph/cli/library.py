"""``learnact library``: look at, roll back, export and import a learned action library.

The library lives in a SQLite file by default (``$LEARNACT_LIBRARY`` or the user data
directory); ``--store postgresql://...`` uses a shared PostgreSQL database instead
(needs the ``postgres`` extra). ``--prefix`` picks one library inside the store, e.g.
``learnact/gripper``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from platformdirs import user_data_dir
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from learnact_langgraph.errors import LibraryError
from learnact_langgraph.library import ActionLibrary

app = typer.Typer(
    help="Inspect, roll back, export and import learned action libraries.",
    no_args_is_help=True,
)

_STORE = typer.Option(
    None,
    "--store",
    help="SQLite file or postgresql:// URL (default: $LEARNACT_LIBRARY or the user data dir).",
)
_PREFIX = typer.Option(
    "learnact/library", "--prefix", envvar="LEARNACT_LIBRARY_PREFIX", help="Library inside it."
)

_OUTPUT = typer.Option(None, "--output", "-o", help="File to write (default: stdout).")
_MANIFEST = typer.Argument(..., help="A JSON manifest from `learnact library export`.")


def default_store() -> str:
    return os.environ.get("LEARNACT_LIBRARY") or str(
        Path(user_data_dir("learnact-langgraph")) / "library.db"
    )


@contextmanager
def open_library(store: str | None, prefix: str) -> Iterator[ActionLibrary]:
    """Open the store named on the command line and the library at ``prefix`` in it."""
    target = store or default_store()
    labels = tuple(p for p in prefix.split("/") if p)
    if target.startswith(("postgres://", "postgresql://")):
        try:
            from langgraph.store.postgres import PostgresStore
        except ImportError as exc:
            raise LibraryError(
                "PostgreSQL stores need the postgres extra: "
                "pip install 'learnact-langgraph[postgres]'."
            ) from exc
        with PostgresStore.from_conn_string(target) as pg:
            pg.setup()
            yield ActionLibrary(pg, labels)
        return
    from langgraph.store.sqlite import SqliteStore

    Path(target).expanduser().parent.mkdir(parents=True, exist_ok=True)
    with SqliteStore.from_conn_string(str(Path(target).expanduser())) as sql:
        sql.setup()
        yield ActionLibrary(sql, labels)


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@app.command("ls")
def ls(
    store: str | None = _STORE,
    prefix: str = _PREFIX,
    release: int | None = typer.Option(None, "--release", help="Show this release instead."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the actions of the current (or a given) release."""
    with open_library(store, prefix) as lib:
        actions = lib.actions(release)
        gen = lib.generation if release is None else release
    if as_json:
        typer.echo(json.dumps([a.to_record() for a in actions], indent=2, sort_keys=True))
        return
    table = Table(title=f"{prefix} (release {gen}, {len(actions)} actions)")
    for col in ("name", "version", "signature", "description"):
        table.add_column(col)
    for a in actions:
        table.add_row(a.name, str(a.version), escape(a.signature), escape(a.description))
    _console().print(table)


@app.command()
def show(
    name: str,
    version: int | None = typer.Option(None, "--version", "-v", help="Default: the released one."),
    store: str | None = _STORE,
    prefix: str = _PREFIX,
) -> None:
    """Print one action: signature, description, notes, provenance, scores and source."""
    with open_library(store, prefix) as lib:
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
def history(name: str, store: str | None = _STORE, prefix: str = _PREFIX) -> None:
    """Every version of an action, oldest first."""
    with open_library(store, prefix) as lib:
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
    old: int,
    new: int | None = typer.Argument(None, help="Default: the released version."),
    store: str | None = _STORE,
    prefix: str = _PREFIX,
) -> None:
    """Unified diff between two versions of an action."""
    with open_library(store, prefix) as lib:
        text = lib.diff(name, old, new)
    typer.echo(text or "(no difference)", nl=not text)


@app.command()
def rollback(
    name: str | None = typer.Argument(None, help="Action to roll back (or use --release)."),
    to: int | None = typer.Option(None, "--to", help="Version whose content to publish again."),
    release: int | None = typer.Option(None, "--release", help="Restore a whole release."),
    store: str | None = _STORE,
    prefix: str = _PREFIX,
) -> None:
    """Publish an old version of one action, or the contents of an old release."""
    with open_library(store, prefix) as lib:
        if release is not None and name is None and to is None:
            rel = lib.rollback_release(release)
            typer.echo(f"release {rel.generation} now equals release {release}")
        elif name is not None and to is not None and release is None:
            action = lib.rollback(name, to)
            typer.echo(f"{name}: v{action.version} published with the content of v{to}")
        else:
            raise LibraryError("Give either NAME --to VERSION or --release GENERATION.")


@app.command("releases")
def releases(
    store: str | None = _STORE,
    prefix: str = _PREFIX,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Every published release: generation, run, message and what changed."""
    with open_library(store, prefix) as lib:
        rows = lib.releases()
        current = lib.generation
    if as_json:
        typer.echo(json.dumps([r.to_record() for r in rows], indent=2, sort_keys=True))
        return
    table = Table(title=f"{prefix}: current release {current}")
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
    fmt: str = typer.Option("json", "--format", "-f", help="json, python or openai."),
    output: Path | None = _OUTPUT,
    store: str | None = _STORE,
    prefix: str = _PREFIX,
) -> None:
    """Export the library: JSON manifest (with history), Python module or OpenAI tools."""
    from learnact_langgraph.library_export import export_manifest, export_openai, export_python

    writers: dict[str, Any] = {
        "json": export_manifest,
        "python": export_python,
        "openai": export_openai,
    }
    if fmt not in writers:
        raise LibraryError(f"Unknown export format {fmt!r}; choose json, python or openai.")
    with open_library(store, prefix) as lib:
        text = writers[fmt](lib)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@app.command("import")
def import_(
    manifest: Path = _MANIFEST,
    replace: bool = typer.Option(False, "--replace", help="Empty the library first."),
    store: str | None = _STORE,
    prefix: str = _PREFIX,
) -> None:
    """Load a JSON manifest (every version and release) into a library."""
    from learnact_langgraph.library_export import import_manifest

    try:
        text = manifest.read_text(encoding="utf-8")
    except OSError as exc:
        raise LibraryError(f"Cannot read {manifest} ({exc.strerror}); check the path.") from exc
    with open_library(store, prefix) as lib:
        import_manifest(lib, text, replace=replace)
        count = len(lib)
    typer.echo(f"imported {count} actions into {prefix}")
