"""Which model errors pass, and how long to wait before asking again.

Rate limits, timeouts, dropped connections and 5xx answers pass: the same request
usually works a little later. Bad credentials, an unknown model or a refused request do
not, so they stop the run at once with one sentence saying what to fix.

Providers raise their own exception classes, so errors are told apart by HTTP status
(``status_code``, ``status`` or ``response.status_code``) and by class name along the
MRO, which needs no provider package imported. LangChain's ``Runnable.with_retry``
retries by exception type alone and does not say how many attempts it made, which the
usage totals need; a model already wrapped with it keeps its own retries on top of these.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from learnact_langgraph.validation import SettingError

Verdict = Literal["transient", "fatal", "other"]

#: Statuses worth asking again: timeout, conflict, too early, rate limit, 5xx, overloaded.
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
TRANSIENT_NAMES = frozenset(
    {
        "RateLimitError",
        "APITimeoutError",
        "APIConnectionError",
        "InternalServerError",
        "ServiceUnavailableError",
        "OverloadedError",
        "TimeoutException",
        "ReadTimeout",
        "ConnectTimeout",
        "ConnectError",
        "RemoteProtocolError",
        "ResourceExhausted",
        "DeadlineExceeded",
        "ServiceUnavailable",
        "TransientModelError",
    }
)
#: What to fix, by status (and by the class names providers use for them).
FATAL_STATUS: dict[int, str] = {
    400: "the provider refused the request as malformed; check the model settings "
    "(max_tokens, base_url)",
    401: "the provider refused the credentials; check the API key (for example OPENAI_API_KEY)",
    402: "the provider account has no credit left; check the account's billing",
    403: "the API key may not use this model; check the key's permissions",
    404: "the provider does not know this model or endpoint; check the model name and base_url",
    422: "the provider refused the request's settings; check max_tokens and the model name",
}
FATAL_NAMES: dict[str, int] = {
    "BadRequestError": 400,
    "AuthenticationError": 401,
    "PermissionDeniedError": 403,
    "PermissionDenied": 403,
    "NotFoundError": 404,
    "NotFound": 404,
    "UnprocessableEntityError": 422,
}
RETRY_DELAY_ENV = "LEARNACT_RETRY_DELAY_S"
RETRY_ATTEMPTS_ENV = "LEARNACT_RETRY_ATTEMPTS"


class TransientModelError(Exception):
    """A model error that passes (test models raise it to stand for a rate limit)."""


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an SDK exception carries, if any."""
    for value in (
        getattr(exc, "status_code", None),
        getattr(exc, "status", None),
        getattr(getattr(exc, "response", None), "status_code", None),
    ):
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value < 600:
            return value
    return None


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def classify(exc: BaseException) -> Verdict:
    """``transient`` (ask again), ``fatal`` (stop the run) or ``other`` (a plain error)."""
    status = status_of(exc)
    if status in TRANSIENT_STATUS:
        return "transient"
    if status in FATAL_STATUS:
        return "fatal"
    names = _names(exc)
    if names & TRANSIENT_NAMES or isinstance(exc, TimeoutError | ConnectionError):
        return "transient"
    if names & set(FATAL_NAMES):
        return "fatal"
    if status is not None and status >= 500:
        return "transient"
    return "other"


def fatal_hint(exc: BaseException) -> str:
    """What to fix for a fatal error, in a few words."""
    status = status_of(exc)
    if status is None:
        status = next((FATAL_NAMES[n] for n in _names(exc) if n in FATAL_NAMES), 400)
    return FATAL_STATUS.get(status, FATAL_STATUS[400])


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient model error is retried.

    The wait before attempt ``n`` (from 2) is ``initial_delay * 2**(n-2)``, capped at
    ``max_delay``, plus up to ``jitter`` of it at random, so that parallel branches that
    hit one rate limit do not come back in step.
    """

    max_attempts: int = 6
    initial_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or int(self.max_attempts) < 1:
            raise SettingError(
                f"max_attempts must be a whole number of at least 1, got {self.max_attempts!r}."
            )
        for name in ("initial_delay", "max_delay", "jitter"):
            if not float(getattr(self, name)) >= 0:
                value = getattr(self, name)
                raise SettingError(f"{name} must be 0 or more seconds, got {value!r}.")

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        base = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return base * (1.0 + self.jitter * rand())

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """The default policy, with ``$LEARNACT_RETRY_ATTEMPTS`` / ``$LEARNACT_RETRY_DELAY_S``."""
        attempts, delay = os.environ.get(RETRY_ATTEMPTS_ENV), os.environ.get(RETRY_DELAY_ENV)
        try:
            return cls(
                max_attempts=int(attempts) if attempts else cls.max_attempts,
                initial_delay=float(delay) if delay else cls.initial_delay,
            )
        except ValueError as exc:
            raise SettingError(
                f"{RETRY_ATTEMPTS_ENV} must be a whole number and {RETRY_DELAY_ENV} a number "
                f"of seconds ({exc})."
            ) from None


#: Waits between attempts; tests replace it to run without sleeping.
sleep: Callable[[float], None] = time.sleep
