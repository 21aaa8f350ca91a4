"""Faults and drift, long form: passes against a sandbox that fails 20% of requests (HTTP 5xx
and error codes), times out 5% (after applying them), garbles 1%, and is slow, on both Jogos
and PGOS; optionally orders are added and refunded while passes page. Runs passes until
settled; reports passes needed and remote calls per order, and checks the books.

    .venv/bin/python bench/faults.py --orders 20000
    .venv/bin/python bench/faults.py --orders 20000 --drift
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import tomllib
from pathlib import Path

from reconciler.config import build_config
from reconciler.core.catalog import parse_catalog
from reconciler.engine.passes import open_engine, run_pass
from reconciler.errors import ReconcilerError
from reconciler.ledger import Ledger
from reconciler.sandbox.faults import Faults
from reconciler.sandbox.jogos import Drift
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.testing.books import check_books, delivered_at_start

MAX_PASSES = 20


async def run(orders: int, drift: bool, seed: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="reconciler-faults-"))
    catalog = folder / "catalog.toml"
    catalog.write_text(SANDBOX_CATALOG)
    async with Sandbox(SandboxOptions(mix=OrderMix(count=orders, seed=seed))) as sandbox:
        existing = {o["orderId"] for o in sandbox.jogos.books[9943].orders}
        elsewhere = delivered_at_start(sandbox)
        faults = Faults(latency_s=0.005, error_rate=0.2, timeout_rate=0.05,
                        malformed_rate=0.01, hang_s=1.0, seed=seed)
        sandbox.jogos.injector.configure(faults)
        sandbox.pgos.injector.configure(Faults(**{**faults.__dict__, "seed": seed + 1}))
        if drift:
            sandbox.jogos.drift = Drift(new_orders_per_request=2, refunds_per_request=1)
        config = build_config({}, sandbox.env(catalog) | {
            "RECONCILER_DB": str(folder / "ledger.db"), "RECONCILER_IDENTITY": "same",
            "RECONCILER_TIMEOUT_S": "0.5", "RECONCILER_BACKOFF_S": "0.02",
            "RECONCILER_BACKOFF_MAX_S": "0.5", "RECONCILER_CONCURRENCY": "16",
            "RECONCILER_EFFECT_CONCURRENCY": "32"})
        started = time.perf_counter()
        passes = failed_passes = requests = 0
        settled = False
        for passes in range(1, MAX_PASSES + 1):
            if drift and passes == 3:
                sandbox.jogos.drift = Drift()  # the store calms down; the next pass settles
            try:
                async with open_engine(config) as engine:
                    report = await run_pass(engine)
                    requests += engine.stats.total()
            except ReconcilerError:
                failed_passes += 1
                continue
            settled = (report.settled and not drift) or (report.settled and passes >= 3)
            if settled:
                break
        wall = time.perf_counter() - started
        violations = check_books(sandbox, parse_catalog(tomllib.loads(SANDBOX_CATALOG)),
                                 elsewhere)
        ledger = Ledger.open(folder / "ledger.db")
        recorded = {o for (o,) in ledger.db.execute("SELECT order_id FROM orders")}
        ledger.close()
        injected = {"jogos": dict(sandbox.jogos.injector.counters.__dict__),
                    "pgos": dict(sandbox.pgos.injector.counters.__dict__)}
        total_orders = len(sandbox.jogos.books[9943].orders)
    missed = len(existing - recorded)
    return {
        "orders_at_start": orders, "orders_at_end": total_orders, "drift": drift,
        "passes": passes, "passes_stopped_by_faults": failed_passes, "settled": settled,
        "remote_requests": requests,
        "requests_per_order": round(requests / max(1, total_orders), 2),
        "faults_injected": injected, "missed_orders": missed,
        "violations": len(violations.lines), "violation_samples": violations.lines[:5],
        "wall_s": round(wall, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="passes under faults (and drift) until settled")
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--drift", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = asyncio.run(run(args.orders, args.drift, args.seed))
    print(json.dumps(result, indent=2))
    bad = result["violations"] or result["missed_orders"] or not result["settled"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
