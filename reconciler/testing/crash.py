"""Crash campaign: run `reconciler catch-up` as a subprocess against an in-process sandbox,
SIGKILL it at random (seeded) moments, restart, and finally let it settle.

Rules: used by the quick test in CI and by bench/crash.py with a larger size; the caller checks
the books afterwards. Refunds arrive halfway through, so revocations are killed too.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from reconciler.sandbox.runner import Sandbox

SETTLE_ATTEMPTS = 5


@dataclass
class CrashFigures:
    """What a campaign did."""

    iterations: int = 0
    killed: int = 0
    exited: int = 0
    refunded: int = 0
    added: int = 0
    settle_runs: int = 0
    final_status: int = -1


def child_env(sandbox: Sandbox, catalog: Path, db: Path | str) -> dict[str, str]:
    """The environment of a reconciler subprocess aimed at `sandbox`, its ledger at `db` (a
    file or a postgresql:// URL)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RECONCILER_", "JOGOS_", "PGOS_", "SINK_"))}
    env.update(sandbox.env(catalog))
    env.update({"RECONCILER_DB": str(db), "RECONCILER_IDENTITY": "same",
                "RECONCILER_BACKOFF_S": "0.01", "RECONCILER_BACKOFF_MAX_S": "0.1",
                "RECONCILER_TIMEOUT_S": "3"})
    return env


async def run_child(env: dict[str, str], kill_after_s: float | None) -> int | None:
    """Run one catch-up; SIGKILL it after `kill_after_s`. Returns its exit status, or None
    when it was killed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reconciler", "catch-up", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL)
    try:
        return await asyncio.wait_for(proc.wait(), kill_after_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None


MIN_REVOKES = 5  # granted orders refunded halfway at least, so that revocations are killed too


def _granted(sandbox: Sandbox, game_id: int) -> set[str]:
    """Order ids of the game that PGOS has granted (their idempotency tokens)."""
    prefix = f"grant:{game_id}:"
    return {token[len(prefix):].split(":")[0] for token in sandbox.pgos.tokens
            if token.startswith(prefix)}


async def campaign(sandbox: Sandbox, catalog: Path, db: Path | str, *, iterations: int, seed: int,
                   max_kill_s: float = 2.0, game_id: int = 9943,
                   refund_share: float = 0.1, new_orders: int = 0) -> CrashFigures:
    """Kill and restart `iterations` times, refund orders halfway, then settle. Before every
    iteration `new_orders` paid orders arrive, so that every pass has effects to interrupt."""
    rng = random.Random(seed)
    env = child_env(sandbox, catalog, db)
    figures = CrashFigures()
    for index in range(iterations):
        if index == iterations // 2:
            granted = _granted(sandbox, game_id)
            if not granted:  # a loaded machine killed every pass before its first grant:
                await run_child(env, None)  # one whole pass, so that refunds meet grants
                figures.settle_runs += 1
                granted = _granted(sandbox, game_id)
            book = sandbox.jogos.books[game_id]
            refunds_of_granted = 0
            for order in book.orders:
                if order["refundStatus"] is not None:
                    continue
                mine = order["orderId"] in granted
                if rng.random() < refund_share or (mine and refunds_of_granted < MIN_REVOKES):
                    sandbox.jogos.refund(game_id, order["orderId"])
                    figures.refunded += 1
                    refunds_of_granted += mine
        if new_orders:
            sandbox.jogos.add_orders(game_id, new_orders)
            figures.added += new_orders
        status = await run_child(env, rng.uniform(0.05, max_kill_s))
        figures.iterations += 1
        if status is None:
            figures.killed += 1
        else:
            figures.exited += 1
    for _ in range(SETTLE_ATTEMPTS):
        figures.settle_runs += 1
        figures.final_status = await run_child(env, None) or 0
        if figures.final_status == 0:
            break
    return figures
