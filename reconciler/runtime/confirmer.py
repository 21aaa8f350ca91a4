"""Notifications that arrive together are confirmed together, one batch at a time.

Rules: the handler records and acknowledges; the confirmer takes every notification queued
since its last batch and asks the store about them in shared reads (engine.confirm). No batch
window is waited for: what arrives while a batch runs forms the next one, and the next search
does not wait for the grants of the last one (they settle in tasks of their own). A
notification the store does not list yet is searched again after QUICK_RETRY_S (a store that
lists an order a moment after notifying it); those searches write nothing unless they find
it. After them the drain job retries. Work left at shutdown is pending in the ledger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from reconciler.core.models import Order
from reconciler.engine.confirm import decide_notes
from reconciler.engine.passes import Engine, settle_orders
from reconciler.ledger.inbox import Note

log = logging.getLogger("reconciler.server")  # the name its log lines always had
QUICK_RETRY_S = (1.0, 4.0, 15.0)  # searches again for a notification not listed yet


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
        self._settling: set[asyncio.Task[None]] = set()
        self._retries: dict[str, int] = {}
        self._timers: set[asyncio.TimerHandle] = set()

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
                self._maybe_idle()
                continue
            retried = [n for n in batch if n.id in self._retries]
            fresh = [n for n in batch if n.id not in self._retries]
            for notes, count in ((fresh, True), (retried, False)):
                if notes:
                    await self._decide(notes, count_misses=count)
            self._maybe_idle()

    async def _decide(self, batch: list[Note], *, count_misses: bool) -> None:
        try:
            figures, rows, still = await decide_notes(self.engine, batch,
                                                      count_misses=count_misses)
        except Exception:
            log.exception("confirming %d notifications failed; the drain retries", len(batch))
            return
        self.figures.update(figures)
        self.figures["batches"] += 1
        waiting = {n.id for n in still}
        if rows:
            task = asyncio.get_running_loop().create_task(self._settle(rows, batch, waiting))
            self._settling.add(task)
            task.add_done_callback(self._settled)
        else:
            self._stamp(batch, waiting)
        for note in still:
            self._retry_later(note)

    async def _settle(self, rows: list[Order], batch: list[Note], waiting: set[str]) -> None:
        try:
            self.figures.update(await settle_orders(self.engine, rows))
        except Exception:
            log.exception("settling %d confirmed orders failed; the drain retries", len(rows))
        self._stamp(batch, waiting)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._settling.discard(task)
        self._maybe_idle()

    def _stamp(self, batch: list[Note], waiting: set[str]) -> None:
        """Record submit -> settled latency for the notifications now decided."""
        done = time.perf_counter()
        for note in batch:
            if note.id in waiting:
                continue
            started = self._submitted.pop(note.id, None)
            self._retries.pop(note.id, None)
            if started is not None:
                self.latency_s.append(done - started)
        del self.latency_s[:-10_000]

    def _retry_later(self, note: Note) -> None:
        tries = self._retries.get(note.id, 0)
        if tries >= len(QUICK_RETRY_S) or self.engine.stopping.is_set():
            self._retries.pop(note.id, None)
            self._submitted.pop(note.id, None)
            return  # the drain job searches again from here on
        self._retries[note.id] = tries + 1

        def again() -> None:
            self._timers.discard(handle)
            if not self.engine.stopping.is_set():
                self.queue.append(note)
                self._idle.clear()
                self.wake.set()

        handle = asyncio.get_running_loop().call_later(QUICK_RETRY_S[tries], again)
        self._timers.add(handle)

    def _maybe_idle(self) -> None:
        if not self.queue and not self._settling:
            self._idle.set()

    async def idle(self) -> None:
        """Return once nothing is queued, no batch is under way and no confirmed order is
        still settling (tests wait on this; a quick retry that may come later writes nothing
        unless the store lists the order by then)."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Let the batch under way finish; what is queued stays pending in the ledger."""
        if self._task is not None and not self._task.done():
            self.wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            except TimeoutError:
                self._task.cancel()
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        if self._settling:
            await asyncio.wait(self._settling, timeout=5)
        self._idle.set()  # nothing more will run
