"""The Jogos simulator serves every reading of the spec, and raw rows verbatim."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from reconciler.auth import jogos
from reconciler.sandbox.jogos import GET_ORDERS
from reconciler.sandbox.jogos_pages import Readings
from reconciler.sandbox.runner import Sandbox
from tests.hostile_rows import BIG


async def page_text(http: aiohttp.ClientSession, sandbox: Sandbox, no: int, size: int) -> str:
    body = jogos.encode_body({"gameId": 9943, "pageNo": no, "pageSize": size})
    headers = jogos.signed_headers(body, sandbox.options.shared_key)
    async with http.post(sandbox.urls["jogos"] + GET_ORDERS, data=body,
                         headers=headers) as response:
        assert response.status == 200
        return await response.text()


async def read_all(http: aiohttp.ClientSession, sandbox: Sandbox, size: int) -> list[Any]:
    rows: list[Any] = []
    for no in range(1, -(-250 // size) + 1):
        doc = json.loads(await page_text(http, sandbox, no, size))
        rows += doc.get("page", doc)["content"]
    return rows


@pytest.mark.parametrize("listing", ["newest", "oldest"])
async def test_listing_orders(sandbox: Sandbox, http: aiohttp.ClientSession,
                              listing: str) -> None:
    sandbox.jogos.readings = Readings(listing=listing)
    rows = await read_all(http, sandbox, 40)
    assert len({r["orderId"] for r in rows}) == 250
    times = [r["payTime"] for r in rows]
    assert times == sorted(times, reverse=listing == "newest")
    (fresh,) = sandbox.jogos.add_orders(9943, 1)
    first = json.loads(await page_text(http, sandbox, 1, 40))["page"]["content"]
    assert (first[0]["orderId"] == fresh["orderId"]) == (listing == "newest")


async def test_flat_shape_follows_the_field_table(sandbox: Sandbox,
                                                  http: aiohttp.ClientSession) -> None:
    nested = json.loads(await page_text(http, sandbox, 2, 40))
    sandbox.jogos.readings = Readings(page_shape="flat")
    flat = json.loads(await page_text(http, sandbox, 2, 40))
    assert "page" not in flat and flat["message"] == "Success"
    assert {k: flat[k] for k in nested["page"]} == nested["page"]


async def test_milliseconds(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    order = sandbox.jogos.books[9943].orders[-1]
    sandbox.jogos.refund(9943, order["orderId"])
    sandbox.jogos.readings = Readings(time_unit="ms")
    (row,) = json.loads(await page_text(http, sandbox, 1, 1))["page"]["content"]
    assert row["payTime"] == order["payTime"] * 1000
    assert row["refundTime"] == order["refundTime"] * 1000
    note = json.loads(sandbox.jogos.notification_body(9943, order["orderId"], "refund"))
    assert note["refundTime"] == order["refundTime"] * 1000 and note["paytype"] == "refund"


async def test_notification_without_paytype(sandbox: Sandbox) -> None:
    sandbox.jogos.readings = Readings(paytype=False)
    order = sandbox.jogos.books[9943].orders[0]
    doc = json.loads(sandbox.jogos.notification_body(9943, order["orderId"], "pay"))
    assert "paytype" not in doc and doc["orderId"] == order["orderId"]


async def test_raw_rows_are_served_verbatim_and_counted(sandbox: Sandbox,
                                                        http: aiohttp.ClientSession) -> None:
    control = sandbox.urls["jogos"] + "/_sandbox/jogos/raw"
    text = '{"orderId": "Huge", "payTime": ' + BIG + "}"
    async with http.post(control, json={"text": text}) as response:
        assert response.status == 200
    async with http.post(control, json={"row": None, "game_id": 9943}) as response:
        assert response.status == 200
    for bad in ({"text": "{not json"}, {"row": 1, "text": "1"}, {"row": 1, "game_id": 1},
                {"text": 5}):
        async with http.post(control, json=bad) as response:
            assert response.status == 400, bad
    served = await page_text(http, sandbox, 1, 3)
    assert text in served and served.count(BIG) == 1
    doc = json.loads(served, parse_int=str)["page"]
    assert doc["total"] == "252" and doc["content"][0] is None
    assert doc["content"][1]["orderId"] == "Huge"
    sandbox.jogos.readings = Readings(listing="oldest")
    last = json.loads(await page_text(http, sandbox, 84, 3), parse_int=str)["page"]["content"]
    assert last[-2:] == [json.loads(text, parse_int=str), None]
    assert sandbox.jogos.stats()["games"]["9943"]["raw_rows"] == 2


async def test_readings_control(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    control = sandbox.urls["jogos"] + "/_sandbox/jogos/readings"
    async with http.post(control, json={"listing": "oldest", "page_shape": "flat"}) as r:
        assert r.status == 200
    assert sandbox.jogos.readings == Readings(listing="oldest", page_shape="flat")
    for bad in ({"listing": "sideways"}, {"paytype": "yes"}, {"colour": 1}, [1]):
        async with http.post(control, json=bad) as r:
            assert r.status == 400, bad
    assert sandbox.jogos.readings == Readings(listing="oldest", page_shape="flat")
    with pytest.raises(ValueError):
        Readings(time_unit="us").validate()
