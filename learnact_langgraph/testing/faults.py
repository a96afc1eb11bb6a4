"""Models that fail the way real providers do, for fault tests and soak runs.

:class:`FlakyChatModel` wraps any chat model and raises a provider-like error on the
calls a schedule picks (every third call, calls 40 to 60, ...). The errors carry an
HTTP status and a provider's class name, so they are classified exactly as an SDK's
errors would be (:mod:`learnact_langgraph.models.retry`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import ConfigDict, Field, PrivateAttr


class ProviderError(Exception):
    """Base of the fake provider errors: a message and an HTTP status."""

    status_code = 500

    def __init__(self, message: str = "") -> None:
        super().__init__(message or f"HTTP {self.status_code}")


class RateLimitError(ProviderError):
    status_code = 429


class InternalServerError(ProviderError):
    status_code = 503


class AuthenticationError(ProviderError):
    status_code = 401


class NotFoundError(ProviderError):
    status_code = 404


class APITimeoutError(TimeoutError):
    """A request timeout, as SDKs raise it (a ``TimeoutError`` with no status)."""


ERRORS: dict[str, type[Exception]] = {
    "rate_limit": RateLimitError,
    "server": InternalServerError,
    "timeout": APITimeoutError,
    "auth": AuthenticationError,
    "not_found": NotFoundError,
}


def every(n: int) -> Callable[[int], bool]:
    """A schedule failing calls n, 2n, 3n, ... (1-based)."""
    return lambda call: call % n == 0


def between(first: int, last: int) -> Callable[[int], bool]:
    """A schedule failing calls ``first`` to ``last`` (an outage)."""
    return lambda call: first <= call <= last


class FlakyChatModel(BaseChatModel):
    """``inner`` with provider errors on the calls ``fails(call_number)`` picks.

    ``attempts`` counts every request (failed ones too) and ``failures`` the errors
    raised, so a test can check that usage totals account for each of them.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    fails: Callable[[int], bool]
    error: str = "rate_limit"
    attempts: int = 0
    failures: int = 0
    prompts: list[str] = Field(default_factory=list, repr=False)  # grows with every call
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "flaky"

    @property
    def learnact_model_id(self) -> str:
        from learnact_langgraph.models import model_id

        return model_id(self.inner)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            self.attempts += 1
            call = self.attempts
            failing = self.fails(call)
            self.failures += failing
            if not failing:
                self.prompts.append(str(messages[-1].content))
        if failing:
            raise ERRORS[self.error](f"{self.error} on call {call}")
        return self.inner._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
