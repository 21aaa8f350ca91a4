"""The Jogos client reads getOrders in both shapes the spec shows, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from reconciler.clients.jogos import JogosClient, page_of
from reconciler.clients.retry import RequestStats, RetryPolicy, TransientError
from reconciler.core.jsontext import LongNumber
from reconciler.sandbox.jogos_pages import Readings
from reconciler.sandbox.runner import Sandbox
from tests.hostile_rows import BIG


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[JogosClient]:
    async with aiohttp.ClientSession() as session:
        yield JogosClient(session, base_url=sandbox.urls["jogos"], game_id=9943,
                          shared_key=sandbox.options.shared_key,
                          retry=RetryPolicy(1, 0.01, 0.01), timeout_s=2, stats=RequestStats())


async def test_nested_and_flat_pages_read_the_same(sandbox: Sandbox,
                                                   client: JogosClient) -> None:
    nested = await client.get_orders(2, 40)
    sandbox.jogos.readings = Readings(page_shape="flat")
    flat = await client.get_orders(2, 40)
    assert flat == nested
    assert (flat.total, flat.current_page, flat.page_size) == (250, 2, 40)
    assert len(flat.content) == 40


@pytest.mark.parametrize("shape", ["nested", "flat"])
async def test_a_huge_number_in_a_row_does_not_fail_the_page(sandbox: Sandbox,
                                                             client: JogosClient,
                                                             shape: str) -> None:
    sandbox.jogos.readings = Readings(page_shape=shape)
    sandbox.jogos.inject_raw('{"orderId": "Huge", "payTime": ' + BIG + "}")
    page = await client.get_orders(1, 5)
    assert page.total == 251 and page.content[0]["orderId"] == "Huge"
    assert isinstance(page.content[0]["payTime"], LongNumber)


@pytest.mark.parametrize("answer", [
    {"code": "200", "total": 3, "totalPage": 1, "list": [1, 2, 3]},
    {"code": "200", "page": {"total": "3", "totalPage": 1, "records": [1, 2, 3]}},
    {"code": "200", "total": 3, "list": [1, 2, 3]},  # totalPage is never read: not required
])
def test_other_names_of_the_row_list(answer: dict[str, Any]) -> None:
    page = page_of(answer, 1, 20)
    assert (page.total, page.current_page, page.page_size, page.content) == (3, 1, 20, [1, 2, 3])


@pytest.mark.parametrize("page", [
    {"total": "9" * 5000, "totalPage": 1, "content": []},
    {"total": 10**30, "totalPage": 1, "content": []},
    {"total": -1, "totalPage": 1, "content": []},
    {"total": 1.5, "totalPage": 1, "content": []},
    {"total": 1, "totalPage": 1, "content": {}},
    {"total": 1, "totalPage": 1},
])
def test_absurd_page_fields_are_refused(page: dict[str, Any]) -> None:
    with pytest.raises(TransientError):
        page_of({"code": "200", "page": page}, 1, 20)
