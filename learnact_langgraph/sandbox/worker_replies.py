"""What the sandbox worker sends back: plain values, and tracebacks of learned code only.

Stdlib-only: the worker loads this file by path before it locks itself down.
"""

from __future__ import annotations

import json
import linecache
import struct
import traceback
from typing import Any

MAX_VALUE_CHARS = 1_000_000
#: A text this short is always sent as a value: JSON writes a character as at most 12.
_SHORT_TEXT = MAX_VALUE_CHARS // 12
#: The fields of a call that ended well with nothing printed (see :func:`done_frame`).
_DONE_KEYS = frozenset(("op", "ok", "cpu_used_s", "worker_s", "value", "value_repr"))
#: A reply frame's head after its tag: CPU seconds, the worker's seconds, value kind.
DONE_HEAD = struct.Struct(">ddB")


def remember(filename: str, source: str) -> None:
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def forget(filename: str) -> None:
    linecache.cache.pop(filename, None)


def learned_traceback(exc: BaseException) -> str:
    """The traceback restricted to learned code (``<learned:...>``) and ``<action>``."""
    frames = [
        (frame, lineno)
        for frame, lineno in traceback.walk_tb(exc.__traceback__)
        if frame.f_code.co_filename.startswith("<learned:")
        or frame.f_code.co_filename == "<action>"
    ]
    summary = traceback.StackSummary.extract(iter(frames), limit=50)
    lines = ["Traceback (most recent call last):\n", *summary.format()]
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-8000:]


def _plain(value: Any, budget: list[int], depth: int = 0) -> bool:
    budget[0] -= 1
    if budget[0] < 0 or depth > 20:
        return False
    if value is None or isinstance(value, bool | int | float):
        return type(value) in (bool, int, float, type(None))
    if isinstance(value, str):  # str or Observation
        return len(value) < 100_000
    if type(value) in (list, tuple):
        return all(_plain(v, budget, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain(v, budget, depth + 1) for k, v in value.items())
    return False


def returned(text: str) -> Any:
    """What a line whose value is the base action's observation ``text`` gives back,
    as :func:`encode_value` and the host's reading of it make it: the text, or its
    ``repr`` cut short when it is too long to send as a value. The host uses it for a
    base action it calls without the worker, so both paths return the same."""
    sent = encode_value(text)
    return sent["value"] if sent["value_repr"] is None else str(sent["value_repr"])


def encode_value(value: Any) -> dict[str, Any]:
    if isinstance(value, str) and len(value) <= _SHORT_TEXT:  # what _plain would find
        return {"value": value, "value_repr": None}
    try:
        if _plain(value, [10_000]) and len(json.dumps(value)) <= MAX_VALUE_CHARS:
            return {"value": value, "value_repr": None}
        text = repr(value)
    except BaseException:
        text = "<unrepresentable value>"
    return {"value": None, "value_repr": text[:2000]}


def call_frame(seq: int, name: str, args: tuple[Any, ...]) -> bytes | None:
    """A base call with string arguments (nearly all of them) in a frame the host
    splits without a JSON parser: tag, seq, then the name and the arguments in UTF-8,
    separated by NUL; ``None`` (send JSON) when an argument is not a string or holds
    a NUL."""
    for arg in args:
        if type(arg) is not str or "\x00" in arg:
            return None
    text = "\x00".join((name, *args)) if args else name
    return b"C" + seq.to_bytes(4, "big") + text.encode("utf-8", "replace")


def done_frame(reply: dict[str, Any]) -> bytes | None:
    """The reply of a call that ended well, printed nothing and gave ``None`` or a
    text (nearly all of them) in a frame the host reads without a JSON parser: tag,
    CPU seconds used and the worker's seconds (two big-endian doubles), the value's
    kind (0 ``None``, 1 text), then the text in UTF-8; ``None`` (send JSON) otherwise.
    Encoding and decoding JSON costs more just after a wake-up than the call itself."""
    if reply.keys() != _DONE_KEYS or reply["ok"] is not True or reply["value_repr"] is not None:
        return None
    value = reply["value"]
    if value is None:
        kind, text = 0, b""
    elif isinstance(value, str):
        kind, text = 1, value.encode("utf-8", "replace")
    else:
        return None
    return b"D" + DONE_HEAD.pack(reply["cpu_used_s"], reply["worker_s"], kind) + text


def run_request(data: bytes) -> dict[str, Any]:
    """A run request sent as a frame (``worker_process.run_frame``): tag, flags (1: poll
    for the first answer, 2: there is a final expression), then the line's source, its
    statements and its final expression in UTF-8, separated by NUL. It names no
    limits: the worker keeps those of the last request that did."""
    flags = data[1]
    source, code, expr = data[2:].decode("utf-8", "surrogatepass").split("\x00")
    return {
        "op": "run",
        "source": source,
        "code": code,
        "expr": expr if flags & 2 else None,
        "poll": bool(flags & 1),
    }
