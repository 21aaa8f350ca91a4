"""The two engines side by side: a 100k-order pass on a SQLite ledger and on a PostgreSQL one.

    .venv/bin/python bench/engines.py --orders 100000

For each engine, against a fresh sandbox process (same seed, so the same store; no added
latency, so the ledger's share shows): a first full pass with effects (record, plan, grant,
mark delivered), then a second pass over the unchanged store (reads and digest checks only).
Then the ledger alone, no network: record the orders, record them again unchanged, and 10,000
claim/settle conversations. PostgreSQL is a throwaway server on this machine (unix socket)
with durable settings (fsync and synchronous_commit on, the defaults), and the same server with
synchronous_commit off for the ledger's database (SQLite's own promise); SQLite is the default
file (WAL, synchronous=NORMAL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sandbox import sandbox_process

from reconciler.config import build_config
from reconciler.core.catalog import CurrencyGrant, Product
from reconciler.core.models import Order
from reconciler.core.plan import Action, ActionKind
from reconciler.core.states import EffectState
from reconciler.engine.passes import open_engine, run_pass
from reconciler.ledger import Ledger, Outcome
from reconciler.testing.postgres import TempPostgres

GEM = Product("p", (), (CurrencyGrant("GEM", 5),))


async def passes(env: dict[str, str], ledger: str) -> dict[str, float]:
    """A first pass with effects and a second pass with nothing to do; seconds and figures."""
    config = build_config({}, env | {"RECONCILER_DB": ledger, "RECONCILER_CONCURRENCY": "16",
                                     "RECONCILER_EFFECT_CONCURRENCY": "32"})
    found: dict[str, float] = {}
    for name in ("first_pass_s", "second_pass_s"):
        started = time.perf_counter()
        async with open_engine(config) as engine:
            report = await run_pass(engine)
        found[name] = round(time.perf_counter() - started, 1)
        if name == "first_pass_s":
            found["effects_done"] = sum(v for k, v in report.figures.items()
                                        if k.startswith("effect_") and k.endswith(":done"))
        found[name.replace("_s", "_settled")] = float(report.settled)
    return found


def ledger_alone(location: str, orders: int) -> dict[str, float]:
    """The ledger without the network: record, record unchanged, claim/settle; seconds."""
    batch = [Order(1, f"o{i}", f"u{i % 997}", "p", False, 1_700_000_000 + i, None, None)
             for i in range(orders)]
    ledger = Ledger.open(location)
    found: dict[str, float] = {}
    try:
        for name in ("record_new_s", "record_unchanged_s"):
            started = time.perf_counter()
            for start in range(0, orders, 2000):  # a streaming pass's chunks
                ledger.record_orders(batch[start:start + 2000], 1)
            found[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        for order in batch[:10_000]:
            effect = ledger.claim(Action(ActionKind.GRANT, order, "player", GEM), 2)
            assert effect is not None
            ledger.settle(effect, Outcome(EffectState.DONE, {"instances": []}), 3)
            ledger.release_order(order.game_id, order.order_id)
        found["claim_settle_s"] = round(time.perf_counter() - started, 2)
        found["claim_settle_count"] = min(orders, 10_000)
    finally:
        ledger.close()
    return found


def relaxed(server: TempPostgres, name: str) -> str:
    """A database whose commits do not wait for the WAL flush (synchronous_commit = off: what
    SQLite's WAL with synchronous=NORMAL promises: a crash of the machine may lose the last
    commits, never corrupt the books)."""
    url = server.create_database(f"{name}_async")
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{urlsplit(url).path.lstrip("/")}" '
                      "SET synchronous_commit = off")
    return url


async def run(orders: int, page_size: int, seed: int) -> dict[str, dict[str, float]]:
    folder = Path(tempfile.mkdtemp(prefix="reconciler-engines-"))
    results: dict[str, dict[str, float]] = {}
    with TempPostgres(durable=True) as server:
        targets = {"sqlite": lambda name: str(folder / f"{name}.db"),
                   "postgresql": lambda name: server.create_database(name),
                   "postgresql_async_commit": lambda name: relaxed(server, name)}
        for engine, location in targets.items():
            with sandbox_process(orders, page_size, seed) as env:
                figures = await passes(env, location("pass"))
            figures.update(ledger_alone(location("alone"), orders))
            results[engine] = figures
            print(engine, json.dumps(figures), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = asyncio.run(run(args.orders, args.page_size, args.seed))
    keys = list(next(iter(results.values())))
    print("| measure | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for key in keys:
        print(f"| {key} | " + " | ".join(str(r[key]) for r in results.values()) + " |")


if __name__ == "__main__":
    main()
