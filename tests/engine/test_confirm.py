"""Finding notified orders in getOrders by a search over pages, against the sandbox's store."""

from __future__ import annotations

import math

import aiohttp
import pytest

from reconciler.clients.jogos import JogosClient
from reconciler.clients.retry import RequestStats, RetryPolicy
from reconciler.core.models import parse_order
from reconciler.engine.confirm import find_in_store
from reconciler.sandbox.jogos_pages import Readings
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions

GAME = 9943


@pytest.fixture(params=["newest", "oldest"])
def sandbox_options(request: pytest.FixtureRequest) -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=3000, seed=2), max_page_size=50,
                          jogos_readings=Readings(listing=request.param))


def client(sandbox: Sandbox, http: aiohttp.ClientSession) -> JogosClient:
    return JogosClient(http, base_url=sandbox.urls["jogos"], game_id=GAME,
                       shared_key=sandbox.options.shared_key,
                       retry=RetryPolicy(2, 0.01, 0.02), timeout_s=5, stats=RequestStats())


async def test_every_order_is_found_in_logarithmic_reads(sandbox: Sandbox,
                                                          http: aiohttp.ClientSession) -> None:
    book = sandbox.jogos.books[GAME].orders
    for index in (0, 1, 777, 1500, 2998, 2999):
        wanted = [parse_order(GAME, book[index])]
        found, reads, searchable = await find_in_store(client(sandbox, http), 50, wanted)
        assert searchable and found == {wanted[0].order_id: wanted[0]}
        assert reads <= 2 + math.ceil(math.log2(60)) + 2, (index, reads)


async def test_a_batch_shares_its_reads_and_ties_span_pages(
        sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    sandbox.jogos.clock = lambda: 1_900_000_000  # 180 new orders paid in the same second
    new = sandbox.jogos.add_orders(GAME, 180)
    wanted = [parse_order(GAME, o) for o in new[::20]]
    found, reads, searchable = await find_in_store(client(sandbox, http), 50, wanted)
    assert searchable and set(found) == {o.order_id for o in wanted}
    assert reads <= 14, reads  # one search, its neighbours, shared by the nine orders
    missing = parse_order(GAME, new[0] | {"orderId": "NOTINTHESTORE00000000000000001"})
    found, _, _ = await find_in_store(client(sandbox, http), 50, [missing])
    assert found == {}


async def test_an_unsorted_list_is_not_searched(sandbox: Sandbox,
                                                http: aiohttp.ClientSession) -> None:
    book = sandbox.jogos.books[GAME]
    stray = dict(book.orders[10]) | {"orderId": "OUTOFORDER00000000000000000001",
                                     "payTime": book.orders[0]["payTime"] - 1000}
    book.add(stray)  # the newest entry, paid long ago: the list is no longer sorted
    found, _, searchable = await find_in_store(client(sandbox, http), 50,
                                               [parse_order(GAME, stray)])
    assert not searchable and found == {}


async def test_a_long_run_of_one_pay_time_is_searched_to_its_end(
        sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """A burst of orders paid in one second spans many pages: a binary search by pay time
    lands anywhere inside it, so the search walks the whole run (each page read once)."""
    sandbox.jogos.clock = lambda: 1_900_000_000
    new = sandbox.jogos.add_orders(GAME, 1500)  # 30 pages of one pay time
    wanted = [parse_order(GAME, o) for o in new[::37]]
    found, reads, searchable = await find_in_store(client(sandbox, http), 50, wanted)
    assert searchable and set(found) == {o.order_id for o in wanted}
    assert reads <= 2 + math.ceil(math.log2(90)) + 32, reads  # the run once, not per order


async def test_a_batch_reads_a_bounded_number_of_pages(
        sandbox: Sandbox, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past WALK_PAGES pages a batch stops walking: what it did not reach waits (pending)."""
    from reconciler.engine import confirm

    monkeypatch.setattr(confirm, "WALK_PAGES", 10)
    sandbox.jogos.clock = lambda: 1_900_000_000
    new = sandbox.jogos.add_orders(GAME, 1500)  # 30 pages of one pay time
    wanted = [parse_order(GAME, o) for o in new[::37]]
    found, reads, searchable = await find_in_store(client(sandbox, http), 50, wanted)
    assert searchable and 0 < len(found) < len(wanted)
    assert reads <= 10 + 1, reads  # the budget, and the page read that reached it
