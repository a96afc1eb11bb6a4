"""``learnact local-model serve|status|stop``: the local model server, set up on first use.

``serve`` downloads the model, builds llama-cpp-python and starts the server in the
background the first time (minutes; the cost is said up front), and later just starts
it or finds it running; it returns once the server answers. Set-up news goes to stderr,
the URL and how to use it to stdout. See :mod:`learnact_langgraph.local_model`.
"""

from __future__ import annotations

import time
from types import TracebackType

import typer
from rich.console import Console
from rich.markup import escape
from rich.status import Status

from learnact_langgraph import local_model
from learnact_langgraph.cli.options import count_option

app = typer.Typer(
    help="Run a local OpenAI-compatible model server (Qwen2.5-Coder-1.5B, CPU only).",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)


class RichProgress:
    """Shows each stage's news as a line and the latest transient one on a spinner.

    With no terminal (CI logs) transient news is printed at most once a minute.
    """

    def __init__(self) -> None:
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.status: Status | None = None
        self.last_plain = 0.0

    def __enter__(self) -> RichProgress:
        if self.console.is_terminal:
            self.status = self.console.status("", spinner="dots")
            self.status.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.status is not None:
            self.status.stop()

    def __call__(self, stage: str, message: str, *, transient: bool = False) -> None:
        text = f"[dim]{stage:>7}[/dim]  {escape(message)}"
        if not transient:
            self.console.print(text)
        elif self.status is not None:
            self.status.update(text)
        elif time.monotonic() - self.last_plain >= 60:
            self.last_plain = time.monotonic()
            self.console.print(text)


@app.command("serve")
def serve(
    port: int | None = typer.Option(
        None,
        "--port",
        min=1,
        max=65535,
        help=f"Port on 127.0.0.1 (default: ${local_model.PORT_ENV_VAR} or "
        f"{local_model.DEFAULT_PORT}).",
    ),
    threads: int | None = count_option(
        None, "--threads", help="CPU threads for the model (default: the CPU count, at most 4)"
    ),
) -> None:
    """Set up (first time only) and start the local model server in the background."""
    start = time.monotonic()
    with RichProgress() as progress:
        info = local_model.ensure_server(progress, port=port, threads=threads)
    took = time.monotonic() - start
    state = "started" if info.started else "already running"
    console.print(
        f"Local model server {state} at [bold]{info.base_url}[/bold] "
        f"(pid {info.pid}, model {local_model.MODEL_ALIAS}; {took:.0f} s)."
    )
    console.print("Use it: pass --model local, or export LEARNACT_MODEL=local.")
    console.print(f"Stop it: learnact local-model stop. Log: {escape(str(info.log))}")


@app.command("status")
def status() -> None:
    """Show whether the model, the runtime and the server are there."""
    for line in local_model.status().lines():
        console.print(escape(line))


@app.command("stop")
def stop() -> None:
    """Stop the background server started by `serve`."""
    url = local_model.endpoint()
    if local_model.stop_server():
        console.print(f"Stopped the local model server at {url}.")
    else:
        console.print("No local model server was running.")
