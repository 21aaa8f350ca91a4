"""Figures of the daemon's scheduled passes, kept in memory for /healthz and /metrics.

Rules: plain data, no metrics library (server/metrics.py turns these into Prometheus
families). A pass has one outcome of PASS_OUTCOMES: `ok` (everything settled), `attention`
(the pass finished, something waits for a person or a change), `error` (the pass failed). A
pass that finished, settled or not, is a successful pass: it read the store and moved what it
could. Durations go into a histogram whose bucket bounds are in seconds.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

PASS_OUTCOMES = ("ok", "attention", "error")
# A pass reads the whole store: seconds on a small one, tens of minutes on millions of orders.
PASS_BUCKETS_S = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)


@dataclass
class DurationHistogram:
    """Observations counted per bucket (not cumulative; the last slot is above every bound),
    with their sum."""

    bounds_s: tuple[float, ...] = PASS_BUCKETS_S
    counts: list[int] = field(default_factory=list)
    sum_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds_s) + 1)

    def observe(self, seconds: float) -> None:
        """Count one duration (a bound is inclusive: `le`)."""
        self.counts[bisect_left(self.bounds_s, seconds)] += 1
        self.sum_s += seconds

    @property
    def count(self) -> int:
        """Observations so far."""
        return sum(self.counts)

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it), ending with (+inf, count)."""
        out, running = [], 0
        for bound, n in zip((*self.bounds_s, float("inf")), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


def pass_outcome(*, ok: bool, attention: bool) -> str:
    """The outcome of a pass: `error` when it failed, else `attention` or `ok`."""
    if not ok:
        return "error"
    return "attention" if attention else "ok"
