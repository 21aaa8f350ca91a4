"""GET /metrics: Prometheus text that costs the event loop nothing to scrape.

Rules: the ledger's counts are read off the event loop, on a read-only connection of their own,
at most once per `metrics_cache_s` however many scrapers ask (one refresh at a time, the others
wait for it); everything else comes from memory. With `metrics_token` set, a scrape needs
`Authorization: Bearer <token>` (compared in constant time; any failure is the same 401).
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from reconciler.ledger import LedgerCounts, read_counts
from reconciler.runtime import Runtime
from reconciler.server.guard import GuardFigures


@dataclass
class CountsCache:
    """The latest ledger counts and when they were read."""

    max_age_s: float
    counts: LedgerCounts | None = None
    read_at_s: float = float("-inf")
    refreshes: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, state: Runtime) -> LedgerCounts:
        """Counts at most `max_age_s` old. Raises LedgerError when the ledger cannot be read."""
        if self.counts is not None and time.monotonic() - self.read_at_s < self.max_age_s:
            return self.counts
        async with self.lock:
            if self.counts is None or time.monotonic() - self.read_at_s >= self.max_age_s:
                self.counts = await asyncio.to_thread(read_counts, state.config.db_path)
                self.read_at_s = time.monotonic()
                self.refreshes += 1
        return self.counts


class Collector:
    """The metric families of one scrape."""

    def __init__(self, state: Runtime, counts: LedgerCounts, refreshes: int,
                 connections: GuardFigures) -> None:
        self.state = state
        self.counts = counts
        self.refreshes = refreshes
        self.connections = connections

    def collect(self) -> Iterator[Metric]:
        """Yield the metric families."""
        state, counts = self.state, self.counts
        orders = GaugeMetricFamily("reconciler_orders", "Orders in the ledger")
        orders.add_metric([], counts.orders)
        yield orders
        effects = GaugeMetricFamily("reconciler_effects", "Effects by kind and state",
                                    labels=["kind", "state"])
        for kind, effect_state, n in counts.effects:
            effects.add_metric([kind, effect_state], n)
        yield effects
        attention = GaugeMetricFamily("reconciler_attention_orders",
                                      "Orders waiting for a person or a change")
        attention.add_metric([], counts.attention)
        yield attention
        passes = CounterMetricFamily("reconciler_passes", "Passes by outcome",
                                     labels=["outcome"])
        for outcome, n in state.passes.items():
            passes.add_metric([outcome], n)
        yield passes
        duration = GaugeMetricFamily("reconciler_pass_duration_seconds",
                                     "Duration of the last pass")
        duration.add_metric([], state.last_pass_duration_s)
        yield duration
        notes = CounterMetricFamily("reconciler_notifications", "Notifications by outcome",
                                    labels=["outcome"])
        for outcome, n in state.notifications.items():
            notes.add_metric([outcome], n)
        yield notes
        conns = self.connections
        open_now = GaugeMetricFamily("reconciler_connections_open", "Open HTTP connections")
        open_now.add_metric([], conns.open)
        yield open_now
        closed = CounterMetricFamily("reconciler_connections_closed",
                                     "Connections closed by a limit", labels=["reason"])
        closed.add_metric(["at_cap"], conns.refused)
        closed.add_metric(["slow_head"], conns.slow_heads)
        yield closed
        reads = CounterMetricFamily("reconciler_metrics_ledger_reads",
                                    "Ledger count reads made for /metrics (cached between)")
        reads.add_metric([], self.refreshes)
        yield reads
        yield from self._remote()

    def _remote(self) -> Iterator[Metric]:
        stats = self.state.engine.stats
        requests = CounterMetricFamily("reconciler_remote_requests", "Remote requests",
                                       labels=["endpoint"])
        seconds = CounterMetricFamily("reconciler_remote_request_seconds",
                                      "Time spent in remote requests", labels=["endpoint"])
        for name, n in stats.requests.items():
            requests.add_metric([name], n)
            seconds.add_metric([name], stats.seconds.get(name, 0.0))
        yield requests
        yield seconds
        failures = CounterMetricFamily("reconciler_remote_failures",
                                       "Remote failures by endpoint and kind",
                                       labels=["endpoint", "kind"])
        for name, n in stats.failures.items():
            endpoint, _, kind = name.rpartition(":")
            failures.add_metric([endpoint, kind], n)
        yield failures


def authorised(request: web.Request, state: Runtime) -> bool:
    """True when no token is configured, or the request carries it as a bearer token."""
    token = state.config.daemon.metrics_token
    if token is None:
        return True
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token.reveal()}"
    return hmac.compare_digest(given.encode(), expected.encode())


async def render(state: Runtime, cache: CountsCache, connections: GuardFigures) -> bytes:
    """The exposition text. Raises LedgerError."""
    counts = await cache.get(state)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(state, counts, cache.refreshes, connections))
    text: Any = generate_latest(registry)
    return bytes(text)
