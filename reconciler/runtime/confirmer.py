"""Notifications that arrive together are confirmed together, one batch at a time.

Rules: the handler records and acknowledges; the confirmer takes every notification queued
since its last batch and asks the store about them in shared reads (engine.confirm). No batch
window is waited for: what arrives while a batch runs forms the next one. Work left in the
queue at shutdown is still pending in the ledger, and the drain job retries it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from reconciler.engine.confirm import confirm_notes
from reconciler.engine.passes import Engine
from reconciler.ledger.inbox import Note

log = logging.getLogger("reconciler.server")  # the name its log lines always had


class Confirmer:
    """A queue of fresh notifications and the task that confirms them in batches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.queue: list[Note] = []
        self.wake = asyncio.Event()
        self.figures: Counter[str] = Counter()
        self.latency_s: list[float] = []  # submit -> decided, the latest 10,000
        self._task: asyncio.Task[None] | None = None
        self._submitted: dict[str, float] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, note: Note) -> None:
        """Queue a recorded notification for confirmation (starts the loop if needed)."""
        self.queue.append(note)
        self._submitted[note.id] = time.perf_counter()
        self._idle.clear()
        self.wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(),
                                                                name="confirmer")

    async def _loop(self) -> None:
        while not self.engine.stopping.is_set():
            await self.wake.wait()
            self.wake.clear()
            batch, self.queue = self.queue, []
            if not batch:
                self._idle.set()
                continue
            try:
                self.figures.update(await confirm_notes(self.engine, batch))
                self.figures["batches"] += 1
            except Exception:
                log.exception("confirming %d notifications failed; the drain retries", len(batch))
            done = time.perf_counter()
            for note in batch:
                started = self._submitted.pop(note.id, None)
                if started is not None:
                    self.latency_s.append(done - started)
            del self.latency_s[:-10_000]
            if not self.queue:
                self._idle.set()

    async def idle(self) -> None:
        """Return once nothing is queued and no batch is under way (tests wait on this)."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Let the batch under way finish; what is queued stays pending in the ledger."""
        if self._task is not None and not self._task.done():
            self.wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            except TimeoutError:
                self._task.cancel()
        self._idle.set()  # nothing more will run
