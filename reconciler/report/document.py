"""The audit report as a JSON-ready document: what every format renders.

Rules: pure and deterministic (the same audit gives the same document, byte for byte once
serialised). Every Unix time keeps its `*_s` field and gains an `*_iso` one beside it (UTC,
ISO 8601), every duration in seconds a `*_human` one; the schema names the version of this
shape (README's "Audit reports"). Items come discrepancies first, by class in the order of
`Discrepancy`, then the informational ones; counts and figures are the audit's own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.core.audit import INFO_CLASSES, Audit, Discrepancy, human_duration, iso

SCHEMA = "reconciler.audit/2"
CLASS_ORDER = {c.value: n for n, c in enumerate(Discrepancy)}
INFORMATIONAL = frozenset(c.value for c in INFO_CLASSES)


def item_order(item: dict[str, Any]) -> tuple[bool, int, int, str, str]:
    """Discrepancies before informational items; by class, game, order, detail."""
    return (item["class"] in INFORMATIONAL, CLASS_ORDER[item["class"]], item["game_id"],
            item["order_id"], item["detail"])


def by_class(counts: dict[str, int]) -> list[tuple[str, int]]:
    """(class, count) in the order of `Discrepancy`, whatever order `counts` came in (a
    document read back from JSON has its keys sorted)."""
    return sorted(counts.items(), key=lambda kv: CLASS_ORDER.get(kv[0], len(CLASS_ORDER)))


def human_time(ts_s: int | None) -> str | None:
    """A Unix time as a person reads it: 2026-11-23 06:00 UTC (seconds left out)."""
    if ts_s is None:
        return None
    return datetime.fromtimestamp(int(ts_s), UTC).strftime("%Y-%m-%d %H:%M UTC")


def _figures(figures: dict[str, Any]) -> dict[str, Any]:
    delay = figures["payment_to_grant_s"]
    oldest = figures.get("oldest_pending")
    return {
        **figures,
        "payment_to_grant_s": {**delay, "median_human": human_duration(delay["median"]),
                               "p95_human": human_duration(delay["p95"])},
        "oldest_pending_age_human": human_duration(figures["oldest_pending_age_s"]),
        "oldest_pending": None if oldest is None else {
            **oldest, "since_iso": iso(oldest["since_s"])},
    }


def document(audit: Audit, *, games: list[int], as_of_s: int, since_s: int | None,
             until_s: int | None, threshold: int) -> dict[str, Any]:
    """The report as a JSON-ready document."""
    total = audit.total()
    items = sorted(({**i.as_dict(), "since_iso": iso(i.since_s)} for i in audit.items),
                   key=item_order)
    return {
        "schema": SCHEMA,
        "as_of_s": as_of_s,
        "as_of_iso": iso(as_of_s),
        "period": {"since_s": since_s, "until_s": until_s, "since_iso": iso(since_s),
                   "until_iso": iso(until_s)},
        "games": games,
        "threshold": threshold,
        "total": total,
        "informational_total": len(audit.items) - total,
        "status": "ok" if total <= threshold else "over_threshold",
        "counts": audit.counts(),
        "informational": sorted(INFORMATIONAL),
        "figures": _figures(audit.figures),
        "items": items,
    }
