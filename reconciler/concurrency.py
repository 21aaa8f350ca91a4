"""Bounded concurrency for anyone: the engine's pages and effects, the audit's inventories,
the test drivers' requests.

Rules: pure asyncio, no I/O of its own; at most `concurrency` pieces of work run at once; the
first failure cancels the rest and is raised as itself (not an ExceptionGroup).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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
