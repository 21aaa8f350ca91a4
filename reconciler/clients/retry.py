"""Retry policy and request figures shared by the clients."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from reconciler.errors import UpstreamError

T = TypeVar("T")


class TransientError(UpstreamError):
    """A failure worth retrying: the remote side may succeed next time."""


class PermanentError(UpstreamError):
    """A refusal that retrying will not change; `code` is the remote error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and how long to wait between them."""

    max_attempts: int = 5
    initial_s: float = 0.2
    max_wait_s: float = 5.0

    async def run(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Call `attempt` until it succeeds, raises a non-transient error, or attempts run out
        (the last TransientError is raised)."""
        async for retry_state in self.retrying():
            with retry_state:
                return await attempt()
        raise AssertionError("unreachable: tenacity re-raises")  # pragma: no cover

    def retrying(self) -> AsyncRetrying:
        """A tenacity controller retrying TransientError only, re-raising the last one."""
        return AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential_jitter(multiplier=self.initial_s, max=self.max_wait_s,
                                         jitter=self.initial_s),
            reraise=True,
        )


@dataclass
class RequestStats:
    """Requests sent, by service and endpoint, with failures by kind and time spent."""

    requests: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)

    def total(self, prefix: str = "") -> int:
        """Requests whose name starts with `prefix`."""
        return sum(n for name, n in self.requests.items() if name.startswith(prefix))
