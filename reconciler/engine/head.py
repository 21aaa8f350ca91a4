"""A head scan: read a game's list from its newest end only, until nothing is new; or back to a
date (`catch-up --since`).

Rules: the listing order is detected from the pay times of the first and last pages (the spec
does not say which end is newest): newest first, the head is page 1 and new orders push the
rest back (each answer's `total` says how far, as in engine.fetch); oldest first, the head is
the last page as it was when the scan began, and new orders are appended after it (the next
scan finds them). Positions are counted from the head as the list was when the scan began;
pages are read in waves (1, 2, 4 ... up to `concurrency` pages while they keep bringing
changes) and each page goes through the pipeline in head order. A head scan stops once the
covered positions form one run from the head and its last `quiet_pages` pages held nothing new
or changed; a `since` scan once the deepest page holds only orders paid before the date; both
at the end of the list. A list whose order cannot be told, or whose first or last page is not
sorted by pay time, is read whole (engine.scan's sweep): no head can be trusted there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.clients.jogos import Page
from reconciler.core.notify import listing_newest_first, sorted_page
from reconciler.engine.fetch import PageRows, missing_ranges, parse_page
from reconciler.engine.stream import Pipeline
from reconciler.errors import UpstreamError

if TYPE_CHECKING:
    from reconciler.engine.passes import Engine, GameRuntime, Progress
    from reconciler.engine.scan import Scope


Fetch = Callable[[int], Awaitable[tuple[Page, PageRows]]]
MAX_EXTRA_READS = 50  # pages read again (short pages, drift) before the scan gives up


@dataclass
class Head:
    """Where a head scan stands: the list as it began, what is covered, what is quiet."""

    total: int  # the list's length when the scan began
    size: int  # the store's page size
    newest_first: bool
    covered: list[tuple[int, int]] = field(default_factory=list)  # head positions [a, b)
    quiet: int = 0  # pages in a row, in head order, with nothing new or changed

    @property
    def pages(self) -> int:
        """Pages of the list as it began."""
        return -(-self.total // self.size)

    def page_at(self, position: int, shift: int) -> int:
        """The page that holds head position `position` now (`shift` orders after the
        start; oldest first nothing shifts)."""
        if self.newest_first:
            return (position + shift) // self.size + 1
        return (self.total - 1 - position) // self.size + 1

    def span(self, page_no: int, rows: int, shift: int) -> tuple[int, int]:
        """The head positions [a, b) a page read `shift` orders after the start covers."""
        start = (page_no - 1) * self.size
        if self.newest_first:
            return (start - shift, start - shift + rows)
        end = min(start + rows, self.total)  # rows appended since the start are not counted
        return (self.total - end, self.total - start)

    def frontier(self) -> int:
        """The first head position not covered (everything before it is)."""
        gaps = missing_ranges(self.covered, self.total)
        return gaps[0][0] if gaps else self.total


async def scan_head(engine: Engine, game: GameRuntime, pipeline: Pipeline, scope: Scope,
                    progress: Progress | None = None) -> None:
    """Read one game's list from the head until nothing is new (or back to `scope.since_s`).

    Raises PermanentError, TransientError from getOrders; LedgerError, InvariantError.
    """
    from reconciler.engine.scan import sweep

    figures = pipeline.streamed.figures
    size = engine.page_size

    async def fetch(page_no: int) -> tuple[Page, PageRows]:
        await pipeline.credits.take(size)
        page = await game.jogos.get_orders(page_no, size)
        rows = parse_page(game.game_id, page_no, page.content, 0)
        pipeline.credits.give(min(size, pipeline.credits.limit) - rows.rows)
        pipeline.arrived(rows)
        figures["pages"] += 1
        if progress is not None:
            progress.pages(figures["pages"], figures["pages"])
        return page, rows

    first, first_rows = await fetch(1)
    size = first.page_size if first.page_size > 0 else size
    pages = -(-first.total // size)
    if pages <= 1:
        await pipeline.process(game.game_id, [first_rows])
        return
    last, last_rows = await fetch(pages)
    times = ([o.pay_time_s for o in first_rows.orders], [o.pay_time_s for o in last_rows.orders])
    newest_first = listing_newest_first(*times)
    if newest_first is None or not all(sorted_page(t, newest_first) for t in times):
        figures["head_fallback"] += 1
        await pipeline.process(game.game_id, [first_rows, last_rows])
        await sweep(engine, game, pipeline, progress)
        return
    figures["newest_first" if newest_first else "oldest_first"] += 1
    head = Head(first.total, size, newest_first)
    shift = 0
    read: dict[int, tuple[int, PageRows]] = {}  # page -> (shift, rows) awaiting processing
    for page, rows in ((first, first_rows), (last, last_rows)):
        read[rows.page_no] = (page.total - head.total, rows)
    wave = engine.concurrency if scope.kind == "since" else 1
    while not engine.stopping.is_set():
        position = head.frontier()
        if position >= head.total:
            await pipeline.process(game.game_id, [r for _, r in read.values()])
            return
        wanted = _wave(head, position, shift, wave)
        missing = [p for p in wanted if p not in read]
        if figures["pages"] > 2 * head.pages + MAX_EXTRA_READS:
            raise UpstreamError(f"getOrders of game {game.game_id}: the head of the list could "
                                f"not be covered (short pages or drift)")
        for page, rows in await _read_all(fetch, missing, engine.concurrency):
            shift = max(shift, page.total - head.total)
            read[rows.page_no] = (page.total - head.total, rows)
        stop = await _process_wave(head, pipeline, game.game_id, read, wanted, scope,
                             engine.head_quiet_pages)
        read = {p: v for p, v in read.items() if p not in wanted}
        if stop:
            await pipeline.process(game.game_id, [r for _, r in read.values()])
            return
        wave = min(engine.concurrency, wave * 2) if head.quiet == 0 else wave


def _wave(head: Head, position: int, shift: int, count: int) -> list[int]:
    """`count` pages in head order from the one holding `position` (newest first, the list
    has grown by `shift`)."""
    first = head.page_at(position, shift)
    if head.newest_first:
        return [p for p in range(first, first + count) if p <= -(-(head.total + shift)
                                                                // head.size)]
    return [p for p in range(first, first - count, -1) if p >= 1]


async def _read_all(fetch: Fetch, pages: list[int], concurrency: int) -> list[tuple[Page,
                                                                                    PageRows]]:
    """Read these pages at once (at most `concurrency`), in the given order."""
    found: list[tuple[Page, PageRows]] = []
    for start in range(0, len(pages), concurrency):
        found.extend(await asyncio.gather(*(fetch(p) for p in pages[start:start + concurrency])))
    return found


async def _process_wave(head: Head, pipeline: Pipeline, game_id: int,
                  read: dict[int, tuple[int, PageRows]], wanted: list[int], scope: Scope,
                  quiet_pages: int) -> bool:
    """Process the wave's pages in head order; True when the scan may stop."""
    for page_no in wanted:
        page_shift, rows = read[page_no]
        changed = await pipeline.process(game_id, [rows], count_changes=True)
        head.covered.append(head.span(page_no, rows.rows, page_shift))
        head.quiet = 0 if changed else head.quiet + 1
        contiguous = head.frontier() >= head.span(page_no, rows.rows, page_shift)[1]
        if scope.kind == "since" and scope.since_s is not None:
            if contiguous and rows.orders and all(
                    o.pay_time_s < scope.since_s for o in rows.orders):
                return True
        elif contiguous and head.quiet >= quiet_pages:
            return True
    return False
