"""Read models for /metrics: counts read on a read-only connection of their own.

Rules: opened and closed per call, so it may run in a worker thread while the daemon's own
connection serves the event loop (WAL lets readers and the writer proceed together).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import LedgerError


@dataclass(frozen=True)
class LedgerCounts:
    """Orders, effects by (kind, state), and orders waiting for attention."""

    orders: int
    effects: tuple[tuple[str, str, int], ...]
    attention: int


def read_counts(path: Path | str) -> LedgerCounts:
    """Count on a fresh read-only connection. Raises LedgerError when it cannot be read."""
    try:
        conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise LedgerError(f"ledger {path}: cannot open for reading: {exc}") from exc
    try:
        orders = int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
        effects = tuple((str(k), str(s), int(n)) for k, s, n in conn.execute(
            "SELECT kind, state, count(*) FROM effects GROUP BY kind, state"))
        attention = int(conn.execute(
            "SELECT count(*) FROM orders WHERE attention IS NOT NULL AND adopted = 0"
        ).fetchone()[0])
    except sqlite3.Error as exc:
        raise LedgerError(f"ledger {path}: cannot count: {exc}") from exc
    finally:
        conn.close()
    return LedgerCounts(orders, effects, attention)
