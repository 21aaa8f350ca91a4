"""The store confirms before anything moves: find notified orders in getOrders, then settle.

Rules: a notification moves nothing by itself. Waiting notifications are looked up in the
store's list, which is sorted by pay time (checked on every page read; the spec does not say
so, nor which end is newest — both are detected): a search over pages, a few reads per
order, pages shared by every order of a batch. What the store lists is recorded as any pass
would record it and settled from there; a notification the store does not show yet keeps
waiting (the next search, or the next pass, decides). An unsorted list ends the search:
those notifications wait for the next full pass.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.clients.jogos import JogosClient
from reconciler.core.models import MalformedOrder, Order, parse_order
from reconciler.core.notify import NoteStatus, listing_newest_first, sorted_page, step, verdict
from reconciler.engine.passes import Engine, settle_orders
from reconciler.ledger.inbox import Note

log = logging.getLogger("reconciler.engine")
WALK_PAGES = 256  # pages a batch may read beyond its searches; past them notifications wait


class Unsorted(Exception):
    """A page of getOrders is not sorted by pay time: no search is possible."""


@dataclass
class Search:
    """Pages of one game's list read during one batch of searches."""

    client: JogosClient
    page_size: int
    pages: dict[int, list[Order]] = field(default_factory=dict)
    seen: dict[str, Order] = field(default_factory=dict)  # every valid row read, by id
    page_count: int = 0
    newest_first: bool | None = None
    reads: int = 0

    async def page(self, page_no: int) -> list[Order]:
        """The valid orders of a page (read once per batch). Raises Unsorted, UpstreamError."""
        if page_no not in self.pages:
            answer = await self.client.get_orders(page_no, self.page_size)
            self.reads += 1
            if page_no == 1:
                size = answer.page_size if answer.page_size > 0 else self.page_size
                self.page_size = size
                self.page_count = -(-answer.total // size)
            rows = []
            for raw in answer.content:
                try:
                    rows.append(parse_order(self.client.game_id, raw))
                except MalformedOrder:
                    continue  # quarantined by passes; a search only needs the valid rows
            self.pages[page_no] = rows
            self.seen.update((o.order_id, o) for o in rows)
            if self.newest_first is not None and not sorted_page(
                    [o.pay_time_s for o in rows], self.newest_first):
                raise Unsorted(f"page {page_no} is not sorted by pay time")
        return self.pages[page_no]

    async def start(self) -> None:
        """Read the first and last pages and tell the listing's direction. Raises Unsorted."""
        first = await self.page(1)
        last = await self.page(self.page_count) if self.page_count > 1 else first
        # (page 1 tells how many pages there are, so the two reads cannot overlap.)
        newest_first = listing_newest_first([o.pay_time_s for o in first],
                                            [o.pay_time_s for o in last])
        if newest_first is None:
            newest_first = True  # one pay time only: either reading finds it by scanning
        self.newest_first = newest_first
        for rows in (first, last):
            if not sorted_page([o.pay_time_s for o in rows], newest_first):
                raise Unsorted("the first or last page is not sorted by pay time")

    async def find(self, told: Order) -> Order | None:
        """The store's row of `told`, or None when it is not listed. Raises Unsorted,
        UpstreamError.

        A fresh order sits at one end of the list: both ends are read already, so it costs
        nothing more; so does any order on a page this batch has read; anything else is a
        search by pay time.
        """
        assert self.newest_first is not None
        if told.order_id in self.seen:
            return self.seen[told.order_id]
        lo, hi, here = 1, self.page_count, 0
        while lo <= hi:
            mid = (lo + hi) // 2
            direction = step(told.pay_time_s, [o.pay_time_s for o in await self.page(mid)],
                             self.newest_first)
            if direction == 0:
                here = mid
                break
            lo, hi = (lo, mid - 1) if direction < 0 else (mid + 1, hi)
        if not here:  # between two pages (or past an end): both neighbours are looked at
            here = min(max(hi, 1), self.page_count)
        return await self._around(here, told)

    async def _around(self, page_no: int, told: Order) -> Order | None:
        """Look on `page_no`, on each neighbour (the list may have shifted), and farther
        for as long as pages still hold orders paid in the same second: a burst of orders
        paid together spans any number of pages, and a search by pay time lands anywhere
        in it. Each page is read once per batch, so a burst costs its pages once; a batch
        reads at most WALK_PAGES pages in all (what it holds stays bounded): past them, the
        notification waits for the next search or pass. Raises Unsorted, UpstreamError."""
        await self.page(page_no)
        for direction in (-1, 1):
            candidate = page_no
            while told.order_id not in self.seen and len(self.pages) < WALK_PAGES:
                candidate += direction
                if not 1 <= candidate <= self.page_count:
                    break
                rows = await self.page(candidate)
                if told.pay_time_s not in {o.pay_time_s for o in rows}:
                    break
        return self.seen.get(told.order_id)


async def find_in_store(client: JogosClient, page_size: int,
                        wanted: Sequence[Order]) -> tuple[dict[str, Order], int, bool]:
    """(store rows by order id, pages read, whether the list could be searched).

    Raises PermanentError or TransientError from getOrders.
    """
    search = Search(client, page_size)
    found: dict[str, Order] = {}
    try:
        await search.start()
        for told in sorted(wanted, key=lambda o: o.pay_time_s):
            if told.order_id not in found:
                row = await search.find(told)
                if row is not None:
                    found[told.order_id] = row
    except Unsorted as exc:
        log.warning("game %s: %s; notifications wait for the next pass", client.game_id, exc)
        return found, search.reads, False
    return found, search.reads, True


async def confirm_notes(engine: Engine, notes: Sequence[Note]) -> Counter[str]:
    """Look the notified orders up in the store, record what it lists, decide each
    notification, and settle the orders the store listed.

    Raises LedgerError; remote errors of one game are logged and its
    notifications keep waiting.
    """
    outcome, rows, _ = await decide_notes(engine, notes)
    if rows:
        outcome.update(await settle_orders(engine, rows))
    return outcome


async def decide_notes(engine: Engine, notes: Sequence[Note], *, count_misses: bool = True
                       ) -> tuple[Counter[str], list[Order], list[Note]]:
    """Look the notified orders up in the store, record what it lists and decide each
    notification; returns (figures, the store's rows to settle, the notes still pending).
    With `count_misses` False a search that finds nothing writes nothing (a quick retry
    does not use up the notification's searches).

    Raises LedgerError; remote errors of one game are logged and its notifications keep
    waiting (returned as pending).
    """
    outcome: Counter[str] = Counter()
    to_settle: list[Order] = []
    still: list[Note] = []
    ledger = engine.ledger
    for game in engine.games:
        mine = [n for n in notes if n.told.game_id == game.game_id]
        if not mine:
            continue
        try:
            found, reads, searchable = await find_in_store(game.jogos, engine.page_size,
                                                           [n.told for n in mine])
        except Exception as exc:  # a remote failure: they wait for the next attempt
            log.warning("game %s: confirming %d notifications failed: %s", game.game_id,
                        len(mine), exc)
            outcome["error"] += len(mine)
            still.extend(mine)
            continue
        outcome["reads"] += reads
        now = int(engine.clock())
        rows = list(found.values())
        if rows:
            ledger.record_orders(rows, now)
        decisions = []
        for note in mine:
            status = verdict(note.kind, note.told, found.get(note.told.order_id))
            detail = "" if status is not NoteStatus.PENDING else (
                "not listed by the store yet" if searchable else "store list not sorted")
            if status is NoteStatus.CONFLICT:
                detail = "the store lists another user or product"
                log.warning("notification conflict for %s/%s: %s", game.game_id,
                            note.told.order_id, detail)
            decisions.append((note.id, status, detail))
            outcome[status.value] += 1
            if status is NoteStatus.PENDING:
                still.append(note)
        ledger.decide_notes([d for d in decisions
                             if count_misses or d[1] is not NoteStatus.PENDING], now)
        to_settle.extend(rows)
    return outcome, to_settle, still


async def confirm_waiting(engine: Engine) -> Counter[str]:
    """Search the store again for the notifications still waiting for it (the drain's share;
    a fresh one is searched for as it arrives). Raises what `confirm_notes` raises."""
    waiting = engine.ledger.pending_notes(engine.game_ids)
    return await confirm_notes(engine, waiting) if waiting else Counter()
