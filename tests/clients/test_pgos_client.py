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
