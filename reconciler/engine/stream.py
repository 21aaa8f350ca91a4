"""A streaming pass: pages flow through record -> plan -> act in bounded chunks.

Rules: nothing here holds a whole store. Rows are counted from the page that brings them until
they are done with (planned to nothing, quarantined, or their order's actions finished): a
budget of `chunk_orders` rows (`fetch.Credits`) keeps the reader from asking for a page that
would exceed it, so at most a chunk of orders, and their actions (at most three per order), are
held at once; `Held` counts them, for tests and figures. Pages are applied in the order their
answers arrived, so the latest read of an order wins; an order read twice in a chunk is planned
once. A chunk is recorded and planned in slices of SLICE_ORDERS orders with a turn of the event
loop between two, so requests served by the same process never wait for a whole chunk.
Actions go to a pool of `effect_concurrency` workers that never drains between chunks;
each order's actions run in sequence under its lock (the executor's rules). A dry run records
nothing and acts on nothing: it counts the plan and makes only its first actions.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.concurrency import Foreground
from reconciler.core.models import Order
from reconciler.core.plan import ORDER_KEY, Action, Plan
from reconciler.engine.effects import Executor
from reconciler.engine.fetch import Credits, PageRows
from reconciler.ledger import Ledger

END = None  # closes a queue


SLICE_ORDERS = 100  # orders recorded and planned between two turns of the event loop (~1-2 ms)


class Planner(Protocol):
    """Plans orders against the ledger as it is now (Engine.plan_batch)."""

    def __call__(self, orders: list[Order]) -> Plan: ...


@dataclass
class Held:
    """What a pass holds right now, and the most it ever held: orders (rows read and not yet
    done with) and actions (planned and not yet run)."""

    orders: int = 0
    actions: int = 0
    peak_orders: int = 0
    peak_actions: int = 0

    def take(self, orders: int = 0, actions: int = 0) -> None:
        """Count rows or actions coming in."""
        self.orders += orders
        self.actions += actions
        self.peak_orders = max(self.peak_orders, self.orders)
        self.peak_actions = max(self.peak_actions, self.actions)

    def drop(self, orders: int = 0, actions: int = 0) -> None:
        """Count rows or actions done with."""
        self.orders -= orders
        self.actions -= actions


@dataclass
class Streamed:
    """A streaming pass's running figures and the first actions it planned."""

    figures: Counter[str] = field(default_factory=Counter)
    first_actions: list[Action] = field(default_factory=list)
    keep_actions: int = 1000
    held: Held = field(default_factory=Held)

    def planned(self, plan: Plan) -> None:
        """Count planned actions by kind and keep the first ones."""
        for kind, count in plan.kinds().items():
            self.figures["planned"] += count
            self.figures[f"planned_{kind.value}"] += count
        room = self.keep_actions - len(self.first_actions)
        if room > 0:
            self.first_actions.extend(plan.actions(room))


class EffectPool:
    """`concurrency` workers running order groups from a queue, so that effects flow across
    chunk boundaries; a group's `done` callback runs once it finished (or failed)."""

    def __init__(self, executor: Executor, concurrency: int,
                 on_done: Callable[[int], None] | None = None) -> None:
        self.executor = executor
        self.concurrency = max(1, concurrency)
        self.queue: asyncio.Queue[tuple[list[Action], Callable[[], None]] | None] = (
            asyncio.Queue())
        self.on_done = on_done
        self.workers: list[asyncio.Task[None]] = []

    def start(self, group: asyncio.TaskGroup) -> None:
        """Start the workers inside `group` (a failure there cancels the pass)."""
        self.workers = [group.create_task(self._work(), name=f"effects-{i}")
                        for i in range(self.concurrency)]

    def submit(self, actions: list[Action], done: Callable[[], None]) -> None:
        """Queue one order's actions."""
        self.queue.put_nowait((actions, done))

    async def close(self) -> None:
        """Let the queued work finish, then stop the workers. Raises what a worker raised."""
        for _ in self.workers:
            self.queue.put_nowait(END)
        await asyncio.gather(*self.workers)

    async def _work(self) -> None:
        while (item := await self.queue.get()) is not END:
            actions, done = item
            try:
                await self.executor.run_order(actions)
            finally:
                done()
            if self.on_done is not None:
                self.on_done(len(actions))


