"""Crash consistency, long form: SIGKILL `reconciler catch-up` at random moments, restart,
settle, then check the three books.

    .venv/bin/python bench/crash.py --orders 5000 --iterations 60 --seed 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import tomllib
from pathlib import Path

from reconciler.core.catalog import parse_catalog
from reconciler.ledger import Ledger
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.testing.books import check_books, delivered_at_start
from reconciler.testing.crash import campaign


async def run(orders: int, iterations: int, seed: int, max_kill_s: float) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="reconciler-crash-"))
    catalog = folder / "catalog.toml"
    catalog.write_text(SANDBOX_CATALOG)
    started = time.perf_counter()
    options = SandboxOptions(mix=OrderMix(count=orders, seed=seed), max_page_size=100)
    async with Sandbox(options) as sandbox:
        elsewhere = delivered_at_start(sandbox)
        figures = await campaign(sandbox, catalog, folder / "ledger.db", iterations=iterations,
                                 seed=seed, max_kill_s=max_kill_s,
                                 new_orders=max(1, orders // 10))
        violations = check_books(sandbox, parse_catalog(tomllib.loads(SANDBOX_CATALOG)),
                                 elsewhere)
        replayed = sandbox.pgos.stats()["replayed"]
        reused = sandbox.pgos.rejected.get("token_reused", 0)
    ledger = Ledger.open(folder / "ledger.db")
    try:
        integrity = ledger.integrity_ok()
        recovered = ledger.db.execute(
            "SELECT kind, count(*) FROM effects WHERE attempts > 1 GROUP BY kind").fetchall()
    finally:
        ledger.close()
    return {
        "orders": orders, "seed": seed, **figures.__dict__,
        "violations": len(violations.lines) + reused + (0 if integrity else 1)
        + (0 if figures.final_status == 0 else 1),
        "violation_samples": violations.lines[:10], "token_reused": reused,
        "integrity_ok": integrity, "grants_replayed_by_pgos": replayed,
        "effects_resent_after_crash": dict(recovered),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="SIGKILL campaign against the sandbox")
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-kill-s", type=float, default=2.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.orders, args.iterations, args.seed, args.max_kill_s))
    print(json.dumps(result, indent=2))
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
