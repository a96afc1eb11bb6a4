"""Recorded runs: what is recorded plays back exactly, and a changed call says how it changed."""

from __future__ import annotations

import asyncio
import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from learnact_langgraph.errors import LearnActError
from learnact_langgraph.models import invoke_reply, model_id
from learnact_langgraph.models.recording import (
    Recording,
    RecordingChatModel,
    RecordingError,
    RecordingMismatch,
    ReplayChatModel,
    open_recording,
)
from learnact_langgraph.testing import scripted, scripted_model
from learnact_langgraph.testing.chat import ScriptedChatModel


class Echo(BaseChatModel):
    """Replies from the prompt, stop and seed, with a finish reason and token counts.

    Unlike ScriptedChatModel it keeps the ``response_metadata`` it makes, so a cut-off
    reply ("long" in the prompt) reads as truncated. ``count`` numbers the calls, so an
    unseeded prompt asked twice gets two answers, as sampling would.
    """

    model_name: str = "echo-1"
    count: int = 0

    @property
    def _llm_type(self) -> str:
        return "echo"

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Any:
        """As providers do: the tools travel to ``_generate`` as call kwargs."""
        return self.bind(tools=list(tools), tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.count += 1
        seed = kwargs.get("seed")
        text = (
            f"{messages[-1].content}|stop={stop}|seed={seed}|n={self.count if seed is None else 0}"
        )
        finish = "length" if "long" in text else "stop"
        message = AIMessage(
            content=text,
            response_metadata={"finish_reason": finish, "model_name": self.model_name},
            usage_metadata={"input_tokens": 11, "output_tokens": 5, "total_tokens": 16},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


class ToolCaller(ScriptedChatModel):
    """Calls its first bound tool once, then answers with the tool's result."""

    def reply(self, messages: list[BaseMessage]) -> str | AIMessage:
        if self.bound_tools and messages[-1].type != "tool":
            name = convert_to_openai_tool(self.bound_tools[0])["function"]["name"]
            call = {"name": name, "args": {"x": len(messages)}, "id": f"call{len(messages)}"}
            return AIMessage(content="", tool_calls=[call])
        return f"done: {messages[-1].content}"


@tool
def double(x: int) -> int:
    """Double a number."""
    return 2 * x


def _path(tmp_path: Path) -> Path:
    return tmp_path / "run" / "calls.jsonl"


def _same(a: BaseMessage, b: BaseMessage) -> None:
    assert isinstance(a, AIMessage) and isinstance(b, AIMessage)
    assert a.content == b.content
    assert [(c["name"], c["args"], c["id"]) for c in a.tool_calls] == [
        (c["name"], c["args"], c["id"]) for c in b.tool_calls
    ]
    assert a.response_metadata.get("finish_reason") == b.response_metadata.get("finish_reason")
    assert a.usage_metadata == b.usage_metadata


def _calls(model: BaseChatModel) -> list[BaseMessage]:
    """A few calls that differ only in stop, seed and tools: each must key apart."""
    prompt = [SystemMessage("be brief"), HumanMessage("hello STOP world")]
    return [
        model.invoke(prompt),
        model.invoke(prompt, stop=["STOP"]),
        model.invoke(prompt, stop=["world"]),
        model.bind(seed=7).invoke(prompt),
        model.bind_tools([double]).invoke(prompt),
        model.bind_tools([double], tool_choice="double").invoke(prompt),
    ]


def test_replay_answers_what_was_recorded(tmp_path: Path) -> None:
    recording = Recording.record(_path(tmp_path))
    recorded = _calls(recording.wrap(Echo(), "agent"))
    assert str(recorded[1].content).startswith("hello STOP world|stop=['STOP']")
    lines = _path(tmp_path).read_text().splitlines()
    assert len(lines) == 6 and [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert len({json.loads(line)["key"] for line in lines}) == 6  # stop, seed, tools all count

    replay = Recording.replay(_path(tmp_path))
    for a, b in zip(recorded, _calls(replay.wrap(None, "agent")), strict=True):
        _same(a, b)
    assert replay.unused() == 0
    replay.check_complete()


def test_scripted_model_stop_and_tools_record_and_replay(tmp_path: Path) -> None:
    inner = ToolCaller(respond=lambda messages: "unused")
    recording = Recording.record(_path(tmp_path))
    model = recording.wrap(inner, "agent")
    prompt = [HumanMessage("go")]
    plain = scripted(lambda messages: "abc STOP def")
    cut = recording.wrap(plain, "learner").invoke(prompt, stop=["STOP"])
    assert cut.content == "abc "
    first = model.bind_tools([double]).invoke(prompt)
    assert inner.bindings and first.tool_calls[0]["name"] == "double"  # inner got the tools

    replay = Recording.replay(_path(tmp_path))
    assert replay.wrap(None, "learner").invoke(prompt, stop=["STOP"]).content == "abc "
    _same(first, replay.wrap(None, "agent").bind_tools([double]).invoke(prompt))


def test_each_call_sees_its_own_tools(tmp_path: Path) -> None:
    @tool
    def halve(x: int) -> float:
        """Halve a number."""
        return x / 2

    recording = Recording.record(_path(tmp_path))
    model = recording.wrap(ToolCaller(respond=lambda messages: ""), "agent")
    with_double, with_halve = model.bind_tools([double]), model.bind_tools([halve])
    assert with_double.invoke("go").tool_calls[0]["name"] == "double"
    assert with_halve.invoke("go").tool_calls[0]["name"] == "halve"
    assert with_double.invoke("go").tool_calls[0]["name"] == "double"


def test_agent_loop_with_tools_replays(tmp_path: Path) -> None:
    from langchain.agents import create_agent

    def run(model: BaseChatModel) -> list[BaseMessage]:
        agent = create_agent(model, [double])
        return list(agent.invoke({"messages": [HumanMessage("double it")]})["messages"])

    recording = Recording.record(_path(tmp_path))
    live = run(recording.wrap(ToolCaller(respond=lambda messages: ""), "agent"))
    assert [m.type for m in live] == ["human", "ai", "tool", "ai"]
    assert live[-1].content == "done: 2"
    replayed = run(Recording.replay(_path(tmp_path)).wrap(None, "agent"))
    assert [(m.type, m.content) for m in replayed] == [(m.type, m.content) for m in live]


def test_scripted_roles_model_records(tmp_path: Path) -> None:
    recording = Recording.record(_path(tmp_path))
    text = recording.wrap(scripted_model(), "learner").invoke("Action: hello").content
    replay = Recording.replay(_path(tmp_path)).wrap(None, "learner")
    assert replay.invoke("Action: hello").content == text


def test_changed_prompt_names_message_and_character(tmp_path: Path) -> None:
    recording = Recording.record(_path(tmp_path))
    text = "x" * 345 + "abc" + "y" * 100
    recording.wrap(Echo(), "agent").invoke([SystemMessage("sys"), HumanMessage(text)])
    replay = Recording.replay(_path(tmp_path)).wrap(None, "agent")
    changed = text[:345] + "abd" + text[348:]
    with pytest.raises(RecordingMismatch) as caught:
        replay.invoke([SystemMessage("sys"), HumanMessage(changed)])
    message = str(caught.value)
    assert message.startswith("Call 1 (role agent) matches no recorded call; closest is recorded")
    assert "message 1 (human) differs at character 347" in message
    assert "recorded …'" + "x" * 28 + "abc" in message and "now …'" + "x" * 28 + "abd" in message
    assert message.endswith("record again with --record.")
    assert isinstance(caught.value, LearnActError)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda m: m.invoke([HumanMessage("a"), HumanMessage("b")]),
            "recorded has 1 messages, now 2",
        ),
        (lambda m: m.invoke([HumanMessage("a")], stop=["z"]), "stop differs"),
        (lambda m: m.bind(seed=2).invoke([HumanMessage("a")]), "seed differs: recorded 1 vs now 2"),
        (lambda m: m.bind_tools([double]).invoke([HumanMessage("a")]), "tools differ"),
        (
            lambda m: m.invoke([SystemMessage("a")]),
            "message 0 is human in the recording, now system",
        ),
    ],
)
def test_other_differences_are_named(tmp_path: Path, change: Any, words: str) -> None:
    recording = Recording.record(_path(tmp_path))
    model = recording.wrap(Echo(), "agent")
    model.bind(seed=1).invoke([HumanMessage("a")])
    model.bind(seed=1).bind_tools([]).invoke([HumanMessage("a")])
    replay = Recording.replay(_path(tmp_path)).wrap(None, "agent")
    with pytest.raises(RecordingMismatch, match=words):
        change(replay)


