"""High availability, long form: two daemons on one PostgreSQL (a throwaway server) and the
sandbox; the leader SIGKILLed at random moments during passes and notification load, `--kills`
times; takeover times and the books afterwards.

    .venv/bin/python bench/ha.py --orders 3000 --kills 60 --seed 1 --check-s 1
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
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.testing.books import delivered_at_start
from reconciler.testing.ha import campaign
from reconciler.testing.postgres import TempPostgres


async def run(orders: int, kills: int, seed: int, check_s: float,
              max_kill_s: float) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="reconciler-ha-"))
    started = time.perf_counter()
    catalog = parse_catalog(tomllib.loads(SANDBOX_CATALOG))
    with TempPostgres() as server:
        options = SandboxOptions(mix=OrderMix(count=orders, seed=seed), max_page_size=100)
        async with Sandbox(options) as sandbox:
            figures = await campaign(sandbox, folder, server.create_database(), catalog,
                                     delivered_at_start(sandbox), kills=kills, seed=seed,
                                     check_s=check_s, max_kill_s=max_kill_s,
                                     settle_timeout_s=300)
            replayed = sandbox.pgos.stats()["replayed"]
    return {**figures.summary(), "orders_at_start": orders, "check_s": check_s,
            "takeovers_over_2x_check": sum(t > 2 * check_s for t in figures.takeovers_s),
            "grants_replayed_by_pgos": replayed, "first_violations": figures.violations[:5],
            "wall_s": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check-s", type=float, default=1.0)
    parser.add_argument("--max-kill-s", type=float, default=2.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.orders, args.kills, args.seed, args.check_s,
                                     args.max_kill_s)), indent=2))


if __name__ == "__main__":
    main()
