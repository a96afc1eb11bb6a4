"""Host paths never reach the model: they are replaced by neutral placeholders.

Error text from the worker (``OSError: ... '/home/me/.pyenv/.../encodings'``) and from
the environment can name the interpreter's install, the package's checkout, the
worker's temporary directory or the user's home. Those say nothing the model can use
and tell a hostile one where to look, so every message the sandbox hands back goes
through :func:`scrub`.
"""

from __future__ import annotations

import os
import re
import site
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

PYTHON = "<python>"
SANDBOX = "<sandbox>"
HOME = "<home>"
#: The prefix of every worker's private directory (``tempfile.mkdtemp(prefix=...)``).
WORKDIR_PREFIX = "la-sb-"


def _variants(paths: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for path in paths:
        if not path:
            continue
        for variant in (os.path.abspath(path), os.path.realpath(path)):
            variant = variant.rstrip("/")
            if variant:  # never "/" itself: the pattern only matches whole path names
                out.add(variant)
    return out


@lru_cache(maxsize=1)
def _pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    python = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    python += [os.path.dirname(sys.executable)]
    python += list(sysconfig.get_paths().values())
    try:
        python += site.getsitepackages() + [site.getusersitepackages()]
    except AttributeError:  # some virtualenv versions lack these
        pass
    package = str(Path(__file__).resolve().parents[1])
    replacements: dict[str, str] = {}
    for placeholder, paths in (
        (HOME, [os.path.expanduser("~")]),
        (PYTHON, python),
        (SANDBOX, [package]),
    ):
        for path in _variants(paths):
            replacements[path] = placeholder
    tmp = {re.escape(p) for p in _variants([tempfile.gettempdir()])} or {re.escape("/tmp")}
    workdirs = rf"(?:{'|'.join(sorted(tmp))})/{WORKDIR_PREFIX}[\w.-]*"
    literal = sorted(replacements, key=len, reverse=True)
    alternatives = [workdirs, *(re.escape(p) for p in literal)]
    regex = re.compile(r"(?<![\w.-])(" + "|".join(alternatives) + r")(?![\w.-])")
    return regex, replacements


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with host paths replaced (``extra`` paths become ``<sandbox>``)."""
    if "/" not in text:
        return text
    regex, replacements = _pattern()
    text = regex.sub(lambda m: replacements.get(m.group(1), SANDBOX), text)
    for path in _variants(extra):
        text = text.replace(path, SANDBOX)
    return text
