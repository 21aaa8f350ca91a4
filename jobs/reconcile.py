"""Scheduled job: one full reconcile pass. A failure is logged; the schedule goes on."""

from __future__ import annotations

import logging
import time

from reconciler.engine.passes import run_pass
from reconciler.server.state import DaemonState

log = logging.getLogger("jobs.reconcile")


async def reconcile(state: DaemonState) -> None:
    """Run a pass unless the daemon is stopping; record its outcome for /healthz and
    /metrics."""
    if state.stopping:
        return
    started = time.time()
    try:
        with state.tracked():
            await run_pass(state.engine, kind="scheduled")
    except Exception as exc:
        state.passes["error"] += 1
        log.error("scheduled pass failed: %s: %s", type(exc).__name__, exc)
    else:
        state.passes["ok"] += 1
        state.last_pass_ok_s = time.time()
    finally:
        state.last_pass_s = time.time()
        state.last_pass_duration_s = state.last_pass_s - started
