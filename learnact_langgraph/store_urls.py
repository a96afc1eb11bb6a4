"""Store and database URLs: which are PostgreSQL, how messages show them, how they connect.

Shared by the library's store opener (``cli/stores.py``) and the run checkpoints
(``checkpoints.py``), so both name a server the same way and never print a password.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["CONNECT_TIMEOUT", "error_reason", "is_postgres", "redact_url", "with_connect_timeout"]

#: Seconds to wait for a PostgreSQL server unless the URL sets ``connect_timeout``.
CONNECT_TIMEOUT = 10


def is_postgres(target: str) -> bool:
    return target.startswith(("postgres://", "postgresql://"))


def redact_url(url: str) -> str:
    """``url`` with the password (in the user part or a ``password=`` parameter) hidden."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostinfo = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:***@{hostinfo}"
    query = parts.query
    if "password" in query.lower():
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in pairs])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def error_reason(exc: BaseException, target: str = "") -> str:
    """An exception's text on one line, without a password it might quote."""
    text = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
    password = urlsplit(target).password if is_postgres(target) else None
    return text.replace(password, "***") if password else text


def with_connect_timeout(url: str) -> str:
    """``url`` with ``connect_timeout`` set, so a silent host fails in seconds, not minutes."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "connect_timeout" for k, _ in pairs):
        return url
    return urlunsplit(
        parts._replace(query=urlencode([*pairs, ("connect_timeout", str(CONNECT_TIMEOUT))]))
    )
