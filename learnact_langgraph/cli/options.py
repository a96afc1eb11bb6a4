"""Reusable checks for numeric command-line options.

A count such as ``--k 0`` or ``--tasks-per-domain -1`` is not a typo Python notices:
``tasks[:-1]`` and ``range(0)`` run happily and the command "succeeds". Every count
option therefore gets a callback that rejects values below its minimum with click's
``BadParameter``, which the root command prints as one line (``Error: Invalid value
for '--k': must be at least 1, got 0. See 'learnact bench --help'.``) with exit code 2.

Use :func:`count_option` / :func:`count_argument` to declare a count, or pass
:func:`at_least` / :func:`greater_than` as the ``callback`` of an existing option.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import typer

__all__ = [
    "at_least",
    "choice",
    "count_argument",
    "count_option",
    "executor_options",
    "greater_than",
    "ray_address_for",
]

Check = Callable[[typer.Context, typer.CallbackParam, Any], Any]


def at_least(minimum: int) -> Check:
    """A callback that lets ``None`` and integers ``>= minimum`` through, else fails."""

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if value is None or ctx.resilient_parsing:
            return value
        if value < minimum:
            raise typer.BadParameter(
                f"must be at least {minimum}, got {value}", ctx=ctx, param=cast(Any, param)
            )
        return value

    return check


def greater_than(bound: float) -> Check:
    """A callback that lets ``None`` and numbers ``> bound`` through (e.g. a timeout)."""

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if value is None or ctx.resilient_parsing:
            return value
        if not value > bound:
            raise typer.BadParameter(
                f"must be greater than {bound:g}, got {value:g}", ctx=ctx, param=cast(Any, param)
            )
        return value

    return check


def choice(*allowed: str) -> Check:
    """A callback that lets ``None`` and the ``allowed`` strings through, else fails."""

    def check(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if value is None or ctx.resilient_parsing or value in allowed:
            return value
        raise typer.BadParameter(
            f"must be one of {', '.join(allowed)}, got {value!r}", ctx=ctx, param=cast(Any, param)
        )

    return check


def _range_help(help: str, minimum: int, zero: str) -> str:
    rule = f"at least {minimum}" + (f"; 0 = {zero}" if minimum == 0 and zero else "")
    return f"{help.rstrip('.')} ({rule})."


def count_option(
    default: int | None,
    *param_decls: str,
    help: str,
    minimum: int = 1,
    zero: str = "",
    **kwargs: Any,
) -> Any:
    """A ``typer.Option`` for a count of at least ``minimum`` (the range goes in the help).

    ``zero`` says what 0 means when ``minimum`` is 0: a count may only allow 0 when
    0 does something useful and documented.
    """
    return typer.Option(
        default,
        *param_decls,
        help=_range_help(help, minimum, zero),
        callback=at_least(minimum),
        **kwargs,
    )


def count_argument(
    default: Any, *, help: str, minimum: int = 1, zero: str = "", **kwargs: Any
) -> Any:
    """A ``typer.Argument`` for a count of at least ``minimum``, like :func:`count_option`."""
    return typer.Argument(
        default, help=_range_help(help, minimum, zero), callback=at_least(minimum), **kwargs
    )


def executor_options() -> tuple[Any, Any, Any]:
    """``--executor``, ``--ray-address`` and ``--ray-workers``, shared by ``bench`` and
    ``learn`` (settings: ``$LEARNACT_EXECUTOR``, ``$RAY_ADDRESS``)."""
    return (
        typer.Option(
            "local",
            "--executor",
            envvar="LEARNACT_EXECUTOR",
            help="Where episodes run: local (threads here) or ray (actors of a Ray "
            "cluster; needs the ray extra). See docs/scaling.md.",
            callback=choice("local", "ray"),
        ),
        typer.Option(
            None,
            "--ray-address",
            envvar="RAY_ADDRESS",
            help="The Ray head for --executor ray: host:port, ray://host:10001 or auto "
            "(default: a Ray instance started on this machine).",
        ),
        count_option(2, "--ray-workers", help="Ray actors, each with warm environments."),
    )


def ray_address_for(ctx: typer.Context, executor: str, ray_address: str | None) -> str | None:
    """The Ray head to use: ``ray_address`` with ``--executor ray``, else ``None``.

    ``--ray-address`` or ``--ray-workers`` typed with the local executor is refused
    (the user meant Ray, and a run on local threads would not say so); an address that
    comes from ``$RAY_ADDRESS`` only matters once Ray is chosen.
    """
    if executor == "ray":
        return ray_address
    for name, flag in (("ray_address", "--ray-address"), ("ray_workers", "--ray-workers")):
        source = ctx.get_parameter_source(name)
        if source is not None and source.name == "COMMANDLINE":
            raise typer.BadParameter(
                f"only applies with --executor ray; add --executor ray or drop {flag}",
                ctx=ctx,
                param_hint=f"'{flag}'",
            )
    return None
