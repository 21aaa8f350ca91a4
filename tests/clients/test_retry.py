"""Retries: each one logged at DEBUG (what, which attempt, why) and counted by request name;
a permanent refusal is not retried; a connection error names the host and the reason."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from reconciler.clients.http import post_json
from reconciler.clients.retry import PermanentError, RequestStats, RetryPolicy, TransientError
from reconciler.testing.daemon import free_port


async def test_each_retry_is_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    stats, calls = RequestStats(), [0]

    async def flaky() -> str:
        calls[0] += 1
        if calls[0] < 3:
            raise TransientError(f"jogos.getOrders: HTTP 503 ({calls[0]})")
        return "ok"

    with caplog.at_level(logging.DEBUG, logger="reconciler.retry"):
        result = await RetryPolicy(3, 0.001, 0.002).run(flaky, stats=stats,
                                                        name="jogos.getOrders")
    assert result == "ok" and stats.retries == {"jogos.getOrders": 2} and stats.retried() == 2
    lines = [r.getMessage() for r in caplog.records if r.name == "reconciler.retry"]
    assert len(lines) == 2
    assert lines[0].startswith("retry jogos.getOrders: attempt 1 of 3 failed "
                               "(jogos.getOrders: HTTP 503 (1))")


async def test_a_permanent_refusal_is_not_retried() -> None:
    stats = RequestStats()

    async def refused() -> None:
        raise PermanentError("41007", "bad signature")

    with pytest.raises(PermanentError):
        await RetryPolicy(5, 0.001, 0.002).run(refused, stats=stats, name="x")
    assert stats.retried() == 0


async def test_a_connection_error_names_the_host_and_the_reason() -> None:
    port = free_port()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(TransientError) as failure:
            await post_json(session, f"http://127.0.0.1:{port}/api/x?key=1", b"{}", {},
                            timeout_s=2, stats=RequestStats(), name="jogos.getOrders")
    assert str(failure.value) == (f"jogos.getOrders: cannot connect to 127.0.0.1:{port}: "
                                  "Connection refused")
