"""The daemon's doors, tight: one 401 for every failed authentication, no api key in URLs
unless allowed, player ids checked, no silent re-link, a `Server` header without versions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from reconciler.auth import s2s
from reconciler.ledger import Ledger
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from reconciler.testing.daemon import OPS_ID, OPS_SECRET, Daemon, ops_headers
from tests.conftest import register

OPS_API_KEY = "7f3a9c2e5b8d1f4a6c0e9b2d7a5f3c1e"
OTHER_SECRET = "T3RoZXJIbWFjS2V5VmFsdWU5ODc2NTQ="
register(OPS_API_KEY, OTHER_SECRET)


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=20, seed=21))


@pytest.fixture
async def daemon(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Daemon]:
    running = Daemon(sandbox, tmp_path, OPS_API_KEY=OPS_API_KEY)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
        running.close()


async def restart(daemon: Daemon, **env: str) -> None:
    assert await daemon.stop() == 0
    daemon.env |= env
    await daemon.start()


Answer = tuple[int, bytes, dict[str, str]]


async def answer(http: aiohttp.ClientSession, method: str, url: str,
                 headers: dict[str, str] | None = None) -> Answer:
    async with http.request(method, url, headers=headers) as r:
        return r.status, await r.read(), {k: v for k, v in r.headers.items() if k != "Date"}


def signed(path: str, nonce: str, *, client_id: str = OPS_ID, secret: str = OPS_SECRET,
           timestamp_s: int | None = None) -> dict[str, str]:
    when = int(time.time()) if timestamp_s is None else timestamp_s
    return s2s.request_headers(s2s.Scheme.HMAC, client_id=client_id, timestamp_s=when,
                               nonce=nonce, pathname=path, secret=secret)


async def test_every_authentication_failure_is_the_same_401(daemon: Daemon) -> None:
    url = daemon.url + "/ops/pass"
    async with aiohttp.ClientSession() as http:
        ok = await answer(http, "POST", url, signed("/ops/pass", "first"))
        assert ok[0] == 202
        key_header = {k: v for k, v in signed("/ops/pass", "k1").items()
                      if k != "authorization"} | {"api-key": OPS_API_KEY}
        assert (await answer(http, "POST", url, key_header))[0] == 202
        key_query = {k: v for k, v in key_header.items() if k != "api-key"}
        failures = {
            "unknown client": signed("/ops/pass", "u1", client_id="someone-else",
                                     secret=OTHER_SECRET),
            "bad signature": signed("/ops/pass", "b1", secret=OTHER_SECRET),
            "stale timestamp": signed("/ops/pass", "s1", timestamp_s=int(time.time()) - 3600),
            "replayed nonce": signed("/ops/pass", "first"),
            "no headers": {},
            "no credential": {k: v for k, v in signed("/ops/pass", "n1").items()
                              if k != "authorization"},
        }
        answers = {why: await answer(http, "POST", url, headers)
                   for why, headers in failures.items()}
        answers["api key in the query"] = await answer(
            http, "POST", f"{url}?api_key={OPS_API_KEY}", key_query)
        assert len(set(map(repr, answers.values()))) == 1, answers
        status, body, headers = answers["unknown client"]
        assert (status, body) == (401, b'{"error": "unauthorized"}')
        assert headers["Server"] == "reconciler"
        await restart(daemon, OPS_ALLOW_QUERY_API_KEY="true")
        allowed = await answer(http, "POST", f"{url}?api_key={OPS_API_KEY}",
                               {k: v for k, v in key_query.items() if k != "yac-nonce"}
                               | {"yac-nonce": "q2"})
        assert allowed[0] == 202
    log = (daemon.folder / "daemon.log").read_text()
    for reason in ("UnknownClient", "BadSignature", "StaleCredential", "ReplayedNonce",
                   "MalformedCredential"):
        assert reason in log
    assert OPS_SECRET not in log and OTHER_SECRET not in log and OPS_API_KEY not in log


def link_books(ledger: Ledger) -> list[list[object]]:
    return [ledger.db.execute(f"SELECT * FROM {name} ORDER BY 1, 2").fetchall()
            for name in ("links", "nonces")]


async def link(http: aiohttp.ClientSession, daemon: Daemon, token: str, player_id: str,
               nonce: str) -> tuple[int, dict[str, object]]:
    async with http.post(daemon.url + "/link", json={"token": token, "player_id": player_id},
                         headers=ops_headers("/link", nonce)) as r:
        return r.status, await r.json()


async def test_link_checks_the_player_id_and_refuses_a_silent_relink(
        sandbox: Sandbox, daemon: Daemon) -> None:
    token = sandbox.jogos.issue_user_token("hardening-user", 9943)
    ledger = daemon.ledger()
    try:
        async with aiohttp.ClientSession() as http:
            before = link_books(ledger)
            for n, bad in enumerate(["x" * 50_000, "a\nb", "player\u202egnp", "", "a b",
                                     "<script>", "p" * 129, "pl\u00e4yer"]):
                status, body = await link(http, daemon, token, bad, f"bad{n}")
                assert status == 400, (bad[:20], body)
            assert link_books(ledger) == before  # (a pass may run meanwhile: orders change)
            assert await link(http, daemon, token, "p" * 128, "max") == (200, {
                "linked": True, "user_id": "hardening-user", "game_id": 9943,
                "outcome": "new", "orders_waiting": 0})
            status, body = await link(http, daemon, token, "p" * 128, "same")
            assert (status, body["outcome"]) == (200, "same")
            status, body = await link(http, daemon, token, "pgos:other-1@x.y_z", "other")
            assert status == 409 and "p" * 128 not in str(body)
            assert ledger.links([9943])[(9943, "hardening-user")] == "p" * 128
            await restart(daemon, RECONCILER_LINK_ALLOW_RELINK="true")
            status, body = await link(http, daemon, token, "pgos:other-1@x.y_z", "again")
            assert (status, body["outcome"]) == (200, "relinked")
            assert ledger.links([9943])[(9943, "hardening-user")] == "pgos:other-1@x.y_z"
    finally:
        ledger.close()


async def test_every_answer_names_the_server_without_versions(daemon: Daemon) -> None:
    async with aiohttp.ClientSession() as http:
        for method, path in [("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/nowhere"),
                             ("GET", "/link"), ("POST", "/jogos/notify"),
                             ("GET", "/ops/audit/latest")]:
            async with http.request(method, daemon.url + path) as r:
                assert r.headers.get("Server") == "reconciler", (path, r.status)
    reader, writer = await asyncio.open_connection("127.0.0.1", daemon.port)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.read(4096), 10)
    writer.close()
    assert head.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400"))  # a head aiohttp cannot parse
    assert b"\r\nServer: reconciler\r\n" in head
    assert b"Python" not in head and b"aiohttp" not in head
