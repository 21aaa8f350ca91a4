"""Scheduled job: retry pending effects from the ledger, search the store again for
notifications still waiting for its confirmation, and forget expired nonces. A failure is
logged; the schedule goes on."""

from __future__ import annotations

import logging

from reconciler.engine.confirm import confirm_waiting
from reconciler.engine.passes import run_drain
from reconciler.runtime import Runtime

log = logging.getLogger("jobs.drain")


async def drain(runtime: Runtime) -> None:
    """Settle what is pending; prune expired nonces. A failure is logged, not raised."""
    if runtime.stopping:
        return
    try:
        with runtime.tracked():
            outcomes = await run_drain(runtime.engine)
            confirmed = await confirm_waiting(runtime.engine)
            outcomes.update({f"note_{k}": v for k, v in confirmed.items()})
        runtime.prune_nonces()
    except Exception as exc:
        log.error("drain failed: %s: %s", type(exc).__name__, exc)
        return
    if outcomes:
        log.info("drain: %s", " ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
