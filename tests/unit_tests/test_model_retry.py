"""Which model errors are retried, how long the waits are, and what a user is told."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from learnact_langgraph.models import ModelError, RetryPolicy, Usage, invoke_reply, retry
from learnact_langgraph.testing.faults import ERRORS, FlakyChatModel, every
from learnact_langgraph.validation import SettingError


class _Status(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status


class _Response:
    status_code = 502


class _WithResponse(Exception):
    response = _Response()


class ReadTimeout(Exception):
    """Named like httpx's, with no status."""


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (_Status(429), "transient"),
        (_Status(503), "transient"),
        (_Status(529), "transient"),
        (_WithResponse(), "transient"),
        (ReadTimeout(), "transient"),
        (TimeoutError(), "transient"),
        (ConnectionResetError(), "transient"),
        (_Status(401), "fatal"),
        (_Status(404), "fatal"),
        (_Status(400), "fatal"),
        (ValueError("a bug"), "other"),
        *[
            (cls("x"), "fatal" if name in ("auth", "not_found") else "transient")
            for name, cls in ERRORS.items()
        ],
    ],
)
def test_errors_are_classified_by_status_and_name(exc: Exception, verdict: str) -> None:
    assert retry.classify(exc) == verdict


def test_waits_grow_are_capped_and_jittered() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=10.0, jitter=0.5)
    assert [policy.delay(n, lambda: 0.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert policy.delay(1, lambda: 1.0) == 1.5


@pytest.mark.parametrize("bad", [{"max_attempts": 0}, {"initial_delay": -1.0}, {"jitter": -0.1}])
def test_bad_policies_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(SettingError):
        RetryPolicy(**bad)


def test_environment_settings_and_their_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(retry.RETRY_ATTEMPTS_ENV, "3")
    monkeypatch.setenv(retry.RETRY_DELAY_ENV, "0.25")
    assert RetryPolicy.from_env() == RetryPolicy(max_attempts=3, initial_delay=0.25)
    monkeypatch.setenv(retry.RETRY_ATTEMPTS_ENV, "many")
    with pytest.raises(SettingError, match=retry.RETRY_ATTEMPTS_ENV):
        RetryPolicy.from_env()


def test_a_call_is_retried_and_every_attempt_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(retry, "sleep", waits.append)
    model = FlakyChatModel(
        inner=FakeListChatModel(responses=["fine"]), fails=lambda call: call < 3, error="timeout"
    )
    usage = Usage()
    reply = invoke_reply(model, "hi", usage=usage, node="act", policy=RetryPolicy(jitter=0.0))
    assert reply.text == "fine"
    assert (usage.calls, usage.retries, model.attempts) == (1, 2, 3)
    assert waits == [1.0, 2.0]
    assert usage.to_dict()["by_node"]["act"]["retries"] == 2


def test_a_call_that_keeps_failing_says_so_in_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "sleep", lambda s: None)
    model = FlakyChatModel(inner=FakeListChatModel(responses=["x"]), fails=every(1))
    usage = Usage()
    with pytest.raises(ModelError) as info:
        invoke_reply(model, "hi", usage=usage, node="act", policy=RetryPolicy(max_attempts=3))
    assert usage.retries == model.attempts == 3 and usage.calls == 0
    assert "still failed after 3 attempts" in str(info.value)
    assert "run the same command again" in str(info.value)


def test_stop_sequences_are_applied_to_runnables_that_take_none() -> None:
    from langchain_core.messages import AIMessage
    from langchain_core.runnables import RunnableLambda

    model = RunnableLambda(lambda messages: AIMessage(content="move(a)\nObservation: made up"))
    reply = invoke_reply(model, "hi", stop=["\nObservation"])
    assert reply.text == "move(a)"
