"""Run requests and their replies framed without JSON: the same calls, the same results,
and a host that trusts nothing in a reply frame."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest

from learnact_langgraph.sandbox import Limits, Sandbox
from learnact_langgraph.sandbox.worker_process import (
    ProtocolError,
    WorkerProcess,
    parse_done,
    run_frame,
)
from learnact_langgraph.sandbox.worker_replies import (
    MAX_VALUE_CHARS,
    done_frame,
    encode_value,
    run_request,
)
from tests.unit_tests.sandbox.toy_env import fresh_env

OK = {"op": "done", "ok": True, "cpu_used_s": 0.25, "worker_s": 3e-5}


@pytest.mark.parametrize("value", [None, "", "You are in b.", "ä€😀\n\t", "x" * 50_000])
def test_a_reply_frame_reads_as_its_json_would(value: Any) -> None:
    reply = {**OK, **encode_value(value)}
    frame = done_frame(reply)
    assert frame is not None and frame[:1] == b"D"
    assert parse_done(frame) == json.loads(json.dumps(reply))


@pytest.mark.parametrize(
    "reply",
    [
        {**OK, "value": 3, "value_repr": None},
        {**OK, "value": ["a"], "value_repr": None},
        {**OK, "value": None, "value_repr": "<object>"},
        {**OK, "value": "x", "value_repr": None, "stdout": "hi\n"},
        {**OK, "ok": False, "value": None, "value_repr": None},
    ],
    ids=["int", "list", "repr", "printed", "failed"],
)
def test_other_replies_stay_json(reply: dict[str, Any]) -> None:
    assert done_frame(reply) is None


def test_a_lone_surrogate_in_a_value_crosses_as_json_would_send_it() -> None:
    reply = {**OK, **encode_value("a\ud800b")}
    frame = done_frame(reply)
    assert frame is not None
    sent = json.dumps(reply, ensure_ascii=False).encode("utf-8", "replace")
    assert parse_done(frame)["value"] == json.loads(sent)["value"] == "a?b"


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (b"D\x00\x01", "truncated"),
        (b"D" + struct.pack(">ddB", 0, 0, 7), "unknown kind"),
        (b"D" + struct.pack(">ddB", 0, 0, 0) + b"x", "unknown kind"),
        (b"D" + struct.pack(">ddB", 0, 0, 1) + b"\xff\xfe", "not UTF-8"),
    ],
    ids=["short", "kind", "none-with-text", "utf8"],
)
def test_a_forged_reply_frame_is_a_protocol_error(frame: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        parse_done(frame)


def test_short_texts_skip_the_json_size_check_without_changing_the_result() -> None:
    """Up to ``MAX_VALUE_CHARS // 12`` characters a text always fits as a value (JSON
    writes a character as at most 12); longer ones still go through the check."""
    short = "😀" * (MAX_VALUE_CHARS // 12)
    assert len(json.dumps(short)) <= MAX_VALUE_CHARS
    assert encode_value(short) == {"value": short, "value_repr": None}
    longer = "😀" * (MAX_VALUE_CHARS // 12 + 1)
    assert encode_value(longer)["value_repr"] is not None  # too long as JSON: its repr


@pytest.mark.parametrize(
    ("source", "code", "expr"),
    [
        ("walk()", "", "walk()"),
        ("x = 1", "x = 1", None),
        ("x = 'ä€😀'\nx", "x = 'ä€😀'\n", "\nx"),
        ("s = '\ud800'", "s = '\ud800'", None),
    ],
    ids=["expr", "statements", "non-ascii", "surrogate"],
)
@pytest.mark.parametrize("poll", [False, True])
def test_a_run_frame_reads_back_as_the_request(
    source: str, code: str, expr: str | None, poll: bool
) -> None:
    frame = run_frame(source, code, expr, poll)
    assert frame is not None
    assert run_request(frame) == {
        "op": "run",
        "source": source,
        "code": code,
        "expr": expr,
        "poll": poll,
    }


def test_a_line_holding_a_nul_goes_as_json() -> None:
    assert run_frame("'\x00'", "", "'\x00'", False) is None


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """How each run request left the host: ``json`` or ``frame``."""
    kinds: list[str] = []
    original = WorkerProcess.send

    def noting(self: WorkerProcess, message: dict[str, Any] | bytes) -> None:
        if isinstance(message, dict) and message.get("op") == "run":
            kinds.append("json")
        elif isinstance(message, bytes) and message[:1] == b"E":
            kinds.append("frame")
        original(self, message)

    monkeypatch.setattr(WorkerProcess, "send", noting)
    return kinds


def test_limits_travel_whenever_they_change_and_bind_every_call(sent: list[str]) -> None:
    """A run frame names no limits, so it is sent only under the limits the worker
    already holds; a call under other limits goes as JSON, and those then hold."""
    wide, narrow = Limits(output_chars=1000), Limits(output_chars=20)
    line = "print('x' * 50)\n1"
    with Sandbox(fresh_env(), limits=wide) as sb:
        results = [
            sb.run(line),
            sb.run(line),
            sb.run(line, limits=narrow),
            sb.run(line, limits=narrow),
            sb.run(line),
            sb.run(line),
        ]
    assert [r.ok for r in results] == [True, True, False, False, True, True]
    assert all("output exceeded" in r.message for r in results[2:4])
    assert sent == ["json", "frame", "json", "frame", "json", "frame"]


def test_values_come_back_the_same_either_way(sent: list[str]) -> None:
    lines = {
        "None": None,
        "'ä€😀'": "ä€😀",
        "obs = move('a', 'b')\nmove('b', 'a')\nobs": "You are in b.",
        "3": 3,
        "[1, 'a']": [1, "a"],
        "{1, 2}": "{1, 2}",  # not plain data: its repr
    }
    with Sandbox(fresh_env()) as sb:
        for line, value in lines.items():
            for _ in range(2):
                result = sb.run(line)
                assert result.ok and result.value == value, (line, result)
    assert sent.count("json") == 1  # every later line went as a frame
