"""Notifications to the daemon (a subprocess, against the sandbox) in every reading of the spec,
and with every value a store might send: a 4xx for what cannot be understood, never a 5xx nor
a logged error, the ledger unchanged, and the daemon still at work afterwards."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from reconciler.auth import jogos as jogos_auth
from reconciler.sandbox.jogos_pages import Readings
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from reconciler.testing.daemon import Daemon, table_dump, until
from tests.hostile_rows import BAD_ROWS, BAD_VALUES, BIG, row_text


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=200, seed=21))


@pytest.fixture
async def settled_daemon(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Daemon]:
    """A running daemon whose first scheduled pass has settled."""
    running = Daemon(sandbox, tmp_path)
    await running.start()
    ledger = running.ledger()
    try:
        await until(lambda: (ledger.last_run_of_kind("scheduled") or {}).get("status")
                    == "settled", timeout_s=60)
        yield running
    finally:
        ledger.close()
        await running.stop()
        running.close()


def errors_logged(daemon: Daemon) -> list[str]:
    """Lines of the daemon's log at error level, or with a traceback."""
    lines = (daemon.folder / "daemon.log").read_text(errors="replace").splitlines()
    return [line for line in lines if "Traceback" in line or '"level": "error"' in line
            or '"level": "critical"' in line]


async def test_hostile_values_get_4xx_and_the_daemon_keeps_working(
        sandbox: Sandbox, settled_daemon: Daemon) -> None:
    key, url = sandbox.options.shared_key, settled_daemon.url + "/jogos/notify"
    bodies = [row_text(field, value, {"gameId": 9943, "paytype": "pay"})
              for field, value, _ in BAD_VALUES]
    bodies += [text for text, _ in BAD_ROWS]  # bodies that are no objects
    bodies += [row_text("gameId", value) for value in (
        json.dumps(BIG), BIG, "1e308", "NaN", "Infinity", '{"id": 9943}', "[9943]", "-9943",
        "9943.5", json.dumps("9943" + "0" * 30))]
    bodies.append(row_text("paytype", '"refund"', {"gameId": 9943}))  # no refundStatus
    bodies.append(row_text("paytype", '"chargeback"', {"gameId": 9943}))
    ledger = settled_daemon.ledger()
    before = table_dump(ledger)
    async with aiohttp.ClientSession() as http:
        for text in bodies:
            body = text.encode()
            async with http.post(url, data=body,
                                 headers=jogos_auth.signed_headers(body, key)) as response:
                answer = await response.json()
                assert 400 <= response.status < 500, (text[:80], response.status, answer)
                assert answer["code"] in ("305", "40001"), (text[:80], answer)
        assert table_dump(ledger) == before
        (order,) = sandbox.jogos.add_orders(9943, 1)
        status, answer = await sandbox.jogos.notify(http, url, 9943, order["orderId"], "pay")
        assert (status, answer["code"]) == (200, "200")
        await until(lambda: f"grant:9943:{order['orderId']}" in sandbox.pgos.tokens)
    ledger.close()
    assert errors_logged(settled_daemon) == []


async def test_notifications_without_paytype_and_times_in_milliseconds(
        sandbox: Sandbox, settled_daemon: Daemon) -> None:
    """The spec's example has no `paytype`: the kind follows `refundStatus`. Times may come in
    milliseconds. A `refund` without `refundStatus` is refused and changes nothing."""
    sandbox.jogos.readings = Readings(paytype=False, time_unit="ms")
    url = settled_daemon.url + "/jogos/notify"
    (order,) = sandbox.jogos.add_orders(9943, 1)
    order["productId"] = "1003"
    token = f"grant:9943:{order['orderId']}"
    player = str(order["userId"])
    async with aiohttp.ClientSession() as http:
        status, answer = await sandbox.jogos.notify(http, url, 9943, order["orderId"], "pay")
        assert (status, answer["code"]) == (200, "200")
        await until(lambda: token in sandbox.pgos.tokens and order["arrivedStatus"] == 1)
        sandbox.jogos.refund(9943, order["orderId"])
        refund = json.loads(sandbox.jogos.notification_body(9943, order["orderId"], "refund"))
        assert "paytype" not in refund and refund["refundTime"] > 10**12
        status, answer = await sandbox.jogos.notify(http, url, 9943, order["orderId"], "refund")
        assert (status, answer["code"]) == (200, "200")

        def revoked() -> bool:
            mine = [i for i in sandbox.pgos.players[player].instances.values()
                    if i.IdempotencyToken == token]
            return bool(mine) and all(i.Status == "Revoked" for i in mine)

        await until(revoked)
        ledger = settled_daemon.ledger()
        (stored,) = ledger.orders([(9943, order["orderId"])])
        assert stored.refund_time_s == order["refundTime"]
        assert stored.pay_time_s == order["payTime"]
        before = table_dump(ledger)
        (other,) = sandbox.jogos.add_orders(9943, 1)
        sandbox.jogos.readings = Readings()
        body = sandbox.jogos.notification_body(9943, other["orderId"], "refund")
        async with http.post(url, data=body, headers=jogos_auth.signed_headers(
                body, sandbox.options.shared_key)) as response:
            assert response.status == 400 and (await response.json())["code"] == "305"
        assert table_dump(ledger) == before
        ledger.close()
    assert errors_logged(settled_daemon) == []
