"""The daemon's listener: the app (server.app), its aiohttp runner, and the connection guard.

Rules: no access log, no signal handling of its own (the daemon owns SIGTERM), idle keep-alive
connections close after `keepalive_s`; the guard's figures are the app's (for /metrics).
Shutdown is in two steps so that the daemon can wait for its background work in between:
`stop` (no new connections, requests under way finish) and `cleanup`. Before listening, what
the daemon holds for its whole life is frozen out of the cyclic GC (freeze_startup_objects).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from reconciler.concurrency import freeze_startup_objects
from reconciler.runtime import Runtime
from reconciler.server.app import CONNECTIONS, build_app
from reconciler.server.guard import listen

SHUTDOWN_TIMEOUT_S = 5


class Site:
    """The daemon's HTTP face, listening on `daemon.host:daemon.port`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.app = build_app(runtime)
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                                    shutdown_timeout=SHUTDOWN_TIMEOUT_S,
                                    keepalive_timeout=runtime.config.daemon.keepalive_s)
        self.listener: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen. Raises OSError when the port is taken."""
        settings = self.runtime.config.daemon
        await self.runner.setup()
        assert self.runner.server is not None
        freeze_startup_objects()
        self.listener, _ = await listen(self.runner.server, settings.host, settings.port,
                                        max_connections=settings.max_connections,
                                        header_timeout_s=settings.header_timeout_s,
                                        figures=self.app[CONNECTIONS])

    async def stop(self) -> None:
        """Accept no more connections; let requests under way finish (at most 5 s)."""
        if self.listener is not None:
            self.listener.close()
        await self.runner.shutdown()

    async def cleanup(self) -> None:
        """Release the app and its runner."""
        await self.runner.cleanup()
