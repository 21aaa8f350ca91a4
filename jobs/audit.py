"""Scheduled job: the daily audit (cron expression RECONCILER_AUDIT_CRON; always scheduled),
recorded in the ledger for /ops/audit/latest. A failure is logged; the schedule goes on.

Rules: the same audit as `reconciler audit` (engine.audit.audit_report), with threshold 0;
above it is a warning, for the journal's alerting (the daemon's audit is the default morning
audit; the CLI signals the same with exit 3).
"""

from __future__ import annotations

import logging

from reconciler.engine.audit import audit_report
from reconciler.runtime import Runtime

log = logging.getLogger("jobs.audit")


async def audit(runtime: Runtime) -> None:
    """Run the audit and record its summary. A failure is logged, not raised."""
    if runtime.stopping:
        return
    try:
        with runtime.tracked():
            doc = await audit_report(runtime.engine)
    except Exception as exc:
        log.error("audit failed: %s: %s", type(exc).__name__, exc)
        return
    level = logging.INFO if doc["status"] == "ok" else logging.WARNING
    log.log(level, "audit: %s, %s discrepancies", doc["status"], doc["total"])
