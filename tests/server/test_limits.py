"""The daemon under slow connections and many scrapers (red-team findings, kept fixed).

- 1,100 connections that never finish their head, with the daemon at a soft and hard limit of
  1,024 descriptors (systemd's default soft limit): once the head timeout has passed /healthz
  answers again, and the log stays small (no accept-error loop).
- /metrics behind a bearer token, with the ledger's counts read once per cache window however
  many scrapers ask.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from reconciler.testing.daemon import Daemon

SLOW = 1100
TOKEN = "metrics-bearer-token-q7wz-k2pa"


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=50, seed=4))


def limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


class LimitedDaemon(Daemon):
    """The daemon with RLIMIT_NOFILE set to 1,024 (soft and hard) before it starts."""

    preexec = staticmethod(limit_descriptors)


@pytest.fixture
async def limited(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[LimitedDaemon]:
    running = LimitedDaemon(sandbox, tmp_path, RECONCILER_HEADER_TIMEOUT_S="2",
                            RECONCILER_METRICS_TOKEN=TOKEN,
                            RECONCILER_METRICS_CACHE_S="3600")
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
        running.close()


def own_descriptors(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.fail(f"this test needs {needed} descriptors; the hard limit is {hard}")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def healthz(url: str) -> int | None:
    try:
        async with aiohttp.ClientSession() as http, http.get(
                url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as response:
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return None


async def test_slow_heads_cannot_starve_the_daemon(limited: LimitedDaemon) -> None:
    own_descriptors(SLOW + 200)
    assert await healthz(limited.url) == 200
    loop = asyncio.get_running_loop()
    sockets = [socket.socket() for _ in range(SLOW)]

    async def slow_head(sock: socket.socket) -> bool:
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", limited.port)), 20)
            await loop.sock_sendall(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        except (OSError, TimeoutError):
            return False
        return True

    try:
        connected = await asyncio.gather(*(slow_head(sock) for sock in sockets))
        assert sum(connected) >= SLOW - 100, sum(connected)
        # Bounded wait for the state we need: /healthz answers despite the slow heads.
        deadline = time.monotonic() + 60
        while await healthz(limited.url) != 200:
            assert time.monotonic() < deadline, "/healthz never answered"
            await asyncio.sleep(0.2)
    finally:
        for sock in sockets:
            sock.close()
    async with aiohttp.ClientSession() as http, http.get(
            limited.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as response:
        text = await response.text()
    closed = {s.labels["reason"]: s.value for family in text_string_to_metric_families(text)
              if family.name == "reconciler_connections_closed" for s in family.samples
              if s.name.endswith("_total")}
    assert closed["slow_head"] > 0 and closed["at_cap"] > 0, closed  # both limits acted
    limited.log.flush()
    log_bytes = (limited.folder / "daemon.log").stat().st_size
    assert log_bytes < 64 * 1024, f"the daemon logged {log_bytes} bytes"


async def test_metrics_need_the_token_and_read_the_ledger_once(limited: LimitedDaemon) -> None:
    async with aiohttp.ClientSession() as http:
        answers = []
        for headers in ({}, {"Authorization": "Bearer wrong"},
                        {"Authorization": f"bearer {TOKEN}"}):
            async with http.get(limited.url + "/metrics", headers=headers) as response:
                answers.append((response.status, await response.read()))
        assert {a[0] for a in answers} == {401} and len(set(answers)) == 1

        async def scrape() -> str:
            async with http.get(limited.url + "/metrics",
                                headers={"Authorization": f"Bearer {TOKEN}"}) as response:
                assert response.status == 200
                return await response.text()

        pages = await asyncio.gather(*(scrape() for _ in range(16 * 4)))
    reads = {s.value for page in pages for family in text_string_to_metric_families(page)
             if family.name == "reconciler_metrics_ledger_reads" for s in family.samples}
    assert reads == {1.0}
    orders = {s.value for family in text_string_to_metric_families(pages[-1])
              if family.name == "reconciler_orders" for s in family.samples}
    assert len(orders) == 1
