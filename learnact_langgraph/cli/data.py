"""``learnact data``: fetch benchmark files and show where they are looked for."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from learnact_langgraph.cli.options import greater_than
from learnact_langgraph.data import DATASETS, SPLITS_FILE, data_dir, missing_files
from learnact_langgraph.fetch import DEFAULT_TIMEOUT, fetch_dataset

app = typer.Typer(help="Fetch the benchmark data and show where it lives.", no_args_is_help=True)

_DATA_DIR = typer.Option(
    None, "--data-dir", help="Data directory (default: $LEARNACT_DATA_DIR or the user cache)."
)


@app.command()
def fetch(
    dataset: str = typer.Argument(..., help=f"Dataset to download: {', '.join(DATASETS)}."),
    dir_: Path | None = _DATA_DIR,
    base_url: str | None = typer.Option(
        None, "--base-url", help="Download from here instead of the upstream repository."
    ),
    force: bool = typer.Option(False, "--force", help="Download even files that already verify."),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT,
        "--timeout",
        help="Seconds per request (more than 0).",
        callback=greater_than(0),
    ),
) -> None:
    """Download a dataset, checking every file against its shipped SHA-256."""
    result = fetch_dataset(
        dataset,
        dir_,
        base_url=base_url,
        force=force,
        timeout=timeout,
        console=Console(stderr=True),
    )
    typer.echo(
        f"{dataset}: {len(result.downloaded)} downloaded, {len(result.skipped)} already "
        f"present, all verified in {result.root}"
    )


@app.command()
def path(dir_: Path | None = _DATA_DIR) -> None:
    """Print the resolved data directory and whether each dataset in it is complete."""
    root = data_dir(dir_)
    typer.echo(str(root))
    for name, ds in DATASETS.items():
        total = len(ds.checksums())
        missing = len(missing_files(name, root))
        state = "complete" if not missing else f"incomplete ({total - missing}/{total} files)"
        typer.echo(f"  {name}: {state} ({root / ds.subdir})")
    local_splits = root / SPLITS_FILE
    typer.echo(f"  splits: {local_splits if local_splits.is_file() else 'packaged copy'}")
