"""The daemon as a subprocess against the sandbox: READY, notifications, links, ops, SIGTERM."""

from __future__ import annotations

import asyncio
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from reconciler.core.catalog import parse_catalog
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.testing.books import check_books, delivered_at_start
from reconciler.testing.daemon import (
    Daemon,
    finished_runs,
    free_port,
    ops_headers,
    table_dump,
    until,
)


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=400, seed=8))


@pytest.fixture
async def daemon(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Daemon]:
    async with Daemon(sandbox, tmp_path) as running:
        yield running


async def test_ready_then_payment_and_refund_notifications(sandbox: Sandbox,
                                                           daemon: Daemon) -> None:
    await until(lambda: sandbox.jogos.get_orders_calls > 0)  # the first pass started
    (order,) = sandbox.jogos.add_orders(9943, 1)
    order["productId"] = "1003"
    async with aiohttp.ClientSession() as http:
        status, answer = await sandbox.jogos.notify(http, daemon.url + "/jogos/notify", 9943,
                                                    order["orderId"], "pay")
        assert (status, answer) == (200, {"code": "200", "msg": "Success"})
        token = f"grant:9943:{order['orderId']}"
        await until(lambda: token in sandbox.pgos.tokens and order["arrivedStatus"] == 1)
        again = await sandbox.jogos.notify(http, daemon.url + "/jogos/notify", 9943,
                                           order["orderId"], "pay")
        assert again == (200, {"code": "200", "msg": "Success"})
        sandbox.jogos.refund(9943, order["orderId"])
        await sandbox.jogos.notify(http, daemon.url + "/jogos/notify", 9943, order["orderId"],
                                   "refund")
        player = sandbox.pgos.players[str(order["userId"])]

        def revoked() -> bool:
            mine = [i for i in player.instances.values() if i.IdempotencyToken == token]
            return bool(mine) and all(i.Status == "Revoked" for i in mine)

        await until(revoked)
        grants = [e for e in sandbox.pgos.log if e.token == token and not e.replayed]
        assert len(grants) == 1


async def test_bad_signature_and_bad_input_change_nothing(sandbox: Sandbox,
                                                          daemon: Daemon) -> None:
    await until(lambda: finished_runs(daemon) >= 1, 60)  # the first pass is over
    ledger = daemon.ledger()
    before = table_dump(ledger)
    (order,) = sandbox.jogos.add_orders(9943, 1)
    body = sandbox.jogos.notification_body(9943, order["orderId"], "pay")
    url = daemon.url + "/jogos/notify"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body, headers={"Authorization": "0" * 40}) as r:
            assert r.status == 401 and (await r.json())["code"] == "41007"
        async with http.post(url, data=b"{not json", headers={"Authorization": "0" * 40}) as r:
            assert r.status == 400 and (await r.json())["code"] == "305"
        async with http.post(url, data=b'{"gameId": 1}') as r:
            assert (await r.json())["code"] == "40001"
        async with http.post(url, data=b"x" * 70_000) as r:
            assert r.status == 413
    assert table_dump(ledger) == before
    ledger.close()


async def test_ops_replay_refused_even_after_restart(sandbox: Sandbox, daemon: Daemon) -> None:
    await until(lambda: sandbox.jogos.get_orders_calls > 0)
    order = sandbox.jogos.books[9943].orders[0]
    path = f"/ops/orders/9943/{order['orderId']}"
    headers = ops_headers(path, "nonce-1")
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            async with http.get(daemon.url + path, headers=ops_headers(path, f"n{_}")) as r:
                if r.status == 200:
                    story = await r.json()
                    break
            await asyncio.sleep(0.1)
        assert story["order"]["order_id"] == order["orderId"]
        async with http.get(daemon.url + path, headers=headers) as r:
            assert r.status in (200, 404)
        async with http.get(daemon.url + path, headers=headers) as r:
            assert r.status == 401 and (await r.json())["error"] == "unauthorized"
        async with http.get(daemon.url + path) as r:
            assert r.status == 401
        assert await daemon.stop() == 0
        await daemon.start()
        async with http.get(daemon.url + path, headers=headers) as r:
            assert r.status == 401 and (await r.json())["error"] == "unauthorized"
        async with http.get(daemon.url + "/healthz") as r:
            assert r.status == 200
        async with http.get(daemon.url + "/metrics") as r:
            text = await r.text()
        assert "reconciler_effects" in text and "reconciler_remote_requests" in text


async def test_link_with_user_token(sandbox: Sandbox, tmp_path: Path) -> None:
    linked = Daemon(sandbox, tmp_path, RECONCILER_IDENTITY="linked")
    await linked.start()
    try:
        await until(lambda: sandbox.jogos.get_orders_calls > 0)
        user = str(sandbox.jogos.books[9943].orders[-1]["userId"])
        ledger = linked.ledger()
        await until(lambda: bool(ledger.waiting_for_user(9943, user)))
        sandbox.jogos.rotate_user_key()  # the key changed since the daemon fetched it (if so)
        token = sandbox.jogos.issue_user_token(user, 9943)
        async with aiohttp.ClientSession() as http:
            async with http.post(linked.url + "/link", json={"token": token,
                                                             "player_id": f"pgos-{user}"},
                                 headers=ops_headers("/link", "l1")) as r:
                answer = await r.json()
                assert r.status == 200, answer
            assert answer["orders_waiting"] > 0
            await until(lambda: f"pgos-{user}" in sandbox.pgos.players)
            wrong = sandbox.jogos.issue_user_token(user, 1234)
            async with http.post(linked.url + "/link", json={"token": wrong, "player_id": "x"},
                                 headers=ops_headers("/link", "l2")) as r:
                assert r.status == 401
        ledger.close()
    finally:
        await linked.stop()
        linked.close()


