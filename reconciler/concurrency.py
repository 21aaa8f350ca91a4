"""Bounded concurrency for anyone: the engine's pages and effects, the audit's inventories,
the test drivers' requests.

Rules: pure asyncio, no I/O of its own; at most `concurrency` pieces of work run at once; the
first failure cancels the rest and is raised as itself (not an ExceptionGroup). `Foreground`
lets answered requests go before background work. What a process holds for its whole life is
frozen out of the cyclic GC once it is wired (`freeze_startup_objects`), so that a full
collection does not stall the loop for tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


async def run_bounded(
    items: list[T], work: Callable[[T], Awaitable[None]], concurrency: int
) -> None:
    """Run `work` on every item with at most `concurrency` at a time.

    Raises the first exception `work` raised, as itself; the other workers are cancelled.
    """
    if not items:
        return
    queue: asyncio.Queue[T] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            await work(queue.get_nowait())

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(items))):
                group.create_task(worker())
    except ExceptionGroup as group_error:
        raise group_error.exceptions[0] from None


class Foreground:
    """Work a caller waits for (a notification being answered) goes first: `busy()` marks it
    while it runs; background work (a pass's effects, its next chunk) awaits `quiet()` before
    each step and so waits while a request is being answered or one was within the last
    `hold_s` (requests come in bursts: between two of them the next one is often already in
    the socket, not yet in a handler). Under a steady stream of requests background work
    pauses; it resumes `hold_s` after the last one."""

    def __init__(self, hold_s: float = 0.02) -> None:
        self.hold_s = hold_s
        self.active = 0
        self.last_s = float("-inf")
        self._idle = asyncio.Event()
        self._idle.set()

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Mark foreground work for the duration of the block."""
        self.active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.active -= 1
            self.last_s = asyncio.get_running_loop().time()
            if not self.active:
                self._idle.set()

    async def quiet(self) -> None:
        """Return once nothing was in the foreground for `hold_s` (at once when nothing
        was)."""
        loop = asyncio.get_running_loop()
        while True:
            await self._idle.wait()
            wait_s = self.last_s + self.hold_s - loop.time()
            if wait_s <= 0:
                return
            await asyncio.sleep(wait_s)


def freeze_startup_objects() -> None:
    """Leave what is alive once the daemon is wired (modules, classes, functions, settings:
    some 80,000 objects kept for the process's life) out of every later garbage collection.

    A full collection visits every tracked object, and with these it took 40-110 ms in a pass
    (bench/load.py with a probe): a stall of the event loop that every request in flight waits
    out. Garbage is collected first; frozen objects are still freed by reference counting,
    only a cycle among them would never be (gc.freeze). Once a process: a second call (a
    process running several passes, a test process) freezes nothing more.
    """
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
