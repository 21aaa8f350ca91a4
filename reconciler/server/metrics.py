"""GET /metrics: Prometheus exposition that costs the event loop nothing to scrape.

Rules: the ledger's counts (and gauges: quarantine, debts, notifications, the latest audit)
are read off the event loop, on a read-only connection of their own, at most once per
`metrics_cache_s` however many scrapers ask (one refresh at a time, the others wait for it);
everything else comes from memory, and the process's own figures from /proc
(prometheus_client's ProcessCollector and PlatformCollector). The exposition and its
Content-Type are prometheus_client's own, negotiated from the scraper's `Accept` (the text
format, or OpenMetrics when asked for). With `metrics_token` set, a scrape needs
`Authorization: Bearer <token>` (compared in constant time; any failure is the same 401).
Every series is listed, with its type and meaning, in README's metric table.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder

from reconciler import __version__
from reconciler.ledger import LedgerCounts, read_counts
from reconciler.runtime import Runtime
from reconciler.server.guard import GuardFigures

PROCESS = ProcessCollector(registry=None)  # process_*: CPU, memory, descriptors, start time
PLATFORM = PlatformCollector(registry=None)  # python_info


def bucket_bound(bound_s: float) -> str:
    """A histogram bucket's `le` label as Prometheus writes it ("1.0", "+Inf")."""
    return "+Inf" if bound_s == float("inf") else repr(float(bound_s))


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
                self.counts = await asyncio.to_thread(
                    read_counts, state.config.db_path, state.config.ledger_password)
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
        build = InfoMetricFamily("reconciler_build", "The running reconciler's version")
        build.add_metric([], {"version": __version__})
        yield build
        yield from self._books()
        yield from self._passes()
        notes = CounterMetricFamily("reconciler_notifications", "Notifications by outcome",
                                    labels=["outcome"])
        for outcome, n in self.state.notifications.items():
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

    def _books(self) -> Iterator[Metric]:
        counts, gauges = self.counts, self.counts.gauges
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
        quarantined = GaugeMetricFamily("reconciler_quarantined_rows",
                                        "Malformed store rows kept in quarantine")
        quarantined.add_metric([], gauges.quarantined)
        yield quarantined
        debts = GaugeMetricFamily("reconciler_debts",
                                  "Clawback debts recorded (refunds of spent items)")
        debts.add_metric([], gauges.debts)
        yield debts
        notes = GaugeMetricFamily(
            "reconciler_notifications_by_status",
            "Notifications in the ledger by status (pending: waiting for the store)",
            labels=["status"])
        for status, n in gauges.notifications.items():
            notes.add_metric([status], n)
        yield notes
        audit = gauges.audit
        audited = GaugeMetricFamily("reconciler_audit_last_run_timestamp_seconds",
                                    "Unix time of the latest recorded audit (0: none yet)")
        audited.add_metric([], audit.finished_s if audit else 0)
        yield audited
        found = GaugeMetricFamily(
            "reconciler_audit_discrepancies",
            "Discrepancies by class in the latest recorded audit (none before the first)",
            labels=["class", "informational"])
        if audit is not None:
            for cls, n in sorted(audit.counts.items()):
                found.add_metric([cls, "true" if cls in audit.informational else "false"], n)
        yield found

    def _passes(self) -> Iterator[Metric]:
        state = self.state
        last_ok = GaugeMetricFamily(
            "reconciler_last_successful_pass_timestamp_seconds",
            "Unix time the last scheduled pass finished without error (0: none yet)")
        last_ok.add_metric([], state.last_pass_ok_s or 0)
        yield last_ok
        passes = CounterMetricFamily("reconciler_passes", "Scheduled passes by outcome",
                                     labels=["outcome"])
        for outcome, n in state.passes.items():
            passes.add_metric([outcome], n)
        yield passes
        histogram = state.pass_durations
        duration = HistogramMetricFamily(
            "reconciler_pass_duration_seconds", "Duration of scheduled passes",
            buckets=[(bucket_bound(b), n) for b, n in histogram.cumulative()],
            sum_value=histogram.sum_s)
        yield duration

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


async def render(state: Runtime, cache: CountsCache, connections: GuardFigures,
                 accept: str | None = None) -> tuple[bytes, str]:
    """The exposition for a scraper that sent `accept` (its Accept header), and its
    Content-Type (prometheus_client's choice: the text format with its version, or
    OpenMetrics). Raises LedgerError."""
    counts = await cache.get(state)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(state, counts, cache.refreshes, connections))
    registry.register(PROCESS)
    registry.register(PLATFORM)
    encoder, content_type = choose_encoder(accept or "")
    return bytes(encoder(registry)), content_type
