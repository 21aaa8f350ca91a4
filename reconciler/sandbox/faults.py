"""Fault injection shared by the simulators: latency, errors, timeouts, malformed bodies.

Rules: errors are injected before the handler runs (the request has no effect); timeouts and
malformed bodies are injected after it ran (the effect happened, the answer is lost), which
is the harshest case for a client that must not apply an effect twice.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Faults:
    """What to inject, as shares of requests (0..1) and delays in seconds."""

    latency_s: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    malformed_rate: float = 0.0
    hang_s: float = 30.0
    seed: int = 0
    # False: `latency_s` passes before the request is handled (its effect as late as it can
    # be). True: the answer leaves `latency_s` after the request reached the simulator, its
    # own work inside that time, as from a store that serves requests side by side (the
    # benchmarks: one Python process serving 16-32 requests at once would otherwise queue
    # them behind each other's work and add its own CPU to every request's latency).
    latency_covers_work: bool = False

    def validate(self) -> None:
        """Raises ValueError when a rate is outside 0..1 or a delay is negative."""
        for name in ("error_rate", "timeout_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {value}")
        if self.latency_s < 0 or self.hang_s < 0:
            raise ValueError("latency_s and hang_s must not be negative")


async def _sleep_until(due: float) -> None:
    """Sleep until the event loop's clock reads `due` (at once when it is past)."""
    left = due - asyncio.get_running_loop().time()
    if left > 0:
        await asyncio.sleep(left)


@dataclass
class FaultCounters:
    """How many faults of each kind were injected."""

    errors_http: int = 0
    errors_body: int = 0
    timeouts: int = 0
    malformed: int = 0


@dataclass
class FaultInjector:
    """Applies `faults` to API routes; `error_body` is the service's own system-error answer."""

    error_body: Callable[[], dict[str, object]]
    faults: Faults = field(default_factory=Faults)
    counters: FaultCounters = field(default_factory=FaultCounters)
    _rng: random.Random = field(default_factory=random.Random)

    def configure(self, faults: Faults) -> None:
        """Replace the faults in force (and reseed).

        Raises ValueError when they are invalid.
        """
        faults.validate()
        self.faults = faults
        self._rng = random.Random(faults.seed)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """aiohttp middleware; paths under /_sandbox/ are never faulted."""
        if request.path.startswith("/_sandbox/"):
            return await handler(request)
        f = self.faults
        if f.latency_covers_work:
            due = asyncio.get_running_loop().time() + f.latency_s
            try:
                response = await self._faulted(request, handler, f)
            except Exception:  # an HTTP error (404, 405, 500) is an answer too: no sooner
                await _sleep_until(due)
                raise
            await _sleep_until(due)
            return response
        if f.latency_s:
            await asyncio.sleep(f.latency_s)
        return await self._faulted(request, handler, f)

    async def _faulted(self, request: web.Request, handler: Handler,
                       f: Faults) -> web.StreamResponse:
        """The handler's answer with an error, a timeout or a malformed body injected."""
        roll = self._rng.random()
        if roll < f.error_rate:
            if self._rng.random() < 0.5:
                self.counters.errors_http += 1
                return web.json_response({"message": "injected"}, status=503)
            self.counters.errors_body += 1
            return web.json_response(self.error_body())
        response = await handler(request)
        roll -= f.error_rate
        if roll < f.timeout_rate:
            self.counters.timeouts += 1
            await asyncio.sleep(f.hang_s)
            return response
        roll -= f.timeout_rate
        if roll < f.malformed_rate:
            self.counters.malformed += 1
            return web.Response(text='{"code": "200", "page": {"content": [', status=200,
                                content_type="application/json")
        return response
