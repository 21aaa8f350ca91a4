"""Conformance of the Jogos simulator with the spec."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from reconciler.auth import jogos
from reconciler.sandbox.faults import Faults
from reconciler.sandbox.jogos import ARRIVED, GET_ORDERS, Drift
from reconciler.sandbox.runner import Sandbox
from reconciler.testing.daemon import until


async def post(http: aiohttp.ClientSession, sandbox: Sandbox, path: str, payload: Any,
               key: str | None = None, raw: bytes | None = None) -> Any:
    body = raw if raw is not None else jogos.encode_body(payload)
    headers = jogos.signed_headers(body, key or sandbox.options.shared_key)
    async with http.post(sandbox.urls["jogos"] + path, data=body, headers=headers) as response:
        assert response.status == 200
        return await response.json()


async def page(http: aiohttp.ClientSession, sandbox: Sandbox, no: int, size: int) -> Any:
    return await post(http, sandbox, GET_ORDERS,
                      {"gameId": sandbox.options.game_id, "pageNo": no, "pageSize": size})


async def test_paging_covers_every_order_once_newest_first(sandbox: Sandbox,
                                                           http: aiohttp.ClientSession) -> None:
    first = await page(http, sandbox, 1, 40)
    assert first["code"] == "200"
    info = first["page"]
    assert (info["total"], info["totalPage"], info["currentPage"], info["pageSize"]) == (
        250, 7, 1, 40)
    seen: list[dict[str, Any]] = list(info["content"])
    for no in range(2, info["totalPage"] + 1):
        seen += (await page(http, sandbox, no, 40))["page"]["content"]
    ids = [o["orderId"] for o in seen]
    assert len(ids) == len(set(ids)) == 250
    pay_times = [o["payTime"] for o in seen]
    assert pay_times == sorted(pay_times, reverse=True)
    assert set(seen[0]) == {"orderId", "arrivedStatus", "payTime", "productId", "userId",
                            "refundStatus", "refundTime"}
    beyond = await page(http, sandbox, 8, 40)
    assert beyond["page"]["content"] == []


async def test_page_size_is_capped(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    answer = await page(http, sandbox, 1, 1000)
    assert answer["page"]["pageSize"] == 100
    assert len(answer["page"]["content"]) == 100
    assert answer["page"]["totalPage"] == 3


async def test_orders_are_deterministic_by_seed() -> None:
    from reconciler.sandbox.orders import OrderFactory, OrderMix

    one = OrderFactory(OrderMix(count=50, seed=3), 1).make_many(50)
    two = OrderFactory(OrderMix(count=50, seed=3), 1).make_many(50)
    other = OrderFactory(OrderMix(count=50, seed=4), 1).make_many(50)
    assert one == two != other


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"pageNo": 1, "pageSize": 5}, "305"),
        ({"gameId": 9943, "pageSize": 5}, "305"),
        ({"gameId": 9943, "pageNo": 1}, "305"),
        ({"gameId": 9943, "pageNo": "x", "pageSize": 5}, "305"),
        ({"gameId": 1, "pageNo": 1, "pageSize": 5}, "40001"),
    ],
)
async def test_documented_errors(sandbox: Sandbox, http: aiohttp.ClientSession,
                                 payload: dict[str, Any], code: str) -> None:
    answer = await post(http, sandbox, GET_ORDERS, payload)
    assert answer["code"] == code
    assert sandbox.jogos.rejected[code] == 1


async def test_wrong_signature_and_malformed_body(sandbox: Sandbox,
                                                  http: aiohttp.ClientSession) -> None:
    payload = {"gameId": sandbox.options.game_id, "pageNo": 1, "pageSize": 5}
    answer = await post(http, sandbox, GET_ORDERS, payload, key="wrong-key")
    assert answer == {"code": "41007", "msg": "Verification failed"}
    # Signed over other bytes than those sent (re-serialized with spaces).
    body = jogos.encode_body(payload)
    headers = jogos.signed_headers(json.dumps(payload).encode(), sandbox.options.shared_key)
    async with http.post(sandbox.urls["jogos"] + GET_ORDERS, data=body,
                         headers=headers) as response:
        assert (await response.json())["code"] == "41007"
    assert (await post(http, sandbox, GET_ORDERS, None, raw=b"{not json"))["code"] == "305"
    assert sandbox.jogos.get_orders_calls == 0


async def test_arrivedorder_marks_delivered(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    book = sandbox.jogos.books[sandbox.options.game_id]
    order = next(o for o in book.orders if o["arrivedStatus"] == 0)
    answer = await post(http, sandbox, ARRIVED,
                        {"gameId": sandbox.options.game_id, "orderId": order["orderId"]})
    assert answer == {"code": "200", "msg": "Success"}
    assert order["arrivedStatus"] == 1
    assert sandbox.jogos.arrived_calls == [(sandbox.options.game_id, order["orderId"])]
    unknown = await post(http, sandbox, ARRIVED, {"gameId": sandbox.options.game_id,
                                                  "orderId": "nope"})
    assert unknown["code"] == "40004"
    missing = await post(http, sandbox, ARRIVED, {"gameId": sandbox.options.game_id})
    assert missing["code"] == "305"


async def test_drift_adds_orders_and_refunds_while_paging(sandbox: Sandbox,
                                                          http: aiohttp.ClientSession) -> None:
    sandbox.jogos.drift = Drift(new_orders_per_request=3, refunds_per_request=2)
    first = await page(http, sandbox, 1, 50)
    second = await page(http, sandbox, 1, 50)
    assert second["page"]["total"] == first["page"]["total"] + 3 == 256
    refunded = sandbox.jogos.stats()["games"]["9943"]["refund_status"]
    assert int(refunded.get("1", 0)) > 0


async def test_fault_controls(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    payload = {"gameId": sandbox.options.game_id, "pageNo": 1, "pageSize": 5}
    body = jogos.encode_body(payload)
    headers = jogos.signed_headers(body, sandbox.options.shared_key)
    sandbox.jogos.injector.configure(Faults(error_rate=1.0, seed=1))
    statuses = []
    for _ in range(20):
        async with http.post(sandbox.urls["jogos"] + GET_ORDERS, data=body,
                             headers=headers) as response:
            statuses.append((response.status, (await response.json()).get("code")))
    assert (503, None) in statuses and (200, "500") in statuses
    sandbox.jogos.injector.configure(Faults(malformed_rate=1.0))
    async with http.post(sandbox.urls["jogos"] + GET_ORDERS, data=body,
                         headers=headers) as response:
        with pytest.raises(ValueError):
            json.loads(await response.text())
    sandbox.jogos.injector.configure(Faults(timeout_rate=1.0, hang_s=5))
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(sandbox.urls["jogos"] + GET_ORDERS, data=body, headers=headers,
                             timeout=aiohttp.ClientTimeout(total=0.3)) as response:
            await response.read()
    sandbox.jogos.injector.configure(Faults(latency_s=0.2))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await post(http, sandbox, GET_ORDERS, payload)
    assert loop.time() - started >= 0.2
    counters = sandbox.jogos.injector.counters
    assert counters.errors_http + counters.errors_body == 20
    assert counters.malformed == 1 and counters.timeouts == 1


async def test_latency_covering_work_acts_at_arrival_and_answers_after_it(
        sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """The benchmarks' latency: the request is handled as it arrives (its effect is there while
    the answer is still on its way) and the answer leaves no sooner than `latency_s`."""
    game = sandbox.options.game_id
    book = sandbox.jogos.books[game]
    order = next(o for o in book.orders if o["arrivedStatus"] == 0)
    sandbox.jogos.injector.configure(Faults(latency_s=5, latency_covers_work=True))
    sending = asyncio.create_task(post(http, sandbox, ARRIVED,
                                       {"gameId": game, "orderId": order["orderId"]}))
    await until(lambda: order["arrivedStatus"] == 1, 2)  # within the latency, well before
    assert not sending.done()  # handled on arrival, answered only after the latency
    sending.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sending
    sandbox.jogos.injector.configure(Faults(latency_s=0.2, latency_covers_work=True))
    loop = asyncio.get_running_loop()
    started = loop.time()
    answers = await asyncio.gather(*(page(http, sandbox, no, 10) for no in range(1, 17)))
    assert loop.time() - started >= 0.2
    assert all(a["code"] == "200" and len(a["page"]["content"]) == 10 for a in answers)
    started = loop.time()
    async with http.post(sandbox.urls["jogos"] + "/api/gamepay/nowhere", data=b"{}") as response:
        assert response.status == 404  # an HTTP error is an answer too: no sooner
    assert loop.time() - started >= 0.2


async def test_faults_over_http_and_inspection(sandbox: Sandbox,
                                               http: aiohttp.ClientSession) -> None:
    async with http.post(sandbox.urls["jogos"] + "/_sandbox/jogos/faults",
                         json={"error_rate": 2}) as response:
        assert response.status == 400
    async with http.post(sandbox.urls["jogos"] + "/_sandbox/jogos/faults",
                         json={"error_rate": 0.5, "drift": {"new_orders_per_request": 1}}) as r:
        assert r.status == 200
    assert sandbox.jogos.injector.faults.error_rate == 0.5
    async with http.get(sandbox.urls["jogos"] + "/_sandbox/jogos") as response:
        stats = await response.json()
    assert stats["games"]["9943"]["orders"] == 250


async def test_notifications_are_signed_per_spec(sandbox: Sandbox,
                                                 http: aiohttp.ClientSession) -> None:
    received: list[tuple[bytes, str | None]] = []

    async def handler(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers.get("Authorization")))
        return web.json_response({"code": "200", "msg": "Success"})

    app = web.Application()
    app.router.add_post("/notify", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        order = sandbox.jogos.books[sandbox.options.game_id].orders[0]
        status, answer = await sandbox.jogos.notify(
            http, f"http://127.0.0.1:{port}/notify", sandbox.options.game_id, order["orderId"],
            "refund")
    finally:
        await runner.cleanup()
    assert status == 200 and answer["code"] == "200"
    body, authorization = received[0]
    jogos.verify(body, sandbox.options.shared_key, authorization)
    doc = json.loads(body)
    assert doc["paytype"] == "refund" and doc["orderId"] == order["orderId"]
    assert {"gameId", "arrivedStatus", "productId", "createTime", "payTime", "userId",
            "refundStatus", "refundTime"} <= set(doc)
