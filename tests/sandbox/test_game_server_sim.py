"""The game-server simulator accepts only signed requests, once."""

from __future__ import annotations

import time

import aiohttp
import pytest

from reconciler.auth import s2s, signed_headers
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions


def s2s_headers(sandbox: Sandbox, path: str, nonce: str, *, offset_s: int = 0,
                scheme: s2s.Scheme = s2s.Scheme.HMAC) -> dict[str, str]:
    return s2s.request_headers(scheme, client_id=sandbox.options.s2s_client_id,
                               timestamp_s=int(time.time()) + offset_s, nonce=nonce,
                               pathname=path, secret=sandbox.options.s2s_secret)


async def post(http: aiohttp.ClientSession, sandbox: Sandbox, path: str,
               headers: dict[str, str], body: dict[str, object] | None = None) -> tuple[int, dict]:
    async with http.post(sandbox.urls["game_server"] + path,
                         json=body or {"player_id": "p", "order_id": "o1"},
                         headers=headers) as response:
        return response.status, await response.json()


async def test_s2s_grant_replay_and_stale(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    status, answer = await post(http, sandbox, "/grant", s2s_headers(sandbox, "/grant", "n1"))
    assert (status, answer) == (200, {"ok": True, "replayed": False})
    status, answer = await post(http, sandbox, "/grant", s2s_headers(sandbox, "/grant", "n1"))
    assert status == 401 and answer["error"] == "ReplayedNonce"
    status, answer = await post(http, sandbox, "/grant", s2s_headers(sandbox, "/grant", "n2"))
    assert answer == {"ok": True, "replayed": True}
    status, answer = await post(http, sandbox, "/grant",
                                s2s_headers(sandbox, "/grant", "n3", offset_s=-400))
    assert status == 401 and answer["error"] == "StaleCredential"
    status, answer = await post(http, sandbox, "/revoke", s2s_headers(sandbox, "/grant", "n4"))
    assert status == 401 and answer["error"] == "BadSignature"
    status, _ = await post(http, sandbox, "/revoke",
                           s2s_headers(sandbox, "/revoke", "n5", scheme=s2s.Scheme.BASIC))
    assert status == 200
    assert len(sandbox.game_server.grants) == 1 and len(sandbox.game_server.revokes) == 1


async def test_signed_headers_scheme(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    params = {"platformId": 1, "version": "1.0.0", "appId": "studio",
              "timestamp": int(time.time() * 1000)}
    headers = {k: str(v) for k, v in params.items()}
    headers["sign"] = signed_headers.sign(params, sandbox.options.app_secret)
    assert (await post(http, sandbox, "/grant", headers))[0] == 200
    assert (await post(http, sandbox, "/grant", headers))[1]["error"] == "ReplayedNonce"
    headers["sign"] = signed_headers.sign(params, "wrong")
    assert (await post(http, sandbox, "/grant", headers))[1]["error"] == "BadSignature"
    status, _ = await post(http, sandbox, "/grant", {})
    assert status == 401


async def test_bad_body(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    status, _ = await post(http, sandbox, "/grant", s2s_headers(sandbox, "/grant", "b1"),
                           body={"player_id": "p"})
    assert status == 400


@pytest.mark.parametrize("sandbox_options", [
    SandboxOptions(mix=OrderMix(count=1, seed=3), game_server_prefix="/studio")])
async def test_under_a_prefix_the_signature_covers_the_path_received(
        sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    assert sandbox.urls["game_server"].endswith("/studio")
    status, answer = await post(http, sandbox, "/grant", s2s_headers(sandbox, "/grant", "p1"))
    assert (status, answer["error"]) == (401, "BadSignature")  # signed /grant, sent /studio/grant
    status, answer = await post(http, sandbox, "/grant",
                                s2s_headers(sandbox, "/studio/grant", "p2"))
    assert (status, answer) == (200, {"ok": True, "replayed": False})
    async with http.post(sandbox.urls["game_server"].removesuffix("/studio") + "/grant",
                         json={"player_id": "p", "order_id": "o1"},
                         headers=s2s_headers(sandbox, "/grant", "p3")) as response:
        assert response.status == 404  # nothing is served outside the prefix
