"""/metrics under heavy scraping on a large ledger: does /healthz stay fast?

Builds a ledger of `--orders` orders and `--effects` effects directly (the schema of
`Ledger.open`, then bulk inserts), starts the daemon on it (subprocess) against a bench
sandbox with a tiny store (its own process), waits for the daemon's first pass to finish (a
finished row in `runs`), then runs `--scrapers` concurrent scrapers hammering /metrics for
`--seconds` (in a separate process) while this process probes /healthz every `--probe-ms`.

Variants, each on a fresh copy of the same ledger:
- `cache` : RECONCILER_METRICS_CACHE_S = `--cache-s` (default 5, the shipped default);
- `nocache`: RECONCILER_METRICS_CACHE_S = `--tiny-cache-s` (every scrape reads the ledger);
- `old`   : with `--old PATH`, the daemon of another checkout (e.g. the parent of the change
  that cached /metrics: `git worktree add /tmp/reconciler-old 9309592^`), run from PATH.

Goal: /healthz p99 < `--goal-ms` (50 ms) while scraped.

    .venv/bin/python bench/metrics_scrape.py --orders 1000000 --effects 500000
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._procs import DaemonProc, SandboxProc
from reconciler.ledger import Ledger

GAME_ID = 9943  # the sandbox's game: the ledger's rows belong to the game the daemon serves


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def build_ledger(path: Path, orders: int, effects: int) -> float:
    """Migrate with Ledger.open, then bulk insert settled orders and done effects; seconds."""
    started = time.monotonic()
    Ledger.open(path).close()
    conn = sqlite3.connect(path)
    now = int(time.time())
    base = 1_700_000_000

    def order_rows() -> Any:
        for i in range(orders):
            order_id = f"B{i:029d}"
            digest = hashlib.blake2b(order_id.encode(), digest_size=12).hexdigest()
            yield (GAME_ID, order_id, str(1 + i % 5000), ("1001", "1002", "1003")[i % 3], 1,
                   base + 7 * i, None, None, digest, now, now, 0, None)

    def effect_rows() -> Any:
        for j in range(effects):
            i, kind = j // 2, ("grant", "arrived")[j % 2]
            order_id = f"B{i:029d}"
            yield (f"{kind}:{GAME_ID}:{order_id}", kind, GAME_ID, order_id, str(1 + i % 5000),
                   "done", 1, "{}", "{}", None, now, now)

    with conn:
        conn.executemany(
            "INSERT INTO orders (game_id, order_id, user_id, product_id, arrived_status, "
            "pay_time_s, refund_status, refund_time_s, digest, first_seen_s, changed_s, "
            "adopted, attention) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", order_rows())
        conn.executemany(
            "INSERT INTO effects (id, kind, game_id, order_id, player_id, state, attempts, "
            "payload, response, last_error, created_s, updated_s) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", effect_rows())
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.monotonic() - started


def copy_ledger(source: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{source}{suffix}")
        if src.exists():
            shutil.copy2(src, f"{target}{suffix}")


# -- the scrapers (a separate process: their CPU must not slow this process's probes) --------
async def scrape(url: str, scrapers: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=scrapers)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def one() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    async with http.get(url + "/metrics") as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    latencies.append((time.monotonic() - started) * 1000)
                else:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(scrapers)))
        wall_s = time.monotonic() - started
    return {"scrapes": len(latencies), "errors": errors, "wall_s": wall_s,
            "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99)}


def scrape_worker(url: str, scrapers: int, seconds: float) -> None:
    print(json.dumps(asyncio.run(scrape(url, scrapers, seconds))), flush=True)


# -- the probe ------------------------------------------------------------------------------
async def probe(url: str, every_s: float, until: asyncio.Event,
                end_s: float = math.inf) -> list[float]:
    """GET /healthz on a schedule of one every `every_s` until `until` is set or the
    monotonic clock reaches `end_s`. A probe is sent at its scheduled time or, when the
    previous one is still waiting, as soon as it returns; its latency counts from its
    scheduled time, so a stalled loop weighs as much as it would for a steady prober
    (no coordinated omission)."""
    latencies: list[float] = []
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        scheduled = time.monotonic()
        while not until.is_set() and scheduled < end_s:
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            async with http.get(url + "/healthz") as response:
                await response.read()
            done = time.monotonic()
            # every tick that fell due while this probe waited is answered now
            while scheduled <= done and scheduled < end_s:
                latencies.append((done - scheduled) * 1000)
                scheduled += every_s
    return latencies


async def idle_probe(url: str, every_s: float, seconds: float) -> list[float]:
    return await probe(url, every_s, asyncio.Event(), time.monotonic() + seconds)


async def loaded(url: str, args: argparse.Namespace) -> tuple[list[float], dict[str, Any]]:
    worker = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--scrape-worker", url, "--scrapers", str(args.scrapers),
        "--seconds", str(args.seconds), stdout=asyncio.subprocess.PIPE)
    until = asyncio.Event()
    task = asyncio.create_task(probe(url, args.probe_ms / 1000, until))
    out, _ = await worker.communicate()
    until.set()
    return await task, json.loads(out.decode().strip().splitlines()[-1])


async def scrape_once(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as response:
        return await response.text()


def ledger_reads(text: str) -> int | None:
    found = re.search(r"^reconciler_metrics_ledger_reads(?:_total)? (\S+)$", text, re.M)
    return None if found is None else int(float(found.group(1)))


def run_variant(name: str, sandbox: SandboxProc, source: Path, folder: Path,
                args: argparse.Namespace, extra: dict[str, str], cwd: Path | None = None
                ) -> dict[str, Any]:
    db = folder / f"ledger-{name}.db"
    copy_ledger(source, db)
    kwargs: dict[str, Any] = {} if cwd is None else {"cwd": cwd}
    daemon = DaemonProc(sandbox.env | extra, db, folder / f"daemon-{name}.log", **kwargs)
    try:
        t0 = time.monotonic()
        run = daemon.wait_first_pass(args.first_pass_timeout_s)
        first_pass_s = time.monotonic() - t0
        print(f"[{name}] first pass finished after {first_pass_s:.1f} s "
              f"(status {run['status']})", flush=True)
        idle = asyncio.run(idle_probe(daemon.url, args.probe_ms / 1000, args.idle_seconds))
        reads_before = ledger_reads(asyncio.run(scrape_once(daemon.url)))
        probes, scraped = asyncio.run(loaded(daemon.url, args))
        reads_after = ledger_reads(asyncio.run(scrape_once(daemon.url)))
    finally:
        code = daemon.stop()
    result = {
        "variant": name, "first_pass_s": round(first_pass_s, 1), "daemon_exit": code,
        "idle_p50_ms": pct(idle, 0.5), "idle_p99_ms": pct(idle, 0.99),
        "probes": len(probes), "p50_ms": pct(probes, 0.5), "p99_ms": pct(probes, 0.99),
        "max_ms": max(probes), "mean_ms": statistics.fmean(probes),
        "over_goal": sum(p > args.goal_ms for p in probes),
        "scrapes_per_s": scraped["scrapes"] / scraped["wall_s"],
        "scrape_p50_ms": scraped["p50_ms"], "scrape_p99_ms": scraped["p99_ms"],
        "scrape_errors": scraped["errors"],
        "ledger_reads": None if reads_before is None or reads_after is None
        else reads_after - reads_before,
    }
    print(f"[{name}] {json.dumps(result)}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description="/healthz latency while /metrics is scraped hard on a large ledger",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders in the ledger")
    parser.add_argument("--effects", type=int, default=500_000, help="effects in the ledger")
    parser.add_argument("--scrapers", type=int, default=16, help="concurrent /metrics clients")
    parser.add_argument("--seconds", type=float, default=15.0, help="scraping time per variant")
    parser.add_argument("--idle-seconds", type=float, default=3.0,
                        help="/healthz probed without scrapers first (baseline)")
    parser.add_argument("--probe-ms", type=float, default=20.0, help="/healthz probe interval")
    parser.add_argument("--goal-ms", type=float, default=50.0, help="/healthz p99 goal")
    parser.add_argument("--cache-s", type=float, default=5.0,
                        help="RECONCILER_METRICS_CACHE_S of the `cache` variant")
    parser.add_argument("--tiny-cache-s", type=float, default=0.001,
                        help="RECONCILER_METRICS_CACHE_S of the `nocache` variant")
    parser.add_argument("--variants", default="cache,nocache",
                        help="comma-separated: cache, nocache, old (old needs --old)")
    parser.add_argument("--old", type=Path,
                        help="a checkout of older code whose daemon runs as the `old` variant "
                             "(git worktree add /tmp/reconciler-old 9309592^)")
    parser.add_argument("--store-orders", type=int, default=10,
                        help="orders in the sandbox store (tiny: the first pass is short)")
    parser.add_argument("--first-pass-timeout-s", type=float, default=600)
    parser.add_argument("--scrape-worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scrape_worker:
        scrape_worker(args.scrape_worker, args.scrapers, args.seconds)
        return 0
    variants = args.variants.split(",")
    if "old" in variants and args.old is None:
        parser.error("the `old` variant needs --old PATH")

    folder = Path(tempfile.mkdtemp(prefix="reconciler-metrics-scrape-"))
    print(f"folder {folder}", flush=True)
    source = folder / "ledger-source.db"
    built_s = build_ledger(source, args.orders, args.effects)
    print(f"ledger: {args.orders:,} orders, {args.effects:,} effects built in {built_s:.1f} s "
          f"({source.stat().st_size / 2**20:,.0f} MiB)", flush=True)
    sandbox = SandboxProc(folder, orders=args.store_orders, page_size=100, latency_ms=0)
    results = []
    try:
        for name in variants:
            if name == "cache":
                extra = {"RECONCILER_METRICS_CACHE_S": str(args.cache_s)}
                results.append(run_variant(name, sandbox, source, folder, args, extra))
            elif name == "nocache":
                extra = {"RECONCILER_METRICS_CACHE_S": str(args.tiny_cache_s)}
                results.append(run_variant(name, sandbox, source, folder, args, extra))
            elif name == "old":
                git = shutil.which("git") or "/usr/bin/git"
                commit = subprocess.run([git, "-C", str(args.old), "rev-parse", "--short",
                                        "HEAD"], capture_output=True, text=True).stdout.strip()
                results.append(run_variant(name, sandbox, source, folder, args, {},
                                           cwd=args.old.resolve()) | {"commit": commit})
            else:
                parser.error(f"unknown variant {name}")
    finally:
        sandbox.stop()

    print()
    print(f"ledger {args.orders:,} orders + {args.effects:,} effects; {args.scrapers} scrapers "
          f"on /metrics for {args.seconds:g} s (separate process); /healthz every "
          f"{args.probe_ms:g} ms; goal /healthz p99 < {args.goal_ms:g} ms")
    print()
    print("| variant | /healthz idle p99 ms | /healthz p50 ms | /healthz p99 ms | "
          "/healthz max ms | p99/goal | probes over goal | scrapes/s | scrape p50 ms | "
          "scrape p99 ms | ledger count reads (during + 1 closing scrape) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    labels = {"cache": f"cache {args.cache_s:g} s", "nocache": f"cache {args.tiny_cache_s:g} s"}
    for r in results:
        label = labels.get(r["variant"], f"old code ({r.get('commit', '?')})")
        reads = "n/a" if r["ledger_reads"] is None else f"{r['ledger_reads']:,}"
        print(f"| {label} | {r['idle_p99_ms']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
              f"{r['max_ms']:.1f} | {r['p99_ms'] / args.goal_ms:.2f} | "
              f"{r['over_goal']}/{r['probes']} | {r['scrapes_per_s']:,.0f} | "
              f"{r['scrape_p50_ms']:.1f} | {r['scrape_p99_ms']:.1f} | {reads} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
