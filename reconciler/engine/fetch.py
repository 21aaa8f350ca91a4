"""Read every order of a game from getOrders: page 1, then the rest concurrently.

Rules: a pass must not miss an order that existed when it started, even while orders are added.
The spec does not say which end of the list is newest, so coverage is kept under both readings
and the pass ends only when both are complete. Newest first: new orders enter at the front and
push the rest back; each answer's `total` tells how far, so a page covers a known range of the
list as it was at the start. Oldest first: new orders are appended and nothing moves, so a page
covers its own positions, and the list as it was at the start ends at `total_at_start`. Ranges
left uncovered under either reading are read again until none is left (under the reading that
is not the store's, that costs a few extra reads and misses nothing). Pages are handed on as
they arrive (`read_pages`), in arrival order, so a consumer that applies them in that order
lets the latest read of an order win; with `Credits` the rows held stay within a budget.
`fetch_orders` keeps every order (the audit), merged by order id. Malformed rows are handed
on for quarantine, not raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.clients.jogos import JogosClient, Page
from reconciler.concurrency import run_bounded
from reconciler.core.models import Order, parse_rows
from reconciler.errors import UpstreamError

MAX_ROUNDS = 6
NEWEST, OLDEST = "newest", "oldest"  # the two readings of the list's order


@dataclass
class FetchResult:
    """Everything one game's getOrders said during a pass (`orders` and `malformed` are filled
    by `fetch_orders` only: a streaming pass hands them on page by page)."""

    game_id: int
    orders: dict[str, Order] = field(default_factory=dict)
    malformed: list[tuple[Any, str]] = field(default_factory=list)
    total_at_start: int = 0
    total_at_end: int = 0
    pages_read: int = 0
    rereads: int = 0


@dataclass(slots=True)
class PageRows:
    """One page as read: its valid orders and its malformed rows (with the reason), in the
    page's order; `sequence` numbers pages in the order their answers arrived."""

    page_no: int
    orders: list[Order]
    malformed: list[tuple[Any, str]]
    sequence: int

    @property
    def rows(self) -> int:
        """Rows on the page, valid or not."""
        return len(self.orders) + len(self.malformed)


class Credits:
    """A budget of rows a streaming pass may hold: a page is asked for only once its size is
    free; the consumer gives rows back as it finishes with them."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.free = self.limit
        self._freed = asyncio.Event()

    async def take(self, count: int) -> None:
        """Wait until `count` rows (at most the whole budget) are free, and take them."""
        count = min(count, self.limit)
        while self.free < count:
            self._freed.clear()
            await self._freed.wait()
        self.free -= count

    def give(self, count: int) -> None:
        """Give `count` rows back (a negative count takes rows a page brought unasked)."""
        self.free += count
        if count > 0:
            self._freed.set()


def parse_page(game_id: int, page_no: int, content: list[Any], sequence: int) -> PageRows:
    """Parse a page's rows; malformed ones are kept with their reason, never raised."""
    orders, malformed = parse_rows(game_id, content)
    return PageRows(page_no, orders, malformed, sequence)


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
    """1-based page numbers that hold the start-of-pass positions in `gaps` after `shift`
    (positions shifted before the front of the list are gone and need no page)."""
    pages: set[int] = set()
    for start, end in gaps:
        first = max(1, (start + shift) // page_size + 1)
        last = (end - 1 + shift) // page_size + 1
        pages.update(range(first, last + 1))
    return sorted(pages)


def page_coverage(page_no: int, page_size: int, rows: int,
                  shift: int) -> dict[str, tuple[int, int]]:
    """The start-of-pass positions [start, end) one page covers under each reading, when it
    was read `shift` orders after the pass started (its total minus the starting total)."""
    start = (page_no - 1) * page_size
    return {NEWEST: (start - shift, start - shift + rows), OLDEST: (start, start + rows)}


def pages_to_read(covered: dict[str, list[tuple[int, int]]], total_at_start: int,
                  shift: int, page_size: int) -> list[int]:
    """The pages to read again so that, under both readings, every position of the list as it
    was at the start is covered: newest first at the latest `shift`, oldest first unshifted."""
    newest = pages_for(missing_ranges(covered[NEWEST], total_at_start), shift, page_size)
    oldest = pages_for(missing_ranges(covered[OLDEST], total_at_start), 0, page_size)
    return sorted(set(newest) | set(oldest))


async def fetch_orders(
    client: JogosClient, *, page_size: int, concurrency: int,
    on_page: Callable[[int, int], None] | None = None,
) -> FetchResult:
    """Read every order of the client's game and keep them (the audit's read; a pass streams
    with `read_pages`). Duplicates merge by order id, the latest read winning.

    Raises what `read_pages` raises.
    """
    orders: dict[str, Order] = {}
    malformed: list[tuple[Any, str]] = []

    def keep(page: PageRows) -> None:
        for order in page.orders:
            orders[order.order_id] = order  # pages arrive in reading order: the latest wins
        malformed.extend(page.malformed)

    result = await read_pages(client, page_size=page_size, concurrency=concurrency,
                              deliver=keep, on_page=on_page)
    result.orders, result.malformed = orders, malformed
    return result


async def read_pages(
    client: JogosClient, *, page_size: int, concurrency: int,
    deliver: Callable[[PageRows], None], credits: Credits | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> FetchResult:
    """Read every page of the client's game, handing each to `deliver` as it arrives (in
    arrival order), with page-shift coverage under both readings; the result holds figures
    only. With `credits`, a page is asked for only once a page's worth of rows is free (the
    consumer gives rows back), so the rows held never exceed the budget.

    `on_page(pages_done, pages_known)` is called after every page. Raises PermanentError when
    Jogos refuses (bad key, unknown game), TransientError when retries ran out, and
    UpstreamError when the list cannot be covered after several rounds.
    """
    result = FetchResult(client.game_id)
    covered: dict[str, list[tuple[int, int]]] = {NEWEST: [], OLDEST: []}
    latest_total = 0

    async def get(page_no: int, asked: int) -> Page:
        if credits is not None:
            await credits.take(asked)
        return await client.get_orders(page_no, asked)

    def absorb(page_no: int, page: Page, size: int, asked: int) -> None:
        nonlocal latest_total
        result.pages_read += 1
        latest_total = page.total
        shift = page.total - result.total_at_start
        for reading, span in page_coverage(page_no, size, len(page.content), shift).items():
            covered[reading].append(span)
        rows = parse_page(client.game_id, page_no, page.content, result.pages_read)
        if credits is not None:
            credits.give(min(asked, credits.limit) - rows.rows)
        deliver(rows)

    first = await get(1, page_size)
    size = first.page_size if first.page_size > 0 else page_size
    result.total_at_start = first.total
    absorb(1, first, size, page_size)
    todo = list(range(2, -(-first.total // size) + 1))
    progress = [1, len(todo) + 1]  # pages done, pages known
    if on_page:
        on_page(*progress)

    async def read(page_no: int) -> None:
        absorb(page_no, await get(page_no, size), size, size)
        progress[0] += 1
        if on_page:
            on_page(*progress)

    for _ in range(MAX_ROUNDS):
        await run_bounded(todo, read, concurrency)
        todo = pages_to_read(covered, result.total_at_start, latest_total - result.total_at_start,
                             size)
        if not todo:
            result.total_at_end = latest_total
            return result
        result.rereads += len(todo)
        progress[1] += len(todo)
    raise UpstreamError(
        f"getOrders of game {client.game_id}: {len(todo)} pages of the order list stayed "
        f"unread after {MAX_ROUNDS} rounds"
    )

