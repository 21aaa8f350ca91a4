"""Hostile input against every endpoint of the daemon (in-process, on loopback): random and
mutated bodies and headers, wrong and stale signatures, replayed nonces, oversized bodies,
invalid UTF-8, deep JSON. No 5xx from our code, and a rejected request leaves the ledger
byte-for-byte as it was (every table compared)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.auth import jogos as jogos_auth
from reconciler.auth import s2s
from reconciler.config import build_config
from reconciler.ledger import Ledger
from reconciler.runtime import Runtime, open_runtime
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.server.app import build_app

OPS_ID, OPS_SECRET = "ops", "RnV6emluZ09wc0tleTEyMzQ1Ng"
TRIED: Counter[str] = Counter()


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=50, seed=30))


class Target:
    """The daemon's app served in-process, with what a fuzz case needs."""

    def __init__(self, url: str, state: Runtime, sandbox: Sandbox) -> None:
        self.url = url
        self.state = state
        self.sandbox = sandbox

    def dump(self) -> dict[str, list[Any]]:
        ledger: Ledger = self.state.engine.ledger
        return {name: ledger.db.execute(f"SELECT * FROM {name} ORDER BY 1").fetchall()
                for name in ledger.db.table_names()}


@pytest.fixture
async def target(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Target]:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(SANDBOX_CATALOG)
    config = build_config({}, sandbox.env(catalog) | {
        "RECONCILER_DB": str(tmp_path / "ledger.db"), "RECONCILER_IDENTITY": "same",
        "OPS_CLIENT_ID": OPS_ID, "OPS_HMAC_SECRET": OPS_SECRET,
        "RECONCILER_MAX_BODY_BYTES": "16384"})
    async with open_runtime(config) as state:
        state.trigger_pass = lambda: None
        runner = web.AppRunner(build_app(state), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield Target(f"http://127.0.0.1:{port}", state, sandbox)
        finally:
            await runner.cleanup()


async def send(target: Target, method: str, path: str, body: bytes,
               headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as http, http.request(
            method, target.url + path, data=body, headers=headers) as response:
        await response.read()
        return response.status


async def check(target: Target, kind: str, method: str, path: str, body: bytes,
                headers: dict[str, str]) -> int:
    """Send one hostile request; it must not get a 5xx, and if rejected must change nothing.
    Work that an earlier accepted request started in the background is let finish first."""
    while target.state.tasks:
        await asyncio.gather(*list(target.state.tasks), return_exceptions=True)
    await target.state.confirmer.idle()  # store confirmations of earlier notifications
    before = target.dump()
    status = await send(target, method, path, body, headers)
    TRIED[kind] += 1
    assert status < 500, (kind, path, body[:200], headers, status)
    if status >= 400:
        assert target.dump() == before, (kind, path, body[:200])
    return status


PATHS = [("POST", "/jogos/notify"), ("POST", "/link"), ("GET", "/ops/orders/9943/x"),
         ("POST", "/ops/pass"), ("GET", "/ops/audit/latest")]
header_text = st.text(st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=60)
EXAMPLES = int(os.environ.get("RECONCILER_FUZZ_EXAMPLES", "60"))  # bench/hostile.py raises it
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.sampled_from(PATHS), st.binary(max_size=2048),
       st.dictionaries(st.sampled_from(["Authorization", "yac-client-id", "yac-timestamp",
                                        "yac-nonce", "api-key", "Content-Type"]), header_text))
async def test_random_bodies_and_headers(target: Target, route: tuple[str, str], body: bytes,
                                         headers: dict[str, str]) -> None:
    await check(target, "random", *route, body, headers)


def notification(target: Target, order_index: int = 0) -> bytes:
    order = target.sandbox.jogos.books[9943].orders[order_index]
    return target.sandbox.jogos.notification_body(9943, order["orderId"], "pay")


@FUZZ
@given(st.data())
async def test_mutated_notifications(target: Target, data: st.DataObject) -> None:
    body = bytearray(notification(target, data.draw(st.integers(0, 49))))
    for _ in range(data.draw(st.integers(1, 4))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    key = target.sandbox.options.shared_key
    resigned = data.draw(st.booleans())
    headers = jogos_auth.signed_headers(bytes(body) if resigned else notification(target), key)
    # Re-signed mutations are authentic but malformed (or a valid order): never a 5xx.
    await check(target, "mutated_signed" if resigned else "mutated", "POST", "/jogos/notify",
                bytes(body), headers)


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=3)
                    | st.dictionaries(st.text(max_size=5), children, max_size=3),
                    max_leaves=30))
async def test_random_json_signed(target: Target, doc: Any) -> None:
    body = json.dumps({"gameId": 9943, "paytype": "pay", "extra": doc}).encode()
    headers = jogos_auth.signed_headers(body, target.sandbox.options.shared_key)
    await check(target, "json_signed", "POST", "/jogos/notify", body, headers)


async def test_special_classes(target: Target) -> None:
    key = target.sandbox.options.shared_key
    good = notification(target)
    deep = b'{"gameId": 9943, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    cases = {
        "wrong_key": (good, jogos_auth.signed_headers(good, "not-the-key")),
        "invalid_utf8": (b'{"gameId": 9943, "orderId": "\xff\xfe"}',
                         jogos_auth.signed_headers(b'{"gameId": 9943, "orderId": "\xff\xfe"}',
                                                   key)),
        "oversized": (b"{" + b" " * 20_000 + b"}", {}),
        "deep_json": (deep[:16000], jogos_auth.signed_headers(deep[:16000], key)),
        "deep_json_small": (b"[" * 5000 + b"]" * 5000,
                            jogos_auth.signed_headers(b"[" * 5000 + b"]" * 5000, key)),
        "wrong_game": (good.replace(b'"gameId":9943', b'"gameId":1'), {}),
    }
    for kind, (body, headers) in cases.items():
        status = await check(target, kind, "POST", "/jogos/notify", body, headers)
        assert status >= 400, kind
    deep_ops = b"[" * 5000 + b"]" * 5000
    path = "/link"
    now = int(time.time())
    stale = s2s.request_headers(s2s.Scheme.HMAC, client_id=OPS_ID, timestamp_s=now - 1000,
                                nonce="stale", pathname=path, secret=OPS_SECRET)
    assert await check(target, "stale_s2s", "POST", path, b"{}", stale) == 401
    fresh = s2s.request_headers(s2s.Scheme.HMAC, client_id=OPS_ID, timestamp_s=now,
                                nonce="deep", pathname=path, secret=OPS_SECRET)
    assert await check(target, "deep_json_link", "POST", path, deep_ops, fresh) == 400
    ops = s2s.request_headers(s2s.Scheme.HMAC, client_id=OPS_ID, timestamp_s=now,
                              nonce="once", pathname="/ops/pass", secret=OPS_SECRET)
    assert await send(target, "POST", "/ops/pass", b"", ops) == 202
    assert await check(target, "replayed_nonce", "POST", "/ops/pass", b"", ops) == 401
    token = s2s.request_headers(s2s.Scheme.HMAC, client_id=OPS_ID, timestamp_s=now,
                                nonce="tok", pathname=path, secret=OPS_SECRET)
    body = json.dumps({"token": "a.b.c", "player_id": "p"}).encode()
    assert await check(target, "bad_user_token", "POST", path, body, token) == 401


def test_report_tried() -> None:
    """Print how many requests each class sent (run with -s to see it)."""
    print("hostile requests tried:", dict(TRIED))
