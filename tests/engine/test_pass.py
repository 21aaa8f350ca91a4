"""End to end against the sandbox: passes settle, stay quiet, converge under faults and drift."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import aiohttp
import pytest

from reconciler.clients.jogos import JogosClient
from reconciler.clients.retry import PermanentError, RequestStats, RetryPolicy
from reconciler.config import Config
from reconciler.core.catalog import parse_catalog
from reconciler.engine.fetch import FetchResult, fetch_orders
from reconciler.engine.passes import PassReport, open_engine, run_pass
from reconciler.ledger import Ledger
from reconciler.sandbox.faults import Faults
from reconciler.sandbox.jogos import Drift
from reconciler.sandbox.jogos_pages import Readings
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.testing.books import check_books, delivered_at_start
from tests.engine.conftest import ConfigFactory
from tests.hostile_rows import every_bad_row

CATALOG = parse_catalog(tomllib.loads(SANDBOX_CATALOG))


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=2000, seed=11), max_page_size=50)


async def run(config: Config, **kwargs: object) -> PassReport:
    async with open_engine(config, dry_run=bool(kwargs.get("dry_run"))) as engine:
        return await run_pass(engine, **kwargs)  # type: ignore[arg-type]


def mutating_calls(sandbox: Sandbox) -> int:
    return len(sandbox.pgos.log) + len(sandbox.jogos.arrived_calls)


async def test_thousands_of_mixed_orders_settle_then_stay_quiet(
        sandbox: Sandbox, make_config: ConfigFactory) -> None:
    elsewhere = delivered_at_start(sandbox)
    config = make_config()
    first = await run(config)
    assert first.settled, first.pending
    assert first.figures["orders"] == 2000 and first.figures["new"] == 2000
    assert not check_books(sandbox, CATALOG, elsewhere).lines
    second = await run(config)  # the store changed: arrivedStatus became 1
    calls = mutating_calls(sandbox)
    ledger = Ledger.open(config.db_path)
    changes = ledger.db.conn.total_changes
    ledger.close()
    third = await run(config)
    assert second.settled and third.settled
    assert mutating_calls(sandbox) == calls, "a quiet pass changed something remotely"
    assert third.figures["new"] == third.figures["changed"] == 0
    assert third.actions == []
    ledger = Ledger.open(config.db_path)
    rows = ledger.db.execute("SELECT count(*) FROM orders WHERE changed_s > first_seen_s "
                             "AND changed_s > (SELECT max(started_s) FROM runs) ").fetchone()[0]
    ledger.close()
    assert rows == 0 and changes >= 0


async def test_refunds_are_revoked_exactly_once(sandbox: Sandbox,
                                                make_config: ConfigFactory) -> None:
    elsewhere = delivered_at_start(sandbox)
    config = make_config()
    await run(config)
    book = sandbox.jogos.books[9943]
    granted = [o for o in book.orders if o["orderId"] not in elsewhere
               and o["refundStatus"] is None][:60]
    for order in granted:
        sandbox.jogos.refund(9943, order["orderId"])
    report = await run(config)
    assert report.figures["effect_revoke:done"] == 60
    assert not check_books(sandbox, CATALOG, elsewhere).lines
    again = await run(config)
    assert "effect_revoke:done" not in again.figures


async def test_faults_converge_without_duplicates(sandbox: Sandbox,
                                                  make_config: ConfigFactory) -> None:
    elsewhere = delivered_at_start(sandbox)
    faults = Faults(error_rate=0.2, timeout_rate=0.05, malformed_rate=0.01, hang_s=0.5,
                    seed=3)
    sandbox.jogos.injector.configure(faults)
    sandbox.pgos.injector.configure(Faults(**{**faults.__dict__, "seed": 4}))
    config = make_config(RECONCILER_TIMEOUT_S="0.3", RECONCILER_MAX_ATTEMPTS="4")
    passes = 0
    for passes in range(1, 8):
        try:
            report = await run(config)
        except Exception:  # a page whose retries all failed stops the pass; run again
            continue
        if report.settled:
            break
    assert report.settled, report.pending
    assert not check_books(sandbox, CATALOG, elsewhere).lines
    injected = sandbox.pgos.injector.counters
    assert injected.timeouts > 0 and injected.errors_http + injected.errors_body > 0
    assert passes <= 7


@pytest.mark.parametrize("listing", ["newest", "oldest"])
async def test_drift_misses_nothing(sandbox: Sandbox, make_config: ConfigFactory,
                                    listing: str) -> None:
    sandbox.jogos.readings = Readings(listing=listing)
    sandbox.jogos.drift = Drift(new_orders_per_request=3, refunds_per_request=1)
    elsewhere = delivered_at_start(sandbox)
    config = make_config(RECONCILER_CONCURRENCY="8")
    first = await run(config)
    assert first.figures["orders"] >= 2000
    sandbox.jogos.drift = Drift()
    second = await run(config)
    assert second.settled
    assert not check_books(sandbox, CATALOG, elsewhere).lines
    ledger = Ledger.open(config.db_path)
    assert ledger.order_count() == len(sandbox.jogos.books[9943].orders)
    ledger.close()


async def fetch_all(config: Config, concurrency: int) -> FetchResult:
    game = config.game(9943)
    assert game is not None
    async with aiohttp.ClientSession() as session:
        client = JogosClient(session, base_url=game.jogos.base_url, game_id=9943,
                             shared_key=game.jogos.shared_key.reveal(),
                             retry=RetryPolicy(2, 0.01, 0.01), timeout_s=2,
                             stats=RequestStats())
        return await fetch_orders(client, page_size=50, concurrency=concurrency)


@pytest.mark.parametrize("listing", ["newest", "oldest"])
@pytest.mark.parametrize("concurrency", [1, 4, 16])
async def test_paging_under_drift_covers_every_order_that_existed(
        sandbox: Sandbox, make_config: ConfigFactory, concurrency: int, listing: str) -> None:
    sandbox.jogos.readings = Readings(listing=listing)
    existing = {o["orderId"] for o in sandbox.jogos.books[9943].orders}
    sandbox.jogos.drift = Drift(new_orders_per_request=7, refunds_per_request=2)
    fetched = await fetch_all(make_config(), concurrency)
    assert existing <= set(fetched.orders), len(existing - set(fetched.orders))
    assert fetched.total_at_end > fetched.total_at_start >= 2000
    if concurrency > 1 or listing == "oldest":
        assert fetched.rereads > 0


@pytest.mark.parametrize("listing", ["newest", "oldest"])
@pytest.mark.parametrize("concurrency", [1, 8])
async def test_short_pages_under_drift_are_read_again_in_place(
        sandbox: Sandbox, make_config: ConfigFactory, concurrency: int, listing: str) -> None:
    """Every 10th answer lists only half its rows while orders are added: the missing rows are
    read again where they are under either listing order (the reading the store does not use
    costs extra reads, never a missed order)."""
    sandbox.jogos.readings = Readings(listing=listing)
    existing = {o["orderId"] for o in sandbox.jogos.books[9943].orders}
    sandbox.jogos.drift = Drift(new_orders_per_request=7, short_page_every=10)
    fetched = await fetch_all(make_config(), concurrency)
    assert existing <= set(fetched.orders), len(existing - set(fetched.orders))
    assert fetched.rereads > 0


async def test_permanent_error_stops_the_pass(sandbox: Sandbox,
                                              make_config: ConfigFactory) -> None:
    config = make_config(JOGOS_SHARED_KEY="a-wrong-but-strong-key-1")
    with pytest.raises(PermanentError) as info:
        await run(config)
    assert info.value.code == "41007"
    assert "wrong-key" not in str(info.value)
    ledger = Ledger.open(config.db_path)
    status = ledger.db.execute("SELECT status FROM runs").fetchone()[0]
    ledger.close()
    assert status == "error"


async def test_dry_run_changes_nothing(sandbox: Sandbox, make_config: ConfigFactory) -> None:
    config = make_config()
    report = await run(config, dry_run=True)
    assert report.figures["planned_grant"] > 0
    assert mutating_calls(sandbox) == 0
    assert not config.db_path.exists()


async def test_unknown_product_then_catalog_appears(
        sandbox: Sandbox, make_config: ConfigFactory, tmp_path: Path) -> None:
    book = sandbox.jogos.books[9943]
    for order in book.orders[:30]:
        order["productId"] = "9999"
    config = make_config()
    report = await run(config)
    assert not report.settled
    waiting = [o for o in book.orders[:30] if o["refundStatus"] not in (0, 1)]
    assert report.pending["orders_attention"] == len(waiting) > 0
    granted = [o for o in waiting if o["arrivedStatus"] == 0]
    catalog = tmp_path / "catalog2.toml"
    catalog.write_text(SANDBOX_CATALOG + '\n[products."9999"]\n'
                       'items = [{ item_id = "mystery_box", amount = 1 }]\n')
    report = await run(make_config(RECONCILER_CATALOG=str(catalog)))
    assert report.settled, report.pending
    assert report.figures["effect_grant:done"] == len(granted)
    assert report.figures["effect_adopt:done"] == len(waiting) - len(granted)
    assert sum(1 for p in sandbox.pgos.players.values() for i in p.instances.values()
               if i.ItemID == "mystery_box") == len(granted)


async def test_unlinked_players_wait_for_links(sandbox: Sandbox, make_config: ConfigFactory,
                                               tmp_path: Path) -> None:
    config = make_config(RECONCILER_IDENTITY="linked")
    report = await run(config)
    assert report.pending["orders_attention"] > 0
    assert mutating_calls(sandbox) == 0
    ledger = Ledger.open(config.db_path)
    users = {str(o["userId"]) for o in sandbox.jogos.books[9943].orders}
    ledger.link_many([(9943, u, f"pgos-{u}") for u in users], 1)
    ledger.close()
    report = await run(config)
    assert report.settled, report.pending
    assert all(p.startswith("pgos-") for p in sandbox.pgos.players)


@pytest.mark.parametrize("clawback", ["fail", "debt", "negative"])
async def test_clawback_policies(sandbox: Sandbox, make_config: ConfigFactory,
                                 clawback: str) -> None:
    config = make_config(RECONCILER_CLAWBACK=clawback)
    await run(config)
    book = sandbox.jogos.books[9943]
    target = next(o for o in book.orders if o["productId"] == "1002"
                  and o["refundStatus"] is None and f"grant:9943:{o['orderId']}:GEM" in
                  sandbox.pgos.tokens)
    player = str(target["userId"])
    sandbox.pgos.spend(player, "GEM", sandbox.pgos.players[player].currency["GEM"])
    sandbox.jogos.refund(9943, target["orderId"])
    report = await run(config)
    ledger = Ledger.open(config.db_path)
    effect = ledger.effect(f"revoke:9943:{target['orderId']}")
    debts = ledger.counts()["debts"]
    ledger.close()
    assert effect is not None
    if clawback == "fail":
        assert effect.state.value == "attention" and not report.settled
        assert effect.last_error == "clawback_shortfall"
    elif clawback == "debt":
        assert effect.state.value == "done" and debts == 1
    else:
        assert effect.state.value == "done"
        assert sandbox.pgos.players[player].currency["GEM"] == -500


async def test_game_server_target(sandbox: Sandbox, make_config: ConfigFactory) -> None:
    config = make_config(RECONCILER_FULFILMENT="http", SINK_URL=sandbox.urls["game_server"],
                         SINK_CLIENT_ID=sandbox.options.s2s_client_id,
                         SINK_SECRET=sandbox.options.s2s_secret)
    report = await run(config)
    assert report.settled, report.pending
    assert len(sandbox.game_server.grants) == report.figures["effect_grant:done"] > 0
    assert not sandbox.game_server.rejected


@pytest.mark.parametrize("sandbox_options", [SandboxOptions(
    mix=OrderMix(count=60, seed=12), game_server_prefix="/studio")])
async def test_game_server_under_a_path_prefix(sandbox: Sandbox,
                                             make_config: ConfigFactory) -> None:
    config = make_config(RECONCILER_FULFILMENT="http", SINK_URL=sandbox.urls["game_server"],
                         SINK_CLIENT_ID=sandbox.options.s2s_client_id,
                         SINK_SECRET=sandbox.options.s2s_secret)
    assert config.sink is not None and config.sink.url.endswith("/studio")
    report = await run(config)
    assert report.settled, report.pending
    assert len(sandbox.game_server.grants) == report.figures["effect_grant:done"] > 0
    assert not sandbox.game_server.rejected


async def test_malformed_rows_are_quarantined(sandbox: Sandbox,
                                              make_config: ConfigFactory) -> None:
    book = sandbox.jogos.books[9943]
    book.orders[3]["arrivedStatus"] = "maybe"
    book.orders[4]["payTime"] = None
    config = make_config()
    report = await run(config)
    assert report.figures["malformed"] == 2
    assert report.pending["quarantined"] == 2
    ledger = Ledger.open(config.db_path)
    reasons = {r[0] for r in ledger.db.execute("SELECT reason FROM quarantine")}
    raw = [json.loads(r[0]) for r in ledger.db.execute("SELECT raw FROM quarantine")]
    ledger.close()
    assert reasons == {"arrivedStatus is not an integer", "payTime is missing"}
    assert {r["orderId"] for r in raw} == {book.orders[3]["orderId"], book.orders[4]["orderId"]}


async def test_every_kind_of_bad_row_is_quarantined_and_the_rest_settles(
        sandbox: Sandbox, make_config: ConfigFactory) -> None:
    """Huge numbers (as text and as JSON literals), floats, NaN/Infinity, objects and lists for
    strings, a null order id, statuses out of range, negative times, rows that are no objects:
    each is quarantined with its reason, every valid order settles, and the ledger holds
    exactly the valid orders."""
    elsewhere = delivered_at_start(sandbox)
    bad = every_bad_row()
    for position, (text, _) in enumerate(bad):
        sandbox.jogos.inject_raw(text)
        if position % 5 == 0:  # spread over several pages, between real orders
            sandbox.jogos.add_orders(9943, 60)
    config = make_config()
    report = await run(config)
    assert report.figures["malformed"] == len(bad)
    assert {k: v for k, v in report.pending.items() if v} == {"quarantined": len(bad)}
    assert not check_books(sandbox, CATALOG, elsewhere).lines
    ledger = Ledger.open(config.db_path)
    reasons = sorted(r[0] for r in ledger.db.execute("SELECT reason FROM quarantine"))
    assert ledger.order_count() == len(sandbox.jogos.books[9943].orders)
    ledger.close()
    assert reasons == sorted(reason for _, reason in bad)
    again = await run(config)  # seen again: counted, not duplicated, nothing else to do
    assert again.pending["quarantined"] == len(bad) and again.actions == []
