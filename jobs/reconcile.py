"""Scheduled jobs: the frequent head scan (the newest end of each game's list until nothing is
new) and the periodic full sweep (the whole list, for late changes deep in it). A failure is
logged; the schedule goes on.

Rules: one pass at a time (the engine's pass lock): a head scan due during a sweep waits for it.
Both count as passes for /healthz and /metrics.
"""

from __future__ import annotations

import logging
import time

from reconciler.engine.passes import run_pass
from reconciler.engine.scan import Scope
from reconciler.runtime import Runtime

log = logging.getLogger("jobs.reconcile")


async def reconcile(runtime: Runtime) -> None:
    """Run a head scan unless the daemon is stopping; record its outcome (ok, attention,
    error) and duration for /healthz and /metrics. A failure is logged, not raised."""
    await _pass(runtime, Scope.head())


async def sweep(runtime: Runtime) -> None:
    """Run a full pass over every game's whole list (the daily sweep); recorded like any
    pass. A failure is logged, not raised."""
    await _pass(runtime, Scope.full())


async def _pass(runtime: Runtime, scope: Scope) -> None:
    """A scheduled pass (its run says `scheduled`; its figures name the scope)."""
    if runtime.stopping:
        return
    started = time.time()
    try:
        with runtime.tracked():
            async with runtime.engine.pass_lock:
                report = await run_pass(runtime.engine, kind="scheduled", scope=scope)
    except Exception as exc:
        runtime.record_pass(started, ok=False)
        log.error("scheduled %s pass failed: %s: %s", scope.kind, type(exc).__name__, exc)
    else:
        runtime.record_pass(started, ok=True, attention=not report.settled)
