"""The PGOS client against the sandbox: both envelopes, inventory through the Backend API."""

from __future__ import annotations

import time

import aiohttp
import pytest

from reconciler.auth import pgos as pgos_auth
from reconciler.clients.pgos import PgosClient, PgosCommandError, PgosEndpoint
from reconciler.clients.retry import RequestStats, RetryPolicy
from reconciler.core.pgos_api import Envelope, InventoryVia, PgosApi
from reconciler.sandbox.runner import Sandbox, SandboxOptions


def client(sandbox: Sandbox, session: aiohttp.ClientSession, api: PgosApi) -> PgosClient:
    o, url = sandbox.options, sandbox.urls["pgos"]
    endpoint = PgosEndpoint(url, url, url, o.title_id, o.title_region_id,
                            pgos_auth.split_server_key(o.server_key))
    return PgosClient(session, endpoint, api=api, retry=RetryPolicy(2, 0.01, 0.02),
                      timeout_s=5, stats=RequestStats(), clock=time.time)


@pytest.mark.parametrize("envelope", list(Envelope))
async def test_each_envelope_against_a_sandbox_that_wants_it(
        envelope: Envelope, http: aiohttp.ClientSession) -> None:
    async with Sandbox(SandboxOptions(pgos_envelope=envelope.value)) as sandbox:
        pgos = client(sandbox, http, PgosApi(envelope=envelope))
        data = await pgos.grant_items("p1", [{"ItemID": "i", "Amount": 1}], "tok-1")
        assert data["Replayed"] is False
        assert "help" in (await pgos.help())["Commands"]
        other = Envelope.SPEC if envelope is Envelope.SDK else Envelope.SDK
        with pytest.raises(PgosCommandError) as refused:
            await client(sandbox, http, PgosApi(envelope=other)).inventory("p1")
        assert refused.value.errno in (1001, 1003)


async def test_inventory_through_the_backend_api(sandbox: Sandbox,
                                                 http: aiohttp.ClientSession) -> None:
    pgos = client(sandbox, http, PgosApi(inventory_via=InventoryVia.BACKEND))
    await pgos.grant_items("p2", [{"ItemID": "i", "Amount": 1}], "tok-2")
    inventory = await pgos.inventory("p2")
    assert [i["ItemID"] for i in inventory["Instances"]] == ["i"]
    assert pgos.stats.requests["pgos.backend/economy/get_player_inventory"] == 1
    assert pgos.stats.requests["pgos.get-player-inventory"] == 0
    assert sandbox.pgos.rejected == {}


async def test_a_ticket_is_made_for_each_second_and_reused_within_it(
        http: aiohttp.ClientSession) -> None:
    """Headers are made once per second of the clock: the same ticket bytes within a second,
    a new ticket (of the new second) after it; a title command keeps its own form."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    seen: list[dict[str, str]] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"errno": 0, "data": {}})

    app = web.Application()
    app.router.add_post("/{tail:.*}", answer)
    now = [1_800_000_000.2]
    key = pgos_auth.split_server_key("SECRETID-0123-4567-89ab-cdef")
    async with TestServer(app) as server:
        url = str(server.make_url("/"))
        pgos = PgosClient(http, PgosEndpoint(url, url, url, "title1", "region1", key),
                          api=PgosApi(envelope=Envelope.SPEC), retry=RetryPolicy(1, 0.01, 0.02),
                          timeout_s=5, stats=RequestStats(), clock=lambda: now[0])
        await pgos.grant_items("p1", [], "tok-a")
        now[0] = 1_800_000_000.9
        await pgos.grant_items("p1", [], "tok-b")
        await pgos.help()  # a title command: no region in the spec's form
        now[0] = 1_800_000_001.0
        await pgos.grant_items("p1", [], "tok-c")
    tickets = [h["ServerTicket"] for h in seen]
    assert tickets[0] == tickets[1] != tickets[3]
    claims = [pgos_auth.decrypt_ticket(key, t) for t in tickets]
    assert [c.time_s for c in claims] == [1_800_000_000] * 3 + [1_800_000_001]
    assert seen[1]["TitleRegionID"] == "region1" and seen[2]["TitleRegionID"] == ""
    assert claims[2].title_region_id == "" and claims[3].title_region_id == "region1"
