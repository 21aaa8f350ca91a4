"""Benchmark a full pass against the sandbox (run in its own process).

    .venv/bin/python bench/full_pass.py --orders 100000 --latency-ms 20 --concurrency 16

Prints wall time, orders/s and peak RSS of the reconciler for: the read phase with the
configured concurrency, the same with concurrency 1 (the sequential page-by-page baseline),
and the network floor (pages x latency / concurrency). With --effects, a full pass (record,
plan, grant, mark delivered) follows on a fresh ledger.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sandbox import peak_rss_mib, sandbox_process, set_latency

from reconciler.clients.jogos import JogosClient
from reconciler.clients.retry import RequestStats, RetryPolicy
from reconciler.config import build_config
from reconciler.engine.fetch import fetch_orders
from reconciler.engine.passes import open_engine, run_pass, summary_line


async def read_phase(env: dict[str, str], page_size: int, concurrency: int) -> dict[str, float]:
    """Fetch every order once; returns figures."""
    connector = aiohttp.TCPConnector(limit=concurrency + 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = JogosClient(session, base_url=env["JOGOS_BASE_URL"],
                             game_id=int(env["JOGOS_GAME_ID"]),
                             shared_key=env["JOGOS_SHARED_KEY"], retry=RetryPolicy(),
                             timeout_s=30, stats=RequestStats())
        started = time.perf_counter()
        fetched = await fetch_orders(client, page_size=page_size, concurrency=concurrency)
        wall = time.perf_counter() - started
    return {"orders": len(fetched.orders), "pages": fetched.pages_read, "wall_s": round(wall, 2),
            "orders_per_s": round(len(fetched.orders) / wall), "concurrency": concurrency}


async def full_pass(env: dict[str, str], page_size: int, concurrency: int) -> dict[str, object]:
    """A complete pass with effects on a fresh ledger."""
    config = build_config({}, env | {"RECONCILER_PAGE_SIZE": str(page_size),
                                     "RECONCILER_CONCURRENCY": str(concurrency),
                                     "RECONCILER_EFFECT_CONCURRENCY": str(concurrency * 2)})
    started = time.perf_counter()
    async with open_engine(config) as engine:
        report = await run_pass(engine)
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 2), "summary": summary_line(report.figures, report.pending),
            "orders_per_s": round(report.figures["orders"] / wall)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--no-baseline", action="store_true", help="skip the sequential run")
    parser.add_argument("--effects", action="store_true", help="also run a full pass")
    args = parser.parse_args()
    results: dict[str, object] = {"orders": args.orders, "latency_ms": args.latency_ms,
                                  "page_size": args.page_size}
    with sandbox_process(args.orders, args.page_size) as env:
        set_latency(env, args.latency_ms / 1000)
        pages = -(-args.orders // args.page_size)
        results["floor_s"] = round(pages * args.latency_ms / 1000 / args.concurrency, 2)
        results["concurrent"] = asyncio.run(read_phase(env, args.page_size, args.concurrency))
        if not args.no_baseline:
            results["sequential"] = asyncio.run(read_phase(env, args.page_size, 1))
            results["sequential_floor_s"] = round(pages * args.latency_ms / 1000, 2)
        if args.effects:
            results["full_pass"] = asyncio.run(full_pass(env, args.page_size, args.concurrency))
    results["peak_rss_mib"] = round(peak_rss_mib(), 1)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
