"""Recorded runs: every model call written down, and played back for an exact replay.

``--record FILE`` wraps each model in a :class:`RecordingChatModel`, which calls the real
model and appends one JSON line per call: ``{"seq", "role", "model", "key", "request",
"response"}``. Lines are appended and flushed as calls finish, so a crashed run keeps what
it did. ``--replay FILE`` wraps each role in a :class:`ReplayChatModel`, which runs no
model: it answers each call with the recorded response of the same request, so everything
else (sandbox, environments, scoring) runs for real and gives the same result.

A request is keyed by the SHA-256 of its canonical JSON: the messages (type, content, tool
calls by name and arguments, tool call id), the stop list and the call's keyword arguments
(bound tools, ``tool_choice``, ``seed``...). The role is not part of the key. Calls with
the same key (sampling one prompt K times) are served in recorded order, and calls are
matched by key, not by position, because threaded branches finish in any order.

A call that matches nothing raises :class:`RecordingMismatch`, naming the first difference
from the closest unused recorded call. Calls are counted from 1; messages and characters
are indexed from 0, as in the Python list and string.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from abc import abstractmethod
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, cast

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict

from learnact_langgraph.errors import LearnActError
from learnact_langgraph.models.specs import model_id

_FIELDS = ("seq", "role", "model", "request", "response")
_AGAIN = "the code or settings changed since the recording; record again with --record"
_CONTEXT = 30


class RecordingError(LearnActError):
    """A recording could not be written, read or used."""


class RecordingMismatch(RecordingError):
    """A replayed call asked for something the recording does not hold."""


def _default(value: Any) -> Any:
    """JSON for values json cannot write; never a memory address, so keys stay stable."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, type) and hasattr(value, "model_json_schema"):
        return value.model_json_schema()
    text = str(value)
    return type(value).__qualname__ if " at 0x" in text else text


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_default))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_of(
    messages: Sequence[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The JSON form of a call: what decides the reply, and nothing that varies by run."""
    plain = []
    for m in messages:
        item: dict[str, Any] = {"type": m.type, "content": _plain(m.content)}
        if calls := getattr(m, "tool_calls", None):
            item["tool_calls"] = [{"name": c["name"], "args": _plain(c["args"])} for c in calls]
        if call_id := getattr(m, "tool_call_id", None):
            item["tool_call_id"] = call_id
        plain.append(item)
    args = dict(kwargs)
    if args.get("tools") is not None:
        args["tools"] = [
            t if isinstance(t, dict) else convert_to_openai_tool(t) for t in args["tools"]
        ]
    return {"messages": plain, "stop": list(stop) if stop else None, "kwargs": _plain(args)}


def request_key(request: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(request).encode()).hexdigest()


def _ordered(request: dict[str, Any]) -> str:
    """The request as text with the messages first, to measure how much of it matches."""
    return _canonical([request["messages"], request["stop"], request["kwargs"]])


def response_of(message: BaseMessage) -> dict[str, Any]:
    """What replay needs to rebuild the reply: text, tool calls, finish reason, tokens."""
    meta = {}
    for name, value in (message.response_metadata or {}).items():
        try:
            meta[name] = json.loads(json.dumps(value))
        except (TypeError, ValueError):
            continue  # provider objects JSON cannot hold; the finish reason is a string
    response: dict[str, Any] = {
        "content": _plain(message.content),
        "tool_calls": _plain(list(getattr(message, "tool_calls", None) or [])),
        "response_metadata": meta,
        "usage_metadata": _plain(getattr(message, "usage_metadata", None)),
    }
    if invalid := getattr(message, "invalid_tool_calls", None):
        response["invalid_tool_calls"] = _plain(invalid)
    return response


def message_of(response: dict[str, Any]) -> AIMessage:
    return AIMessage(
        content=response["content"],
        tool_calls=response.get("tool_calls") or [],
        invalid_tool_calls=response.get("invalid_tool_calls") or [],
        response_metadata=dict(response.get("response_metadata") or {}),
        usage_metadata=response.get("usage_metadata") or None,
    )


def _common(a: str, b: str) -> int:
    """The length of the common prefix of two strings."""
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def _snippet(text: str, at: int) -> str:
    start, end = max(0, at - _CONTEXT), at + _CONTEXT
    return f"{'…' if start else ''}{text[start:end]!r}{'…' if end < len(text) else ''}"


def _text_difference(what: str, recorded: Any, now: Any) -> str:
    old = recorded if isinstance(recorded, str) else _canonical(recorded)
    new = now if isinstance(now, str) else _canonical(now)
    at = _common(old, new)
    return f"{what} at character {at}: recorded {_snippet(old, at)} vs now {_snippet(new, at)}"


def difference(recorded: dict[str, Any], now: dict[str, Any]) -> str:
    """The first way two requests differ, in words a person can act on."""
    old, new = recorded["messages"], now["messages"]
    for i, (a, b) in enumerate(zip(old, new, strict=False)):
        if a["type"] != b["type"]:
            return f"message {i} is {a['type']} in the recording, now {b['type']}"
        for part in ("content", "tool_calls", "tool_call_id"):
            if a.get(part) != b.get(part):
                what = f"message {i} ({a['type']})" + ("" if part == "content" else f" {part}")
                what += " differ" if part == "tool_calls" else " differs"
                return _text_difference(what, a.get(part), b.get(part))
    if len(old) != len(new):
        return f"recorded has {len(old)} messages, now {len(new)}"
    if recorded["stop"] != now["stop"]:
        return f"stop differs: recorded {recorded['stop']!r} vs now {now['stop']!r}"
    before, after = recorded["kwargs"], now["kwargs"]
    for name in sorted(set(before) | set(after)):
        if name == "tools" and before.get(name) != after.get(name):
            return _text_difference("the tools differ", before.get(name), after.get(name))
        if before.get(name) != after.get(name):
            return f"{name} differs: recorded {before.get(name)!r} vs now {after.get(name)!r}"
    return "the requests are equal"


class Recording:
    """One JSONL file of model calls, being written (``record``) or played (``replay``)."""

    def __init__(self, path: str | Path, mode: str, records: list[dict[str, Any]]) -> None:
        self.path, self.mode, self.records = Path(path), mode, records
        self._lock = threading.Lock()
        self._queues: dict[str, deque[int]] = {}
        for index, record in enumerate(records):
            self._queues.setdefault(record["key"], deque()).append(index)
        self._used: set[int] = set()
        self._calls = 0

    @classmethod
    def record(cls, path: str | Path) -> Recording:
        """Start a new recording at ``path``, replacing any file there."""
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with _open_text(target, "w"):
                pass
        except OSError as exc:
            raise RecordingError(
                f"Cannot write the recording {target} ({exc}); pick a writable path."
            ) from exc
        return cls(target, "record", [])

    @classmethod
    def replay(cls, path: str | Path) -> Recording:
        """Load a recording to play back; a missing, empty or broken file is an error."""
        source = Path(path)
        if not source.is_file():
            raise RecordingError(
                f"The recording {source} does not exist; make one with --record {source}."
            )
        records = []
        try:
            with _open_text(source, "r") as handle:
                text = handle.read()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise RecordingError(
                f"Cannot read the recording {source} ({exc}); record it again with --record."
            ) from exc
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or any(f not in record for f in _FIELDS):
                    raise ValueError(f"it lacks one of {', '.join(_FIELDS)}")
                record["key"] = request_key(record["request"])  # the hash of what is stored
                message_of(record["response"])  # both parts must be usable, not only JSON
                difference(record["request"], record["request"])
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise RecordingError(
                    f"Line {number} of the recording {source} is not a call record ({exc}); "
                    "record again with --record."
                ) from exc
            records.append(record)
        if not records:
            raise RecordingError(
                f"The recording {source} holds no calls; record again with --record."
            )
        return cls(source, "replay", records)

    def wrap(self, model: Runnable[Any, Any] | None, role: str) -> BaseChatModel:
        """The model a role should use: the real one, recorded, or the recording, played."""
        if self.mode == "replay":
            return ReplayChatModel(recording=self, role=role, recorded_model=self.model_for(role))
        if model is None:
            raise RecordingError(f"Recording the {role!r} role needs a model; configure one.")
        return RecordingChatModel(inner=model, recording=self, role=role)

    def model_for(self, role: str) -> str:
        """The recorded model id of ``role`` (else of the first call), so manifests match."""
        same = [r for r in self.records if r["role"] == role]
        return str((same or self.records)[0]["model"])

    def add(self, role: str, model: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        """Append one finished call to the file, flushed, so a crash keeps what was done."""
        with self._lock:
            record = {"seq": len(self.records) + 1, "role": role, "model": model}
            record.update(key=request_key(request), request=request, response=response)
            try:
                with _open_text(self.path, "a") as out:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    out.flush()
            except OSError as exc:
                raise RecordingError(
                    f"Cannot append to the recording {self.path} ({exc}); check the disk."
                ) from exc
            self.records.append(record)

    def take(self, role: str, request: dict[str, Any]) -> dict[str, Any]:
        """The recorded response to ``request``: the oldest unused record with its key."""
        key = request_key(request)
        with self._lock:
            self._calls += 1
            if queue := self._queues.get(key):
                index = queue.popleft()
                self._used.add(index)
                return dict(self.records[index]["response"])
            raise RecordingMismatch(self._mismatch(self._calls, role, key, request))

    def _mismatch(self, call: int, role: str, key: str, request: dict[str, Any]) -> str:
        head = f"Call {call} (role {role}) matches no recorded call"
        if key in self._queues:
            last = max(i for i in self._used if self.records[i]["key"] == key)
            return (
                f"{head} left: it repeats recorded call {self.records[last]['seq']}, which was "
                f"already replayed; {_AGAIN}."
            )
        free = [i for i in range(len(self.records)) if i not in self._used]
        if not free:
            return f"{head}: all {len(self.records)} recorded calls are used up; {_AGAIN}."
        free = [i for i in free if self.records[i]["role"] == role] or free
        now = _ordered(request)
        best = self.records[
            max(free, key=lambda i: _common(_ordered(self.records[i]["request"]), now))
        ]
        return (
            f"{head}; closest is recorded call {best['seq']} (role {best['role']}): "
            f"{difference(best['request'], request)}; {_AGAIN}."
        )

    def unused(self) -> int:
        """How many recorded calls a replay has not played (0 while recording)."""
        with self._lock:
            return 0 if self.mode == "record" else len(self.records) - len(self._used)

    def check_complete(self) -> None:
        """Fail if a replay made fewer calls than the recording holds (the code changed)."""
        if left := self.unused():
            first = self.records[min(set(range(len(self.records))) - self._used)]
            raise RecordingError(
                f"{left} recorded calls were never replayed (first: call {first['seq']}, "
                f"role {first['role']}); {_AGAIN}."
            )


def _open_text(path: Path, mode: str) -> IO[str]:
    """A text handle on ``path``; a ``.gz`` name is read and written gzip-compressed.

    Appending to a ``.gz`` file adds one gzip member per call, which readers join.
    """
    if path.suffix == ".gz":
        return cast(IO[str], gzip.open(path, mode + "t", encoding="utf-8"))
    return path.open(mode, encoding="utf-8")


def open_recording(record: str | Path | None, replay: str | Path | None) -> Recording | None:
    """The recording the options ask for, if any; recording and replaying at once is an error."""
    if record and replay:
        raise RecordingError("Give either --record or --replay, not both.")
    if record:
        return Recording.record(record)
    return Recording.replay(replay) if replay else None


class _Wrapper(BaseChatModel):
    """What both wrappers share: tools bound the same way, so requests key the same."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    recording: Recording
    role: str

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": model_id(self), "role": self.role}

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Tools as OpenAI dicts in the call kwargs, so they are part of the request key."""
        bound: dict[str, Any] = {"tools": [convert_to_openai_tool(t) for t in tools]}
        if tool_choice:
            bound["tool_choice"] = tool_choice
        if kwargs:
            bound["tool_options"] = kwargs  # for the inner bind_tools, not the request body
        self._tools_bound(dict(bound))
        return self.bind(**bound)

    def _tools_bound(self, kwargs: dict[str, Any]) -> None:
        """Called by ``bind_tools``; the recording wrapper binds its inner model there."""

    @abstractmethod
    def _answer(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """The stored response (see :func:`response_of`) to one call.

        :class:`RecordingChatModel` calls the inner model and writes the answer down,
        :class:`ReplayChatModel` reads it back; the base class is never used alone.
        """

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Both answer with the rebuilt reply, so a recorded run sees what a replay will.
        message = message_of(self._answer(messages, stop, kwargs))
        return ChatResult(generations=[ChatGeneration(message=message)])


class RecordingChatModel(_Wrapper):
    """Calls ``inner`` and writes each call down."""

    inner: Runnable[Any, Any]

    @property
    def learnact_model_id(self) -> str:
        return model_id(self.inner)

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _tools_bound(self, kwargs: dict[str, Any]) -> None:
        self._target(kwargs)  # bind the inner model now, when an unwrapped one would be

    def _target(self, kwargs: dict[str, Any]) -> Runnable[LanguageModelInput, AIMessage]:
        """The inner model with the call's tools bound by its own ``bind_tools``.

        Providers format tools their own way, and the scripted model keeps the tools it
        was last bound with, so the inner model is bound when the wrapper is (as it would
        be unwrapped) and again for each call with tools, so each call sees its own.
        ``kwargs`` is left with what is passed on as it is (``seed``, ...).
        """
        tools = kwargs.pop("tools", None)
        choice = kwargs.pop("tool_choice", None)
        options = kwargs.pop("tool_options", None) or {}
        if tools is None:
            return self.inner
        if not isinstance(self.inner, BaseChatModel):
            return self.inner.bind(tools=tools, **({"tool_choice": choice} if choice else {}))
        return self.inner.bind_tools(
            tools, **({"tool_choice": choice} if choice else {}), **options
        )

    def _answer(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        request, rest = request_of(messages, stop, kwargs), dict(kwargs)
        target = self._target(rest)
        if stop:
            rest["stop"] = stop
        response = response_of(target.invoke(messages, **rest))
        self.recording.add(self.role, model_id(self), request, response)
        return response


class ReplayChatModel(_Wrapper):
    """Answers each call from the recording; no model runs."""

    recorded_model: str

    @property
    def learnact_model_id(self) -> str:
        return self.recorded_model

    @property
    def _llm_type(self) -> str:
        return "replay"

    def _answer(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        return self.recording.take(self.role, request_of(messages, stop, kwargs))