def test_same_prompt_is_served_in_recorded_order(tmp_path: Path) -> None:
    recording = Recording.record(_path(tmp_path))
    model = recording.wrap(Echo(), "agent")
    answers = [model.invoke("same").content for _ in range(3)]
    assert len(set(answers)) == 3
    replay = Recording.replay(_path(tmp_path))
    played = replay.wrap(None, "other")  # the role is not part of the key
    assert [played.invoke("same").content for _ in range(3)] == answers
    with pytest.raises(RecordingMismatch, match="repeats recorded call 3, which was already"):
        played.invoke("same")


def test_threads_replay_in_any_order(tmp_path: Path) -> None:
    recording = Recording.record(_path(tmp_path))
    model = recording.wrap(Echo(), "agent")
    prompts = [f"question {i}" for i in range(40)] + ["again"] * 8
    expected = {p: model.invoke(p).content for p in prompts[:40]}
    repeats = sorted(model.invoke("again").content for _ in range(8))

    with ThreadPoolExecutor(max_workers=8) as pool:  # recording from threads, too
        list(pool.map(lambda i: model.invoke(f"branch {i}"), range(16)))
    lines = [json.loads(line) for line in _path(tmp_path).read_text().splitlines()]
    assert [r["seq"] for r in lines] == list(range(1, 65))

    replay = Recording.replay(_path(tmp_path))
    played = replay.wrap(None, "agent")
    prompts += [f"branch {i}" for i in range(16)]
    random.Random(3).shuffle(prompts)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda p: (p, played.invoke(p).content), prompts))
    assert all(expected[p] == a for p, a in answers if p in expected)
    assert sorted(a for p, a in answers if p == "again") == repeats
    assert replay.unused() == 0


