"""Read every order of a game from getOrders: page 1, then the rest concurrently.

Rules: a pass must not miss an order that existed when it started, even while orders are added
(pages shift). Each answer's `total` tells how far the list had shifted when that page was read,
so each page covers a known range of the list as it was at the start; ranges left uncovered are
read again until none is left. Duplicates are merged by order id, the latest read winning.
Malformed rows are returned for quarantine, not raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reconciler.clients.jogos import JogosClient, Page
from reconciler.core.models import MalformedOrder, Order, parse_order
from reconciler.errors import UpstreamError

MAX_ROUNDS = 6
T = TypeVar("T")


@dataclass
class FetchResult:
    """Everything one game's getOrders said during a pass."""

    game_id: int
    orders: dict[str, Order] = field(default_factory=dict)
    malformed: list[tuple[Any, str]] = field(default_factory=list)
    total_at_start: int = 0
    total_at_end: int = 0
    pages_read: int = 0
    rereads: int = 0


def missing_ranges(covered: list[tuple[int, int]], total: int) -> list[tuple[int, int]]:
    """The parts of [0, total) that no [start, end) range in `covered` includes."""
    gaps: list[tuple[int, int]] = []
    cursor = 0
    for start, end in sorted(covered):
        if start > cursor:
            gaps.append((cursor, min(start, total)))
        cursor = max(cursor, end)
        if cursor >= total:
            break
    if cursor < total:
        gaps.append((cursor, total))
    return [(a, b) for a, b in gaps if a < b]


def pages_for(gaps: list[tuple[int, int]], shift: int, page_size: int) -> list[int]:
    """1-based page numbers that hold the start-of-pass positions in `gaps` after `shift`."""
    pages: set[int] = set()
    for start, end in gaps:
        first = (start + shift) // page_size + 1
        last = (end - 1 + shift) // page_size + 1
        pages.update(range(first, last + 1))
    return sorted(pages)


async def run_bounded(
    items: list[T], work: Callable[[T], Awaitable[None]], concurrency: int
) -> None:
    """Run `work` on every item with at most `concurrency` at a time.

    The first exception cancels the rest and is raised as itself (not an ExceptionGroup).
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


async def fetch_orders(
    client: JogosClient, *, page_size: int, concurrency: int,
    on_page: Callable[[int, int], None] | None = None,
) -> FetchResult:
    """Read every order of the client's game.

    `on_page(pages_done, pages_known)` is called after every page. Raises PermanentError when
    Jogos refuses (bad key, unknown game), TransientError when retries ran out, and
    UpstreamError when the list cannot be covered after several rounds.
    """
    result = FetchResult(client.game_id)
    covered: list[tuple[int, int]] = []
    latest_total = 0
    sequence = 0
    versions: dict[str, int] = {}

    def absorb(page_no: int, page: Page, size: int) -> None:
        nonlocal latest_total, sequence
        sequence += 1
        result.pages_read += 1
        latest_total = page.total
        shift = page.total - result.total_at_start
        start = (page_no - 1) * size - shift
        covered.append((start, start + len(page.content)))
        for raw in page.content:
            try:
                order = parse_order(client.game_id, raw)
            except MalformedOrder as exc:
                result.malformed.append((raw, exc.reason))
                continue
            if versions.get(order.order_id, -1) < sequence:
                versions[order.order_id] = sequence
                result.orders[order.order_id] = order

    first = await client.get_orders(1, page_size)
    size = first.page_size if first.page_size > 0 else page_size
    result.total_at_start = first.total
    absorb(1, first, size)
    todo = list(range(2, -(-first.total // size) + 1))
    progress = [1, len(todo) + 1]  # pages done, pages known
    if on_page:
        on_page(*progress)

    async def read(page_no: int) -> None:
        absorb(page_no, await client.get_orders(page_no, size), size)
        progress[0] += 1
        if on_page:
            on_page(*progress)

    for _ in range(MAX_ROUNDS):
        await run_bounded(todo, read, concurrency)
        gaps = missing_ranges(covered, result.total_at_start)
        if not gaps:
            result.total_at_end = latest_total
            return result
        todo = pages_for(gaps, latest_total - result.total_at_start, size)
        result.rereads += len(todo)
        progress[1] += len(todo)
    raise UpstreamError(
        f"getOrders of game {client.game_id}: {len(missing_ranges(covered, result.total_at_start))}"
        f" ranges of the order list stayed unread after {MAX_ROUNDS} rounds"
    )
