"""What the daemon's handlers and jobs share: the engine, its settings, and running work."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reconciler.auth import s2s
from reconciler.clients.public_key import PublicKeyCache
from reconciler.config import Config
from reconciler.engine.passes import Engine
from reconciler.server.confirmer import Confirmer
from reconciler.server.guard import GuardFigures

log = logging.getLogger("reconciler.daemon")


@dataclass
class DaemonState:
    """Shared by handlers and scheduled jobs."""

    config: Config
    engine: Engine
    public_keys: PublicKeyCache
    clients: dict[str, s2s.ClientCredentials]
    started_s: float = field(default_factory=time.time)
    last_pass_ok_s: float | None = None
    last_pass_s: float | None = None
    last_pass_duration_s: float = 0.0
    passes: dict[str, int] = field(default_factory=lambda: {"ok": 0, "error": 0})
    notifications: dict[str, int] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    trigger_pass: Callable[[], None] | None = None
    connections: GuardFigures = field(default_factory=GuardFigures)
    confirmer: Confirmer = field(init=False)

    def __post_init__(self) -> None:
        self.confirmer = Confirmer(self.engine)

    @property
    def stopping(self) -> bool:
        """True once shutdown began: no new work is started."""
        return self.engine.stopping.is_set()

    def spawn(self, work: Awaitable[Any], name: str) -> None:
        """Run `work` in the background, tracked so that shutdown can wait for it; its
        failure is logged, not raised."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("%s failed", name)

        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @contextmanager
    def tracked(self) -> Iterator[None]:
        """Mark the current task as work shutdown must wait for (scheduled jobs)."""
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self.tasks.discard(task)

    def count(self, outcome: str) -> None:
        """Count a notification outcome for /metrics."""
        self.notifications[outcome] = self.notifications.get(outcome, 0) + 1