def test_unused_calls_are_reported(tmp_path: Path) -> None:
    recording = Recording.record(_path(tmp_path))
    model = recording.wrap(Echo(), "agent")
    model.invoke("one")
    recording.wrap(Echo(), "learner").invoke("two")
    assert recording.unused() == 0
    replay = Recording.replay(_path(tmp_path))
    replay.wrap(None, "agent").invoke("one")
    assert replay.unused() == 1
    with pytest.raises(RecordingError, match="1 recorded calls were never replayed .*call 2"):
        replay.check_complete()


def test_all_used_up(tmp_path: Path) -> None:
    recording = Recording.record(_path(tmp_path))
    recording.wrap(Echo(), "agent").invoke("one")
    played = Recording.replay(_path(tmp_path)).wrap(None, "agent")
    played.invoke("one")
    with pytest.raises(RecordingMismatch, match="Call 2 .* all 1 recorded calls are used up"):
        played.invoke("two")


def test_model_ids_match_on_record_and_replay(tmp_path: Path) -> None:
    inner = Echo()
    recording = Recording.record(_path(tmp_path))
    wrapped = recording.wrap(inner, "agent")
    assert isinstance(wrapped, RecordingChatModel) and wrapped._llm_type == "recording"
    assert model_id(wrapped) == model_id(inner) == "echo:echo-1"
    assert model_id(wrapped.bind(seed=1)) == model_id(inner)
    wrapped.invoke("hi")
    recording.wrap(scripted_model(), "learner").invoke("hi")

    replay = Recording.replay(_path(tmp_path))
    played = replay.wrap(scripted_model(), "agent")  # the given model is ignored
    assert isinstance(played, ReplayChatModel) and played._llm_type == "replay"
    assert model_id(played) == "echo:echo-1"
    assert model_id(replay.wrap(None, "learner")) == model_id(scripted_model())
    assert model_id(replay.wrap(None, "critic")) == "echo:echo-1"  # unknown role: first call


def test_truncation_and_tokens_replay(tmp_path: Path) -> None:
    recording = Recording.record(_path(tmp_path))
    live = invoke_reply(recording.wrap(Echo(), "learner"), "a long answer")
    replayed = invoke_reply(
        Recording.replay(_path(tmp_path)).wrap(None, "learner"), "a long answer"
    )
    assert live.truncated and replayed.truncated
    assert replayed == live and replayed.output_tokens == 5


def test_async_calls_replay(tmp_path: Path) -> None:
    recording = Recording.record(_path(tmp_path))
    live = asyncio.run(recording.wrap(Echo(), "agent").ainvoke("hi"))
    played = asyncio.run(Recording.replay(_path(tmp_path)).wrap(None, "agent").ainvoke("hi"))
    _same(live, played)


def test_bad_files_say_what_to_do(tmp_path: Path) -> None:
    missing = tmp_path / "none.jsonl"
    with pytest.raises(RecordingError, match="does not exist; make one with --record"):
        Recording.replay(missing)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(RecordingError, match="holds no calls"):
        Recording.replay(empty)

    recording = Recording.record(_path(tmp_path))
    recording.wrap(Echo(), "agent").invoke("hi")
    good = _path(tmp_path).read_text()
    for bad in (
        "{not json",
        json.dumps({"seq": 2}),
        "[1, 2]",
        json.dumps({**json.loads(good), "request": {}}),
    ):
        broken = tmp_path / "broken.jsonl"
        broken.write_text(good + bad + "\n")
        with pytest.raises(RecordingError, match="Line 2 of the recording .* is not a call record"):
            Recording.replay(broken)


def test_open_recording(tmp_path: Path) -> None:
    assert open_recording(None, None) is None
    with pytest.raises(RecordingError, match="not both"):
        open_recording(tmp_path / "a", tmp_path / "b")
    made = open_recording(str(_path(tmp_path)), None)
    assert made is not None and made.mode == "record" and _path(tmp_path).read_text() == ""
    made.wrap(Echo(), "agent").invoke("hi")
    loaded = open_recording(None, str(_path(tmp_path)))
    assert loaded is not None and loaded.mode == "replay" and len(loaded.records) == 1
    with pytest.raises(RecordingError, match="needs a model"):
        made.wrap(None, "agent")


def test_a_gz_recording_is_written_and_read_compressed(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl.gz"
    rec = Recording.record(path)
    model = rec.wrap(Echo(), "agent")
    first = model.invoke("one")
    model.invoke("two")
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    replay = Recording.replay(path)
    assert replay.wrap(None, "agent").invoke("one").content == first.content
    assert replay.unused() == 1
