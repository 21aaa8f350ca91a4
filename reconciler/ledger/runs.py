"""Runs: every pass, drain and audit, with its figures (what /ops shows as the latest run).

Rules: a run is recorded `running` when it starts and finished with a status and its figures;
one killed midway stays `running` (the audit reports it as interrupted). Every function takes
the ledger's Db (SQLite or PostgreSQL); rows are mapped by column name.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.ledger.connection import Db, row

RUN_COLUMNS = "id, kind, started_s, finished_s, status, figures"


def start(db: Db, kind: str, now_s: int) -> int:
    """Record the start of a run; returns its id. Raises a database error."""
    with db.atomic():
        found = db.execute("INSERT INTO runs (kind, started_s, status) "
                           "VALUES (?, ?, 'running') RETURNING id", [kind, now_s]).fetchone()
        return int(found[0])


def finish(db: Db, run_id: int, status: str, figures: dict[str, Any], now_s: int) -> None:
    """Record the end of a run with its figures. Raises a database error."""
    with db.atomic():
        db.execute("UPDATE runs SET finished_s = ?, status = ?, figures = ? WHERE id = ?",
                   [now_s, status, json.dumps(figures, sort_keys=True), run_id])


def record(db: Db, kind: str, status: str, figures: dict[str, Any], now_s: int) -> None:
    """Record a run that starts and finishes at once (an audit), in one transaction.
    Raises a database error."""
    with db.atomic():
        db.execute("INSERT INTO runs (kind, started_s, finished_s, status, figures) "
                   "VALUES (?, ?, ?, ?, ?)",
                   [kind, now_s, now_s, status, json.dumps(figures, sort_keys=True)])


def last_of_kind(db: Db, kind: str) -> dict[str, Any] | None:
    """The latest finished run of this kind ({id, kind, started_s, finished_s, status,
    figures}), or None."""
    found = row(db, f"SELECT {RUN_COLUMNS} FROM runs WHERE kind = ? AND finished_s IS NOT NULL "
                "ORDER BY id DESC LIMIT 1", [kind])
    if found is None:
        return None
    return {"id": found["id"], "kind": found["kind"], "started_s": found["started_s"],
            "finished_s": found["finished_s"], "status": found["status"],
            "figures": json.loads(found["figures"]) if found["figures"] else {}}
