"""Several daemons on one PostgreSQL ledger: one leads the schedule, every one serves; a nonce
spent at one is refused at the other; with the database gone a notification is answered 500
(Jogos retries), never acknowledged unrecorded, and the daemon recovers when it returns."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from reconciler.sandbox.runner import Sandbox
from reconciler.testing.daemon import Daemon, ops_headers
from reconciler.testing.ha import role, wait_for_leader
from reconciler.testing.load import wait_settled
from reconciler.testing.postgres import TempPostgres

GAME = 9943
CHECK_S = "0.5"


def shared(sandbox: Sandbox, tmp_path: Path, url: str, name: str) -> Daemon:
    folder = tmp_path / name
    folder.mkdir()
    return Daemon(sandbox, folder, RECONCILER_DB=url, RECONCILER_LEADER_CHECK_S=CHECK_S)


@pytest.fixture
async def pair(sandbox: Sandbox, tmp_path: Path,
               postgres_server: TempPostgres) -> AsyncIterator[list[Daemon]]:
    url = postgres_server.create_database()
    daemons = [shared(sandbox, tmp_path, url, "a"), shared(sandbox, tmp_path, url, "b")]
    for daemon in daemons:
        await daemon.start()
    try:
        yield daemons
    finally:
        for daemon in daemons:
            await daemon.stop()
            daemon.close()


async def test_one_leads_both_serve_and_share_nonces(
        pair: list[Daemon], sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    leader = await wait_for_leader(http, pair, 20)
    follower = next(d for d in pair if d is not leader)
    assert await role(http, follower) == "follower"
    # A notification to the follower is recorded, acknowledged and settled there.
    order = sandbox.jogos.add_orders(GAME, 1)[0]
    status, answer = await sandbox.jogos.notify(http, f"{follower.url}/jogos/notify", GAME,
                                                str(order["orderId"]))
    assert (status, answer["code"]) == (200, "200")
    assert await wait_settled(sandbox, [str(order["orderId"])], timeout_s=30) == []
    # A signed ops request spent at one daemon is a replay at the other.
    headers = ops_headers("/ops/pass", uuid.uuid4().hex)
    async with http.post(f"{leader.url}/ops/pass", headers=headers) as response:
        assert response.status == 202
    async with http.post(f"{follower.url}/ops/pass", headers=headers) as response:
        assert response.status == 401


async def test_a_notification_is_refused_while_postgres_is_down(
        sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession) -> None:
    server = TempPostgres().start()
    try:
        url = server.create_database()
        async with shared(sandbox, tmp_path, url, "a") as daemon:
            notify = f"{daemon.url}/jogos/notify"
            await wait_for_leader(http, [daemon], 20)
            first, second = sandbox.jogos.add_orders(GAME, 2)
            await asyncio.to_thread(server.halt)
            status, answer = await sandbox.jogos.notify(http, notify, GAME,
                                                        str(first["orderId"]))
            assert status == 500 and answer["code"] == "500"  # Jogos sends it again
            await asyncio.to_thread(server.resume)
            for order in (first, second):  # the retry, and a new one: recorded and settled
                status, answer = await sandbox.jogos.notify(http, notify, GAME,
                                                            str(order["orderId"]))
                assert (status, answer["code"]) == (200, "200")
            ids = [str(first["orderId"]), str(second["orderId"])]
            assert await wait_settled(sandbox, ids, timeout_s=30) == []
            ledger = daemon.ledger()
            try:
                noted = {o for (o,) in ledger.db.execute("SELECT order_id FROM notifications")}
            finally:
                ledger.close()
            assert set(ids) <= noted
    finally:
        server.stop()
