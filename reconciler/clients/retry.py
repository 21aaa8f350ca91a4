"""Retry policy and request figures shared by the clients.

Rules: every retry of the package happens here (`RetryPolicy.run`), for TransientError only;
each one is logged at DEBUG (what, which attempt, why, the wait) and counted in
`RequestStats.retries` by request name, so a pass can report how many it needed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from reconciler.errors import UpstreamError

T = TypeVar("T")
log = logging.getLogger("reconciler.retry")


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

    async def run(self, attempt: Callable[[], Awaitable[T]], *,
                  stats: RequestStats | None = None, name: str = "request") -> T:
        """Call `attempt` until it succeeds, raises a non-transient error, or attempts run out
        (the last TransientError is raised). Each retry is logged at DEBUG and counted in
        `stats.retries[name]`.

        The first attempt runs bare (most succeed, and a tenacity controller costs more than
        a request's own bookkeeping); once it fails, tenacity takes over with that failure
        as its attempt 1, so waits, logs and counts are exactly tenacity's.
        """
        try:
            return await attempt()
        except TransientError as exc:
            failure: TransientError | None = exc
        async for retry_state in self.retrying(stats, name):
            with retry_state:
                if failure is not None:  # attempt 1, already made: its failure again
                    failed, failure = failure, None
                    raise failed
                return await attempt()
        raise AssertionError("unreachable: tenacity re-raises")  # pragma: no cover

    def retrying(self, stats: RequestStats | None = None,
                 name: str = "request") -> AsyncRetrying:
        """A tenacity controller retrying TransientError only, re-raising the last one; each
        retry is logged and counted (see `run`)."""

        def before_sleep(state: RetryCallState) -> None:
            if stats is not None:
                stats.retries[name] += 1
            failure = state.outcome.exception() if state.outcome is not None else None
            wait_s = state.next_action.sleep if state.next_action is not None else 0.0
            log.debug("retry %s: attempt %d of %d failed (%s); next in %.2f s", name,
                      state.attempt_number, self.max_attempts, failure, wait_s,
                      extra={"request": name, "attempt": state.attempt_number})

        return AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential_jitter(multiplier=self.initial_s, max=self.max_wait_s,
                                         jitter=self.initial_s),
            before_sleep=before_sleep,
            reraise=True,
        )


@dataclass
class RequestStats:
    """Requests sent, by service and endpoint, with failures by kind and time spent."""

    requests: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    retries: Counter[str] = field(default_factory=Counter)  # by request name

    def retried(self) -> int:
        """Retries so far, every request name together."""
        return sum(self.retries.values())

    def total(self, prefix: str = "") -> int:
        """Requests whose name starts with `prefix`."""
        return sum(n for name, n in self.requests.items() if name.startswith(prefix))