class Pipeline:
    """Record -> plan -> act for the pages of one pass, chunk by chunk, in slices of
    SLICE_ORDERS orders between which the event loop runs (and, with `foreground`, requests
    being answered finish first)."""

    def __init__(self, ledger: Ledger, planner: Planner, streamed: Streamed, credits: Credits,
                 pool: EffectPool | None, *, now_s: int,
                 foreground: Foreground | None = None) -> None:
        self.ledger = ledger
        self.planner = planner
        self.streamed = streamed
        self.credits = credits
        self.pool = pool  # None: a dry run
        self.now_s = now_s
        self.foreground = foreground

    def arrived(self, page: PageRows) -> None:
        """Count a page's rows as held (called as the page is handed on)."""
        self.streamed.held.take(orders=page.rows)

    def release(self, rows: int) -> None:
        """Rows done with: give their budget back."""
        self.streamed.held.drop(orders=rows)
        self.credits.give(rows)

    async def process(self, game_id: int, pages: list[PageRows], *,
                      count_changes: bool = False) -> int:
        """Quarantine, record, plan and hand to the pool the rows of these pages (in arrival
        order); returns how many orders were new or changed (a dry run counts them only with
        `count_changes`, since it reads the ledger for it). Orders go through in slices, in
        (game id, order id) order, with a turn of the event loop between two slices.

        Raises LedgerError, InvariantError.
        """
        figures, dry = self.streamed.figures, self.pool is None
        latest: dict[str, Order] = {}
        rows = 0
        for page in pages:
            rows += page.rows
            figures["malformed"] += len(page.malformed)
            if not dry:
                for raw, reason in page.malformed:
                    self.ledger.quarantine(game_id, raw, reason, self.now_s)
            for order in page.orders:
                latest[order.order_id] = order  # a later read of the same order wins
        orders = sorted(latest.values(), key=ORDER_KEY)  # (each slice's plan is then sorted)
        figures["orders"] += len(orders)
        self.release(rows - len(orders))  # malformed rows, and reads of an order read again
        changed = 0
        for start in range(0, len(orders), SLICE_ORDERS):
            if start:
                await self._pause()
            changed += self._process_slice(orders[start:start + SLICE_ORDERS], count_changes)
        return changed

    async def _pause(self) -> None:
        """Let handlers and readers in (requests being answered go first)."""
        await asyncio.sleep(0)
        if self.foreground is not None:
            await self.foreground.quiet()

    def _process_slice(self, orders: list[Order], count_changes: bool) -> int:
        """Record, plan and hand to the pool these orders; returns how many were new or
        changed (see `process`). Raises LedgerError, InvariantError."""
        figures, changed = self.streamed.figures, 0
        if self.pool is None:
            if count_changes:
                changed = len(self.ledger.changed_orders(orders))
        else:
            recorded = self.ledger.record_orders(orders, self.now_s)
            figures["new"] += recorded.new
            figures["changed"] += recorded.changed
            figures["unchanged"] += recorded.unchanged
            changed = recorded.new + recorded.changed
        plan = self.planner(orders)
        self.streamed.planned(plan)
        if self.pool is None:
            self.release(len(orders))
            return changed
        groups = plan.groups()
        self.streamed.held.take(actions=plan.size)
        self.release(len(orders) - len(groups))
        for group in groups:
            self.pool.submit(group, self._done_callback(len(group)))
        return changed

    def _done_callback(self, count: int) -> Callable[[], None]:
        def done() -> None:
            self.streamed.held.drop(actions=count)
            self.release(1)

        return done


async def consume(queue: asyncio.Queue[PageRows | None], pipeline: Pipeline, game_id: int,
                  chunk_rows: int, stopping: asyncio.Event,
                  foreground: Foreground | None = None) -> None:
    """Take pages from `queue` until END (or until `stopping` is set), processing them in
    batches of at least a quarter of a chunk (fewer statements and sorts per row; the readers
    go on meanwhile) and at most a chunk. Raises what `Pipeline.process` raises."""
    least = max(1, chunk_rows // 4)
    while not stopping.is_set() and (page := await queue.get()) is not END:
        batch, rows, ended = [page], page.rows, False
        while rows < chunk_rows and (rows < least or not queue.empty()):
            more = await queue.get()
            if more is END:
                ended = True
                break
            batch.append(more)
            rows += more.rows
        if foreground is not None:
            await foreground.quiet()  # a request being answered goes first
        await pipeline.process(game_id, batch)
        await asyncio.sleep(0)  # let handlers and readers in between chunks
        if ended:
            return


def peaks(streamed: Streamed) -> dict[str, int]:
    """The most orders and actions the pass held at once (figures of the pass)."""
    return {"peak_orders_held": streamed.held.peak_orders,
            "peak_actions_held": streamed.held.peak_actions}
