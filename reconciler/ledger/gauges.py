"""Read model of the books' gauges for /metrics: quarantined rows, clawback debts, notifications
by status, and the discrepancies of the latest audit run.

Rules: read-only; plain SQL with `?` placeholders and nothing SQLite-specific, each query
written once; every function takes anything that `Executes` the shared SQL (a sqlite3
connection, the ledger's Db, on either engine), so the daemon's own connection
(`Ledger.gauges`) and the read-only connection of `counts.read_counts` share them. Figures of
an audit are the summary its run recorded (engine.audit.audit_report); none is made up here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from reconciler.core.notify import NoteStatus
from reconciler.ledger.connection import Executes


@dataclass(frozen=True)
class AuditGauges:
    """The latest finished audit run: when, and its discrepancies by class."""

    finished_s: int
    counts: dict[str, int]
    informational: frozenset[str]


@dataclass(frozen=True)
class Gauges:
    """Quarantined rows, debts, notifications by status (every status present), and the
    latest audit (None before the first one)."""

    quarantined: int = 0
    debts: int = 0
    notifications: dict[str, int] = field(default_factory=dict)
    audit: AuditGauges | None = None


def _one(conn: Executes, sql: str) -> int:
    return int(conn.execute(sql).fetchone()[0] or 0)


def notification_counts(conn: Executes) -> dict[str, int]:
    """Notifications by status, every NoteStatus present (zero included). Raises
    a database error."""
    found = {str(status): int(n) for status, n in conn.execute(
        "SELECT status, count(*) FROM notifications GROUP BY status")}
    return {s.value: found.get(s.value, 0) for s in NoteStatus}


def latest_audit(conn: Executes) -> AuditGauges | None:
    """The latest finished audit run's counts, or None when no audit was recorded (or its
    figures hold no counts). Raises a database error."""
    found = conn.execute(
        "SELECT finished_s, figures FROM runs WHERE kind = ? AND finished_s IS NOT NULL "
        "ORDER BY id DESC LIMIT 1", ["audit"]).fetchone()
    if found is None or not found[1]:
        return None
    try:
        figures = json.loads(found[1])
    except ValueError:  # written by us as JSON; a hand-edited row is not an audit
        return None
    counts = figures.get("counts") if isinstance(figures, dict) else None
    if not isinstance(counts, dict):
        return None
    return AuditGauges(int(found[0]), {str(k): int(v) for k, v in counts.items()},
                       frozenset(str(c) for c in figures.get("informational", [])))


def read_gauges(conn: Executes) -> Gauges:
    """Every gauge of this room. Raises a database error."""
    return Gauges(quarantined=_one(conn, "SELECT count(*) FROM quarantine"),
                  debts=_one(conn, "SELECT count(*) FROM debts"),
                  notifications=notification_counts(conn), audit=latest_audit(conn))
