"""The store confirms before anything moves (red-team finding: a notification signed with the
shared key granted an order the store never had).

Against the daemon as a subprocess and the sandbox's store of 5,000 orders (50 pages):
a forged notification grants nothing; real ones are found with a search over pages (a few
reads, in both listing orders) and settled; a refund is revoked once the store says refunded;
a notification that would change a known order's user is a conflict, not applied.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from reconciler.auth import jogos as jogos_auth
from reconciler.sandbox.jogos_pages import Readings, notification_doc
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from reconciler.testing.daemon import Daemon, finished_runs, until

GAME = 9943
PAGES = 50


@pytest.fixture(params=["newest", "oldest"])
def sandbox_options(request: pytest.FixtureRequest) -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=PAGES * 100, seed=21),
                          jogos_readings=Readings(listing=request.param))


def notes(daemon: Daemon, order_id: str) -> list[tuple[Any, ...]]:
    ledger = daemon.ledger()
    try:
        return ledger.db.execute(
            "SELECT paytype, status, attempts, detail FROM notifications WHERE order_id = ?",
            [order_id]).fetchall()
    finally:
        ledger.close()


@pytest.fixture
async def daemon(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Daemon]:
    running = Daemon(sandbox, tmp_path)
    await running.start()
    await until(lambda: finished_runs(running) >= 1, 60)  # the first pass is over
    try:
        yield running
    finally:
        await running.stop()
        running.close()


async def post_signed(http: aiohttp.ClientSession, daemon: Daemon, sandbox: Sandbox,
                      doc: dict[str, Any]) -> int:
    body = jogos_auth.encode_body(doc)
    headers = jogos_auth.signed_headers(body, sandbox.options.shared_key)
    async with http.post(daemon.url + "/jogos/notify", data=body, headers=headers) as response:
        assert (await response.json())["code"] == "200"
        return response.status


async def test_a_forged_notification_grants_nothing(sandbox: Sandbox, daemon: Daemon) -> None:
    real = json.loads(sandbox.jogos.notification_body(GAME, sandbox.jogos.books[GAME]
                                                      .orders[-1]["orderId"], "pay"))
    forged = real | {"orderId": "FORGEDORDER000000000000000001", "productId": "1003"}
    async with aiohttp.ClientSession() as http:
        assert await post_signed(http, daemon, sandbox, forged) == 200
    await until(lambda: any(n[2] >= 1 for n in notes(daemon, forged["orderId"])))
    (paytype, status, attempts, detail) = notes(daemon, forged["orderId"])[0]
    assert (paytype, status, attempts) == ("pay", "pending", 1)
    assert detail == "not listed by the store yet"
    assert not any(forged["orderId"] in token for token in sandbox.pgos.tokens)
    ledger = daemon.ledger()
    assert ledger.orders([(GAME, forged["orderId"])]) == []
    ledger.close()


async def test_real_notifications_are_found_in_a_few_reads_and_settled(
        sandbox: Sandbox, daemon: Daemon) -> None:
    new = sandbox.jogos.add_orders(GAME, 5)
    for order in new:
        order["productId"] = "1001"  # items: the grant's token is the effect id
    old = sandbox.jogos.books[GAME].orders[1234]  # deep in the list
    reads_before = sandbox.jogos.get_orders_calls
    async with aiohttp.ClientSession() as http:
        for order in [*new, old]:
            status, _ = await sandbox.jogos.notify(http, daemon.url + "/jogos/notify", GAME,
                                                   order["orderId"])
            assert status == 200
    for order in new:
        token = f"grant:{GAME}:{order['orderId']}"
        await until(lambda token=token: token in sandbox.pgos.tokens)
    await until(lambda: all(n[1] == "confirmed" for o in [*new, old]
                            for n in notes(daemon, o["orderId"])))
    reads = sandbox.jogos.get_orders_calls - reads_before
    # A scan reads 50 pages per notification; a search reads a handful per batch.
    assert reads <= 6 * 12, reads
    assert reads < PAGES


async def test_refund_waits_for_the_store_then_revokes(sandbox: Sandbox, daemon: Daemon) -> None:
    (order,) = sandbox.jogos.add_orders(GAME, 1)
    order["productId"] = "1001"
    token = f"grant:{GAME}:{order['orderId']}"
    url = daemon.url + "/jogos/notify"
    async with aiohttp.ClientSession() as http:
        await sandbox.jogos.notify(http, url, GAME, order["orderId"])
        await until(lambda: token in sandbox.pgos.tokens)
        order["refundStatus"], order["refundTime"] = 1, order["payTime"] + 60
        body = sandbox.jogos.notification_body(GAME, order["orderId"], "refund")
        order["refundStatus"] = 0  # the store still says "refunding"
        async with http.post(url, data=body, headers=jogos_auth.signed_headers(
                body, sandbox.options.shared_key)) as response:
            assert response.status == 200
        await until(lambda: any(n[0] == "refund" and n[2] >= 1
                                for n in notes(daemon, order["orderId"])))
        player = sandbox.pgos.players[str(order["userId"])]
        assert all(i.Status == "Available" for i in player.instances.values()
                   if i.IdempotencyToken == token)
        sandbox.jogos.refund(GAME, order["orderId"])
        again = sandbox.jogos.notification_body(GAME, order["orderId"], "refund")
        async with http.post(url, data=again, headers=jogos_auth.signed_headers(
                again, sandbox.options.shared_key)) as response:
            assert response.status == 200

    def revoked() -> bool:
        mine = [i for i in player.instances.values() if i.IdempotencyToken == token]
        return bool(mine) and all(i.Status == "Revoked" for i in mine)

    await until(revoked)


async def test_a_notification_cannot_rewrite_a_granted_order(sandbox: Sandbox,
                                                             daemon: Daemon) -> None:
    (order,) = sandbox.jogos.add_orders(GAME, 1)
    order["productId"] = "1001"
    token = f"grant:{GAME}:{order['orderId']}"
    async with aiohttp.ClientSession() as http:
        await sandbox.jogos.notify(http, daemon.url + "/jogos/notify", GAME, order["orderId"])
        await until(lambda: token in sandbox.pgos.tokens)
        rewrite = json.loads(sandbox.jogos.notification_body(GAME, order["orderId"], "pay"))
        rewrite |= {"userId": "999999", "createTime": rewrite["createTime"] + 1}
        await post_signed(http, daemon, sandbox, rewrite)
    await until(lambda: any(n[1] == "conflict" for n in notes(daemon, order["orderId"])))
    ledger = daemon.ledger()
    (known,) = ledger.orders([(GAME, order["orderId"])])
    ledger.close()
    assert known.user_id == str(order["userId"])
    grants = [e for e in sandbox.pgos.log if e.token == token and not e.replayed]
    assert len(grants) == 1 and "999999" not in sandbox.pgos.players


async def test_signature_trust_keeps_the_old_behaviour_but_refuses_rewrites(
        sandbox: Sandbox, tmp_path: Path) -> None:
    running = Daemon(sandbox, tmp_path, RECONCILER_NOTIFY_TRUST="signature")
    await running.start()
    try:
        await until(lambda: finished_runs(running) >= 1, 60)
        real = json.loads(sandbox.jogos.notification_body(
            GAME, sandbox.jogos.books[GAME].orders[-1]["orderId"], "pay"))
        forged = real | {"orderId": "SIGNEDONLY00000000000000000001", "arrivedStatus": 0,
                         "productId": "1001", "refundStatus": None}
        async with aiohttp.ClientSession() as http:
            await post_signed(http, running, sandbox, forged)
            token = f"grant:{GAME}:{forged['orderId']}"
            await until(lambda: token in sandbox.pgos.tokens)  # trusted on its signature
            rewrite = forged | {"userId": "424242", "createTime": forged["createTime"] + 1}
            await post_signed(http, running, sandbox, rewrite)
        await until(lambda: any(n[1] == "conflict" for n in notes(running, forged["orderId"])))
        assert "424242" not in sandbox.pgos.players
    finally:
        await running.stop()
        running.close()


async def test_an_order_the_store_lists_a_moment_later_is_settled_without_a_drain(
        sandbox: Sandbox, daemon: Daemon) -> None:
    """Jogos may notify before getOrders lists the order: the confirmer searches again soon
    (its quick retries write nothing while the store still does not list it)."""
    book = sandbox.jogos.books[GAME]
    (order,) = sandbox.jogos.add_orders(GAME, 1)
    order["productId"] = "1001"
    book.orders.pop()  # not listed yet
    del book.index[order["orderId"]]
    async with aiohttp.ClientSession() as http:
        await post_signed(http, daemon, sandbox, notification_doc(order, "pay", Readings()))
    await until(lambda: any(n[2] >= 1 for n in notes(daemon, order["orderId"])))
    book.add(order)  # now the store lists it
    token = f"grant:{GAME}:{order['orderId']}"
    await until(lambda: token in sandbox.pgos.tokens, 30)
    await until(lambda: [n[1] for n in notes(daemon, order["orderId"])] == ["confirmed"])
    assert notes(daemon, order["orderId"])[0][2] == 1  # one counted search; retries free
