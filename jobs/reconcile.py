"""Scheduled job: one full reconcile pass. A failure is logged; the schedule goes on."""

from __future__ import annotations

import logging
import time

from reconciler.engine.passes import run_pass
from reconciler.runtime import Runtime

log = logging.getLogger("jobs.reconcile")


async def reconcile(runtime: Runtime) -> None:
    """Run a pass unless the daemon is stopping; record its outcome (ok, attention, error)
    and duration for /healthz and /metrics. A failure is logged, not raised."""
    if runtime.stopping:
        return
    started = time.time()
    try:
        with runtime.tracked():
            report = await run_pass(runtime.engine, kind="scheduled")
    except Exception as exc:
        runtime.record_pass(started, ok=False)
        log.error("scheduled pass failed: %s: %s", type(exc).__name__, exc)
    else:
        runtime.record_pass(started, ok=True, attention=not report.settled)
