"""Read models of counts: for /metrics, pass summaries and tests.

Rules: each count is one query written once, on anything that `Executes` the shared SQL (a
plain sqlite3 connection, the ledger's Db), so that the daemon's own connection and the
connection of `read_counts` share it. `read_counts` opens and closes its connection per call
(read-only on SQLite; a PostgreSQL session of its own), so it may run in a worker thread while
the daemon's connection serves the event loop (WAL lets readers and the writer proceed
together; PostgreSQL's readers never wait for writers).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.core.states import UNSETTLED
from reconciler.errors import LedgerError
from reconciler.ledger.connection import Executes, db_errors, marks
from reconciler.ledger.dialect import is_postgres_url
from reconciler.ledger.gauges import Gauges, read_gauges
from reconciler.ledger.orders import WAITING

TABLES = ("orders", "quarantine", "effects", "runs", "links", "debts")


@dataclass(frozen=True)
class LedgerCounts:
    """Orders, effects by (kind, state), orders waiting for attention, and the gauges of
    quarantine, debts, notifications and the latest audit."""

    orders: int
    effects: tuple[tuple[str, str, int], ...]
    attention: int
    gauges: Gauges = field(default_factory=Gauges)


def _count(conn: Executes, sql: str, params: list[object] | None = None) -> int:
    return int(conn.execute(sql, params or []).fetchone()[0] or 0)


def effect_counts(conn: Executes) -> list[tuple[str, str, int]]:
    """(kind, state, count) of every effect."""
    return [(str(k), str(s), int(n)) for k, s, n in conn.execute(
        "SELECT kind, state, count(*) FROM effects GROUP BY kind, state")]


def attention_count(conn: Executes) -> int:
    """Orders waiting for a person or a change (not adopted)."""
    return _count(conn, f"SELECT count(*) FROM orders WHERE {WAITING}")


def table_counts(conn: Executes) -> dict[str, int]:
    """Row counts of every table of the books."""
    return {name: _count(conn, f"SELECT count(*) FROM {name}") for name in TABLES}


def pending_counts(conn: Executes, game_ids: list[int]) -> dict[str, int]:
    """What is not settled in these games: effects by unsettled state (every one present),
    orders waiting for attention, quarantined rows."""
    games = marks(game_ids)
    found = {str(state): int(n) for state, n in conn.execute(
        f"SELECT state, count(*) FROM effects WHERE game_id IN ({games}) "
        f"AND state IN ({marks(UNSETTLED)}) GROUP BY state",
        [*game_ids, *(s.value for s in UNSETTLED)])}
    counts = {s.value: found.get(s.value, 0) for s in UNSETTLED}
    counts["orders_attention"] = _count(
        conn, f"SELECT count(*) FROM orders WHERE game_id IN ({games}) AND {WAITING}",
        list(game_ids))
    counts["quarantined"] = _count(
        conn, f"SELECT count(*) FROM quarantine WHERE game_id IN ({games})", list(game_ids))
    return counts


def _counts(conn: Executes) -> LedgerCounts:
    return LedgerCounts(_count(conn, "SELECT count(*) FROM orders"),
                        tuple(effect_counts(conn)), attention_count(conn),
                        read_gauges(conn))


def read_counts(path: Path | str, password: str | None = None) -> LedgerCounts:
    """Count on a fresh connection (read-only on SQLite; `password` for a PostgreSQL URL).
    Raises LedgerError when it cannot be read."""
    if is_postgres_url(path):
        from reconciler.ledger.postgres import PgDatabase, redacted

        try:
            db = PgDatabase(str(path), password)
        except db_errors() as exc:
            raise LedgerError(f"ledger {redacted(str(path))}: cannot connect: {exc}") from exc
        try:
            return _counts(db)
        except db_errors() as exc:
            raise LedgerError(f"ledger {redacted(str(path))}: cannot count: {exc}") from exc
        finally:
            db.close()
    try:
        # as_uri() percent-encodes the path: a '#', '?' or '%' in it cannot end the file name
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise LedgerError(f"ledger {path}: cannot open for reading: {exc}") from exc
    try:
        return _counts(conn)
    except sqlite3.Error as exc:
        raise LedgerError(f"ledger {path}: cannot count: {exc}") from exc
    finally:
        conn.close()
