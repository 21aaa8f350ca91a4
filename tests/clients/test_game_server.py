"""The game-server client against the simulator mounted under a path prefix: the signature
covers the whole path requested."""

from __future__ import annotations

import time

import aiohttp
import pytest

from reconciler.clients.game_server import GameServerClient
from reconciler.clients.retry import PermanentError, RequestStats, RetryPolicy
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions


def behind(prefix: str) -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=1, seed=3), game_server_prefix=prefix)


def game_server(sandbox: Sandbox, http: aiohttp.ClientSession, url: str, *,
         secret: str | None = None) -> GameServerClient:
    return GameServerClient(http, url=url, client_id=sandbox.options.s2s_client_id,
                      secret=secret or sandbox.options.s2s_secret,
                      retry=RetryPolicy(1, 0.01, 0.01), timeout_s=5, stats=RequestStats(),
                      clock=time.time)


@pytest.mark.parametrize("sandbox_options", [behind("/studio"), behind("/game studio/v1")],
                         ids=["studio", "encoded"])
async def test_grant_and_revoke_under_a_prefix(sandbox: Sandbox,
                                               http: aiohttp.ClientSession) -> None:
    url = sandbox.urls["game_server"]
    assert url.endswith(sandbox.options.game_server_prefix)
    client = game_server(sandbox, http, url)
    granted = await client.send("/grant", {"player_id": "p", "order_id": "o1",
                                           "idempotency_token": "grant:9943:o1"})
    assert granted == {"ok": True, "replayed": False}
    assert await client.send("/revoke", {"player_id": "p", "order_id": "o1"}) == {"ok": True}
    assert list(sandbox.game_server.grants) == ["grant:9943:o1"]
    assert len(sandbox.game_server.revokes) == 1 and not sandbox.game_server.rejected
    assert client.stats.requests == {"sink/grant": 1, "sink/revoke": 1}


@pytest.mark.parametrize("sandbox_options", [behind("/studio")])
async def test_query_and_final_slash_of_the_url(sandbox: Sandbox,
                                                http: aiohttp.ClientSession) -> None:
    client = game_server(sandbox, http, sandbox.urls["game_server"] + "/?tenant=a%20b")
    target = client.target("/grant")
    assert (target.raw_path, target.raw_query_string) == ("/studio/grant", "tenant=a%20b")
    assert (await client.send("/grant", {"player_id": "p", "order_id": "o2"}))["ok"] is True


@pytest.mark.parametrize("sandbox_options", [behind("/studio")])
async def test_wrong_secret_is_refused_not_retried(sandbox: Sandbox,
                                                   http: aiohttp.ClientSession) -> None:
    client = game_server(sandbox, http, sandbox.urls["game_server"], secret="not-the-secret")
    with pytest.raises(PermanentError):
        await client.send("/grant", {"player_id": "p", "order_id": "o3"})
    assert sandbox.game_server.rejected == {"BadSignature": 1} and not sandbox.game_server.grants
