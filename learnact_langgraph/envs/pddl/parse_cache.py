"""Parsed PDDL kept on disk, so a new process does not build the parser to read it again.

Building the ``pddl`` package's parser costs about a quarter of a second per process,
more than the rest of a scripted learning run's set-up. What it produces here is
plain data (our compiled models), so it is kept as JSON under the user's cache
directory (``$XDG_CACHE_HOME/learnact/pddl``, else ``~/.cache/learnact/pddl``), named
by a digest of everything the result depends on. Nothing is ever executed from
there: an entry that does not read back as the expected shape is ignored and
rewritten, and a cache that cannot be written is simply not used.
``LEARNACT_PDDL_CACHE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

#: Part of every digest: bump it when the compiled models change shape or meaning.
FORMAT = "learnact-pddl-1"


def directory() -> Path | None:
    """Where entries live, or ``None`` when the cache is turned off."""
    if os.environ.get("LEARNACT_PDDL_CACHE", "1").strip().lower() in ("0", "false", "no"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "learnact" / "pddl"


def digest(*parts: str) -> str:
    h = hashlib.sha256(FORMAT.encode())
    for part in parts:
        h.update(b"\0" + part.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def load(key: str) -> Any:
    """The entry stored under ``key``, or ``None``."""
    where = directory()
    if where is None:
        return None
    try:
        return json.loads((where / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def store(key: str, data: Any) -> None:
    """Keep ``data`` under ``key`` (atomically; silently not, where it cannot)."""
    where = directory()
    if where is None:
        return
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, where / f"{key}.json")
    except OSError:
        pass
