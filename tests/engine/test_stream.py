"""The streaming shape: a pass over a store larger than its chunk never holds more than a chunk
of orders, nor more than a chunk's actions (counted, not timed)."""

from __future__ import annotations

import asyncio
import itertools
import tomllib
from typing import cast

import pytest

from reconciler.config import Config
from reconciler.core.catalog import parse_catalog
from reconciler.core.models import Order
from reconciler.core.plan import Identity, Plan, Policy, make_plan
from reconciler.engine.effects import Executor
from reconciler.engine.fetch import Credits, PageRows
from reconciler.engine.passes import PassReport, open_engine, run_pass
from reconciler.engine.stream import SLICE_ORDERS, EffectPool, Pipeline, Streamed
from reconciler.ledger import Ledger
from reconciler.sandbox.jogos import Drift
from reconciler.sandbox.jogos_pages import Readings
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.testing.books import check_books, delivered_at_start
from tests.engine.conftest import ConfigFactory

CATALOG = parse_catalog(tomllib.loads(SANDBOX_CATALOG))
CHUNK = 200
MAX_ACTIONS_PER_ORDER = 3  # grant, revoke, a delivery mark re-sent
NO_EXECUTOR = cast(Executor, None)  # a pool whose workers never start runs nothing


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=3000, seed=21), max_page_size=50)


async def run(config: Config, **kwargs: object) -> PassReport:
    async with open_engine(config, dry_run=bool(kwargs.get("dry_run"))) as engine:
        return await run_pass(engine, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("dry_run", [True, False])
async def test_a_pass_holds_at_most_a_chunk(sandbox: Sandbox, make_config: ConfigFactory,
                                            dry_run: bool) -> None:
    elsewhere = delivered_at_start(sandbox)
    config = make_config(RECONCILER_CHUNK_ORDERS=str(CHUNK), RECONCILER_CONCURRENCY="8",
                         RECONCILER_EFFECT_CONCURRENCY="16")
    report = await run(config, dry_run=dry_run, keep_actions=10)
    figures = report.figures
    assert figures["orders"] == 3000 > 10 * CHUNK
    assert 0 < figures["peak_orders_held"] <= CHUNK
    assert figures["peak_actions_held"] <= MAX_ACTIONS_PER_ORDER * CHUNK
    assert len(report.actions) == 10 < figures["planned"]
    assert figures["planned"] == sum(v for k, v in figures.items() if k.startswith("planned_"))
    if not dry_run:
        assert figures["peak_actions_held"] > 0
        assert report.settled, report.pending
        assert not check_books(sandbox, CATALOG, elsewhere).lines


@pytest.mark.parametrize("listing", ["newest", "oldest"])
async def test_a_small_chunk_under_drift_misses_nothing(
        sandbox: Sandbox, make_config: ConfigFactory, listing: str) -> None:
    sandbox.jogos.readings = Readings(listing=listing)
    existing = {o["orderId"] for o in sandbox.jogos.books[9943].orders}
    sandbox.jogos.drift = Drift(new_orders_per_request=5, refunds_per_request=1)
    config = make_config(RECONCILER_CHUNK_ORDERS="120", RECONCILER_CONCURRENCY="8")
    report = await run(config)
    sandbox.jogos.drift = Drift()
    assert report.figures["peak_orders_held"] <= 120
    ledger = Ledger.open(config.db_path)
    recorded = {o for (o,) in ledger.db.execute("SELECT order_id FROM orders")}
    ledger.close()
    assert existing <= recorded, len(existing - recorded)
    assert report.figures["rereads"] > 0


async def test_credits_wait_for_room() -> None:
    credits = Credits(100)
    await credits.take(60)
    await credits.take(40)
    assert credits.free == 0
    credits.give(-5)  # a page brought more rows than asked
    credits.give(55)
    await credits.take(50)
    assert credits.free == 0
    credits.give(100)
    await credits.take(500)  # never more than the whole budget is asked for
    assert credits.free == 0


@pytest.mark.parametrize("dry_run", [True, False])
async def test_a_chunk_is_planned_in_slices_with_the_loop_running_between(dry_run: bool) -> None:
    """No stretch of a chunk's work holds the event loop for more than a slice of orders: a
    task counting turns of the loop moves between every two slices (counted, not timed)."""
    orders = [Order(9943, f"o{i:05}", "u", "1001", False, 1_700_000_000) for i in range(1234)]
    pages = [PageRows(n, orders[n * 100:(n + 1) * 100], [], n) for n in range(13)]
    ledger = Ledger.open(":memory:")
    turns = [0]
    seen: list[tuple[int, int]] = []  # (orders in the slice, turns of the loop before it)

    def planner(batch: list[Order]) -> Plan:
        seen.append((len(batch), turns[0]))
        return make_plan(batch, ledger.view([9943], [o.key for o in batch]), {9943: CATALOG},
                         {}, Policy(identity=Identity.SAME))

    async def count_turns() -> None:
        while True:
            turns[0] += 1
            await asyncio.sleep(0)

    streamed, credits = Streamed(), Credits(2000)
    pool = None if dry_run else EffectPool(NO_EXECUTOR, 1)
    pipeline = Pipeline(ledger, planner, streamed, credits, pool, now_s=1_700_000_000)
    for page in pages:
        pipeline.arrived(page)
    counter = asyncio.create_task(count_turns())
    try:
        assert await pipeline.process(9943, pages) == (0 if dry_run else 1234)
    finally:
        counter.cancel()
        ledger.close()
    assert sum(size for size, _ in seen) == 1234
    assert all(size <= SLICE_ORDERS for size, _ in seen) and len(seen) == -(-1234 // SLICE_ORDERS)
    assert all(before < after for (_, before), (_, after) in itertools.pairwise(seen))
    assert streamed.figures["planned"] == 2 * 1234  # a grant and a delivery mark each
    assert streamed.held.orders == (0 if dry_run else 1234)  # each order's group is queued
