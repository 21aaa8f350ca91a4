"""Head scans, `since` scans and sweeps against the sandbox, in both listing orders, with drift:
a head scan reads a handful of pages and misses no new order; a sweep catches the rest."""

from __future__ import annotations

import tomllib

import pytest

from reconciler.config import Config
from reconciler.core.catalog import parse_catalog
from reconciler.engine.passes import PassReport, open_engine, run_pass
from reconciler.engine.scan import Scope
from reconciler.ledger import Ledger
from reconciler.sandbox.jogos import Drift
from reconciler.sandbox.jogos_pages import Readings
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.testing.books import check_books, delivered_at_start
from tests.engine.conftest import ConfigFactory

CATALOG = parse_catalog(tomllib.loads(SANDBOX_CATALOG))
GAME = 9943


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=2000, seed=31), max_page_size=50)


async def run(config: Config, scope: Scope | None = None, **kwargs: object) -> PassReport:
    async with open_engine(config, dry_run=bool(kwargs.get("dry_run"))) as engine:
        return await run_pass(engine, scope=scope, **kwargs)  # type: ignore[arg-type]


def recorded(config: Config) -> set[str]:
    ledger = Ledger.open(config.db_path)
    try:
        return {o for (o,) in ledger.db.execute("SELECT order_id FROM orders")}
    finally:
        ledger.close()


@pytest.mark.parametrize("listing", ["newest", "oldest"])
async def test_a_head_scan_reads_a_handful_of_pages_and_misses_no_new_order(
        sandbox: Sandbox, make_config: ConfigFactory, listing: str) -> None:
    sandbox.jogos.readings = Readings(listing=listing)
    elsewhere = delivered_at_start(sandbox)
    config = make_config()
    assert (await run(config)).settled  # the first sweep
    await run(config)  # the delivery marks changed the store: a quiet sweep after them
    new = {o["orderId"] for o in sandbox.jogos.add_orders(GAME, 100)}
    calls = sandbox.jogos.get_orders_calls
    report = await run(config, Scope.head())
    reads = sandbox.jogos.get_orders_calls - calls
    assert new <= recorded(config)
    assert report.figures["new"] == 100 and report.settled, report.pending
    assert report.figures[f"{listing}_first"] == 1
    assert reads <= 2 + 100 // 50 + 1 + config.engine.head_quiet_pages, reads  # of 41 pages
    assert not check_books(sandbox, CATALOG, elsewhere).lines


@pytest.mark.parametrize("listing", ["newest", "oldest"])
async def test_head_scans_under_drift_miss_nothing_and_a_sweep_catches_the_rest(
        sandbox: Sandbox, make_config: ConfigFactory, listing: str) -> None:
    sandbox.jogos.readings = Readings(listing=listing)
    elsewhere = delivered_at_start(sandbox)
    config = make_config(RECONCILER_CONCURRENCY="4")
    await run(config)
    for _ in range(3):  # orders keep arriving (and old ones are refunded) while heads scan
        before = {o["orderId"] for o in sandbox.jogos.add_orders(GAME, 130)}
        sandbox.jogos.drift = Drift(new_orders_per_request=7, refunds_per_request=1)
        report = await run(config, Scope.head())
        sandbox.jogos.drift = Drift()
        assert before <= recorded(config), len(before - recorded(config))
        assert report.figures["pages"] < 20
    sweep = await run(config)
    assert sweep.figures["changed"] > 0  # refunds deep in the list: the sweep's share
    settled = await run(config)
    assert settled.settled, settled.pending
    assert recorded(config) == {o["orderId"] for o in sandbox.jogos.books[GAME].orders}
    assert not check_books(sandbox, CATALOG, elsewhere).lines


@pytest.mark.parametrize("listing", ["newest", "oldest"])
async def test_since_stops_paging_past_the_date(sandbox: Sandbox, make_config: ConfigFactory,
                                                listing: str) -> None:
    sandbox.jogos.readings = Readings(listing=listing)
    book = sandbox.jogos.books[GAME].orders
    since_s = int(book[-300]["payTime"])
    wanted = {o["orderId"] for o in book if o["payTime"] >= since_s}
    sandbox.jogos.drift = Drift(new_orders_per_request=3)
    config = make_config(RECONCILER_CONCURRENCY="4")
    calls = sandbox.jogos.get_orders_calls
    report = await run(config, Scope.since(since_s), dry_run=True)
    assert report.figures["pages"] == sandbox.jogos.get_orders_calls - calls < 2000 // 50 // 2
    report = await run(config, Scope.since(since_s))
    sandbox.jogos.drift = Drift()
    found = recorded(config)
    assert wanted <= found, len(wanted - found)
    assert len(found) < len(book) // 2


async def test_an_unsorted_list_is_swept_whole(sandbox: Sandbox,
                                               make_config: ConfigFactory) -> None:
    book = sandbox.jogos.books[GAME].orders
    book[0]["payTime"], book[-1]["payTime"] = book[-1]["payTime"], book[0]["payTime"]
    config = make_config()
    report = await run(config, Scope.head())
    assert report.figures["head_fallback"] == 1
    assert recorded(config) == {o["orderId"] for o in book}