async def test_link_keeps_the_key_and_bounds_refetches(sandbox: Sandbox,
                                                      tmp_path: Path) -> None:
    # Long intervals, so that no count below depends on how long the test takes.
    linked = Daemon(sandbox, tmp_path, JOGOS_PUBLIC_KEY_TTL_S="3600",
                    JOGOS_PUBLIC_KEY_MIN_REFETCH_S="3600")
    await linked.start()
    try:
        async with aiohttp.ClientSession() as http:
            async def link(token: str, nonce: str) -> int:
                async with http.post(linked.url + "/link",
                                     json={"token": token, "player_id": "pgos-k"},
                                     headers=ops_headers("/link", nonce)) as r:
                    return r.status

            old = sandbox.jogos.issue_user_token("k1", 9943)
            assert [await link(old, f"a{i}") for i in range(5)] == [200] * 5
            assert sandbox.jogos.public_key_calls == 1
            sandbox.jogos.rotate_user_key()
            new = sandbox.jogos.issue_user_token("k1", 9943)
            assert await link(new, "b") == 200  # a failed signature: refetched, verified
            assert sandbox.jogos.public_key_calls == 2
            assert [await link(old, f"c{i}") for i in range(20)] == [401] * 20
            assert sandbox.jogos.public_key_calls == 2  # no refetch again within the interval
    finally:
        await linked.stop()
        linked.close()


@pytest.mark.parametrize("sandbox_options",
                         [SandboxOptions(mix=OrderMix(count=3000, seed=9))])
async def test_sigterm_during_a_pass_then_restart_finishes(sandbox: Sandbox,
                                                           tmp_path: Path) -> None:
    elsewhere = delivered_at_start(sandbox)
    running = Daemon(sandbox, tmp_path)
    await running.start()
    await until(lambda: len(sandbox.pgos.log) > 50)
    assert await running.stop() == 0
    await running.wait_for_message("STOPPING=1", 5)
    granted_at_stop = len(sandbox.pgos.tokens)
    await running.start()
    ledger = running.ledger()
    try:
        await until(lambda: ledger.last_run_of_kind("scheduled") is not None
                    and (ledger.last_run_of_kind("scheduled") or {}).get("status") == "settled",
                    timeout_s=60)
    finally:
        ledger.close()
    assert await running.stop() == 0
    running.close()
    assert len(sandbox.pgos.tokens) >= granted_at_stop
    catalog = parse_catalog(tomllib.loads(SANDBOX_CATALOG))
    violations = check_books(sandbox, catalog, elsewhere)
    assert not violations.lines, violations.lines[:5]


@pytest.mark.parametrize("sandbox_options", [SandboxOptions(
    mix=OrderMix(count=200, seed=12), extra_games={1220: "second-game-key-1220"})])
async def test_second_game_notification_uses_its_own_key(sandbox: Sandbox,
                                                         tmp_path: Path) -> None:
    config_file = tmp_path / "reconciler.toml"
    config_file.write_text('[[games]]\ngame_id = 1220\nshared_key_env = "KEY_1220"\n'
                           'catalog = "catalog.toml"\n')
    running = Daemon(sandbox, tmp_path, RECONCILER_CONFIG=str(config_file),
                     KEY_1220="second-game-key-1220")
    await running.start()
    try:
        await until(lambda: sandbox.jogos.get_orders_calls >= 2)
        (order,) = sandbox.jogos.add_orders(1220, 1)
        async with aiohttp.ClientSession() as http:
            status, answer = await sandbox.jogos.notify(
                http, running.url + "/jogos/notify", 1220, order["orderId"], "pay")
            assert (status, answer["code"]) == (200, "200")
            await until(lambda: f"grant:1220:{order['orderId']}" in sandbox.pgos.tokens)
            body = sandbox.jogos.notification_body(1220, order["orderId"], "pay")
            from reconciler.auth import jogos as jogos_auth

            wrong = jogos_auth.signed_headers(body, sandbox.options.shared_key)
            async with http.post(running.url + "/jogos/notify", data=body,
                                 headers=wrong) as r:
                assert (await r.json())["code"] == "41007"
    finally:
        await running.stop()
        running.close()


async def test_check_command(sandbox: Sandbox, daemon: Daemon) -> None:
    async def check(url: str) -> int:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "reconciler", "check", "--url", url, env=daemon.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        return await proc.wait()

    assert await check(daemon.url + "/healthz") == 0
    assert await check(f"http://127.0.0.1:{free_port()}/healthz") == 1
