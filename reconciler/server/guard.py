"""Limits on the daemon's connections: how many, and how long a request head may take.

Rules: aiohttp has no timeout for a request head that never ends, and a process that runs out
of file descriptors makes asyncio log every failed accept. So the listener's protocol factory
is wrapped: past `max_connections` a connection is closed as soon as it is accepted (the cap
sits below the descriptor limit, keeping a reserve for that accept and for the ledger and
outbound HTTP), and a connection whose first request head is not complete within
`header_timeout_s` is closed. Idle keep-alive connections are closed by aiohttp's own
`keepalive_timeout`; request bodies are bounded in time by the app (see `body_timeout`).
The accept error that asyncio logs is let through at most once a minute.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FD_RESERVE = 100  # descriptors kept for the ledger, outbound HTTP and the accept-then-close
HEAD_END = b"\r\n\r\n"
MAX_HEAD_BYTES = 64 * 1024


def connection_cap(wanted: int) -> int:
    """`wanted`, lowered below this process's soft descriptor limit minus the reserve.

    The soft limit is first raised to the hard limit (what systemd's LimitNOFILE= sets).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - FD_RESERVE))


@dataclass
class GuardFigures:
    """Connections open now, refused at the cap, and closed for a slow head."""

    open: int = 0
    refused: int = 0
    slow_heads: int = 0


class ConnectionGuard:
    """A protocol factory wrapping aiohttp's, with the limits above."""

    def __init__(self, factory: Callable[[], asyncio.Protocol], *, max_connections: int,
                 header_timeout_s: float, figures: GuardFigures | None = None) -> None:
        self.factory = factory
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        self.figures = figures if figures is not None else GuardFigures()

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self)


class _Guarded(asyncio.Protocol):
    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard
        self.inner: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.head: bytearray | None = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        figures = self.guard.figures
        figures.open += 1
        if figures.open > self.guard.max_connections:
            figures.refused += 1
            transport.abort()
            return
        self.timer = asyncio.get_running_loop().call_later(self.guard.header_timeout_s,
                                                           self._slow_head)
        self.inner = self.guard.factory()
        self.inner.connection_made(transport)

    def _slow_head(self) -> None:
        self.timer = None
        if self.head is not None and self.transport is not None:
            self.guard.figures.slow_heads += 1
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.head is not None:
            self.head += data[:MAX_HEAD_BYTES]
            if HEAD_END in self.head or len(self.head) >= MAX_HEAD_BYTES:
                self.head = None  # complete (or too long: aiohttp answers 431/400)
                if self.timer is not None:
                    self.timer.cancel()
                    self.timer = None
        if self.inner is not None:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.figures.open -= 1
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.inner is not None:
            self.inner.connection_lost(exc)


class RateLimitFilter(logging.Filter):
    """Lets each distinct message through at most once per `interval_s`; counts the rest."""

    def __init__(self, interval_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self.last: dict[str, float] = {}
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg).split("\n", 1)[0][:200]
        now = self.clock()
        if now - self.last.get(key, -self.interval_s) < self.interval_s:
            self.suppressed += 1
            return False
        self.last[key] = now
        return True


async def listen(factory: Callable[[], asyncio.Protocol], host: str, port: int, *,
                 max_connections: int, header_timeout_s: float,
                 figures: GuardFigures | None = None,
                 **server_options: Any) -> tuple[asyncio.Server, ConnectionGuard]:
    """Listen on host:port with a guarded protocol factory, counting into `figures` (new ones
    when not given). Raises OSError (port taken)."""
    guard = ConnectionGuard(factory, max_connections=connection_cap(max_connections),
                            header_timeout_s=header_timeout_s, figures=figures)
    logging.getLogger("asyncio").addFilter(RateLimitFilter())
    server = await asyncio.get_running_loop().create_server(guard, host, port, **server_options)
    return server, guard
