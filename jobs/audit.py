"""Scheduled job: the daily audit (cron expression RECONCILER_AUDIT_CRON), recorded in the
ledger for /ops/audit/latest. A failure is logged; the schedule goes on."""

from __future__ import annotations

import logging

from reconciler.engine.audit import run_audit
from reconciler.report import document
from reconciler.server.state import DaemonState

log = logging.getLogger("jobs.audit")


async def audit(state: DaemonState) -> None:
    """Run the audit and record its summary."""
    if state.stopping:
        return
    engine = state.engine
    try:
        with state.tracked():
            result, books = await run_audit(engine)
    except Exception as exc:
        log.error("audit failed: %s: %s", type(exc).__name__, exc)
        return
    doc = document(result, games=engine.game_ids, as_of_s=books.as_of_s, since_s=None,
                   until_s=None, threshold=0)
    summary = {k: v for k, v in doc.items() if k != "items"}
    engine.ledger.record_audit(summary, str(doc["status"]), int(engine.clock()))
    # Above the threshold is what `reconciler audit` signals with exit 3: a warning here, for
    # the journal's alerting (the daemon's audit is the default morning audit).
    level = logging.INFO if doc["status"] == "ok" else logging.WARNING
    log.log(level, "audit: %s, %s discrepancies", doc["status"], doc["total"])
