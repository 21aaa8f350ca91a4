"""Notification load: many signed payment notifications at once against a daemon, while its
pass runs. Used by the quick test and by bench/load.py.

Rules: every notification is for a fresh paid order, sent at most `concurrency` at a time
(run_bounded); the figures say how many were acknowledged, how fast, and which orders
they were (for the caller to check settlement).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

import aiohttp

from reconciler.concurrency import run_bounded
from reconciler.sandbox.runner import Sandbox


@dataclass
class LoadFigures:
    """What the load did."""

    sent: int = 0
    acknowledged: int = 0
    refused: int = 0
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    acked_orders: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        """Requests per second and latency percentiles."""
        ordered = sorted(self.latencies_ms) or [0.0]
        return {
            "sent": self.sent, "acknowledged": self.acknowledged, "refused": self.refused,
            "wall_s": round(self.wall_s, 2),
            "requests_per_s": round(self.sent / self.wall_s, 1) if self.wall_s else 0.0,
            "p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
        }


async def notification_load(sandbox: Sandbox, url: str, *, count: int, concurrency: int,
                            game_id: int = 9943) -> LoadFigures:
    """Send `count` signed pay notifications for new orders, `concurrency` at a time.

    Raises aiohttp.ClientError when the daemon cannot be reached.
    """
    orders = sandbox.jogos.add_orders(game_id, count)
    figures = LoadFigures()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(order: dict[str, object]) -> None:
            started = time.perf_counter()
            status, answer = await sandbox.jogos.notify(http, url, game_id,
                                                        str(order["orderId"]), "pay")
            figures.latencies_ms.append((time.perf_counter() - started) * 1000)
            figures.sent += 1
            if status == 200 and isinstance(answer, dict) and answer.get("code") == "200":
                figures.acknowledged += 1
                figures.acked_orders.append(str(order["orderId"]))
            else:
                figures.refused += 1

        started = time.perf_counter()
        await run_bounded(orders, one, concurrency)
        figures.wall_s = time.perf_counter() - started
    return figures


async def wait_settled(sandbox: Sandbox, orders: list[str], *, game_id: int = 9943,
                       timeout_s: float = 60) -> list[str]:
    """Wait until every order is granted in the game; returns those still not granted."""
    deadline = time.monotonic() + timeout_s
    prefix = f"grant:{game_id}:"
    while True:
        granted = {t[len(prefix):].split(":")[0] for t in sandbox.pgos.tokens
                   if t.startswith(prefix)}
        missing = [o for o in orders if o not in granted]
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(0.2)
