"""The kernel-level limits a sandbox worker puts on itself before it takes requests.

Stdlib-only: the worker loads this file by path. The same code runs whether the
worker was started as its own interpreter or forked from the zygote, so a forked
worker is locked down exactly like one started as a new interpreter.
"""

from __future__ import annotations

import os
import resource
from typing import Any


def lock_down(config: dict[str, Any]) -> None:
    """Kernel-level limits; best effort where the platform refuses one."""
    mem = int(config["limits"]["memory_mb"]) * 1024 * 1024
    try:  # a lifetime CPU cap: even an orphaned worker stuck in a loop ends
        cap = int(config["cpu_lifetime_s"])
        resource.setrlimit(resource.RLIMIT_CPU, (cap, cap))
    except (ValueError, OSError, KeyError):
        pass
    for rlimit, value in (
        ("RLIMIT_AS", mem),
        ("RLIMIT_FSIZE", 0),
        ("RLIMIT_CORE", 0),
    ):
        try:
            resource.setrlimit(getattr(resource, rlimit), (value, value))
        except (ValueError, OSError, AttributeError):
            pass
    uid = config.get("uid")
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(int(config["gid"]))
        os.setuid(int(uid))
    for rlimit, value in (("RLIMIT_NPROC", 0), ("RLIMIT_NOFILE", 3)):
        try:
            resource.setrlimit(getattr(resource, rlimit), (value, value))
        except (ValueError, OSError, AttributeError):
            pass
