"""Scheduled job: retry pending effects from the ledger, and search the store again for
notifications still waiting for its confirmation."""

from __future__ import annotations

import logging

from reconciler.engine.confirm import confirm_notes
from reconciler.engine.passes import run_drain
from reconciler.server.state import DaemonState

log = logging.getLogger("jobs.drain")


async def drain(state: DaemonState) -> None:
    """Settle what is pending; prune expired nonces. A failure is logged."""
    if state.stopping:
        return
    try:
        with state.tracked():
            outcomes = await run_drain(state.engine)
            waiting = state.engine.ledger.pending_notes(state.engine.game_ids)
            if waiting:
                confirmed = await confirm_notes(state.engine, waiting)
                outcomes.update({f"note_{k}": v for k, v in confirmed.items()})
        state.engine.ledger.prune_nonces(int(state.engine.clock()))
    except Exception as exc:
        log.error("drain failed: %s: %s", type(exc).__name__, exc)
        return
    if outcomes:
        log.info("drain: %s", " ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))
