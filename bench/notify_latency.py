"""Notification to grant: how long a paid order waits between its Jogos notification and its
grant in PGOS, with the store confirming first (RECONCILER_NOTIFY_TRUST=store) and without
(signature).

The sandbox runs in its own process (bench/_sandbox_ctl.py: `--latency-ms` on every Jogos and
PGOS request, `--orders` orders, pages of `--page-size`), the daemon as a subprocess. Once the
daemon's first pass has finished (a finished row in the ledger's `runs`), two phases:

- isolated: `--single` notifications one at a time (each waits for its grant and mark), so
  each confirmation is a batch of one: its getOrders reads are counted exactly;
- steady: `--rate` new orders per second for `--seconds`, each notified as soon as it is in
  the store; latencies measured per notification.

Latency of a notification: from just before its POST to the moment its grant token reached
PGOS ("granted") and its arrivedorder reached Jogos ("marked"), both stamped by the sandbox
with the shared CLOCK_MONOTONIC. The daemon is then restarted on the same ledger with
RECONCILER_NOTIFY_TRUST=signature and measured again.

Floors (network only, L = latency): store = (2 + ceil(log2(pages)) + 1) getOrders reads + the
grant's PGOS calls (+ 1 arrivedorder for "marked"), all sequential; signature = the grant's
PGOS calls (+ 1 arrivedorder).

    .venv/bin/python bench/notify_latency.py --orders 100000 --rate 50 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._procs import DaemonProc, SandboxProc

GRANT_CALLS = {"1001": 1, "1002": 1, "1003": 2}  # PGOS commands per grant (sandbox catalog)


@dataclass
class Sent:
    order_id: str
    sent_s: float
    ack_ms: float
    acked: bool
    granted_ms: float | None = None
    marked_ms: float | None = None


@dataclass
class Phase:
    mode: str
    name: str
    sent: list[Sent] = field(default_factory=list)
    reads: int = 0
    wall_s: float = 0.0
    pages: int = 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def new_order(http: aiohttp.ClientSession, control: str, product: str) -> dict[str, Any]:
    async with http.post(f"{control}/orders", json={"count": 1, "product_id": product}) as r:
        doc = await r.json()
    return dict(doc["orders"][0]) | {"total": doc["total"]}


async def send(http: aiohttp.ClientSession, url: str, order: dict[str, Any]) -> Sent:
    headers = {"Content-Type": "application/json", "Authorization": order["authorization"]}
    started = time.monotonic()
    async with http.post(url, data=order["body"].encode(), headers=headers) as response:
        doc = await response.json(content_type=None)
    ack_ms = (time.monotonic() - started) * 1000
    acked = response.status == 200 and isinstance(doc, dict) and doc.get("code") == "200"
    return Sent(order["order_id"], started, ack_ms, acked)


async def settle_times(http: aiohttp.ClientSession, control: str, sent: list[Sent],
                       timeout_s: float, every_s: float) -> None:
    """Poll the sandbox until every sent order is granted and marked (or the deadline)."""
    deadline = time.monotonic() + timeout_s
    waiting = {s.order_id: s for s in sent}
    while waiting and time.monotonic() < deadline:
        async with http.post(f"{control}/times", json={"orders": list(waiting)}) as r:
            doc = await r.json()
        for order_id, t in doc.items():
            if t["arrived"] is not None and t["grant_last"] is not None:
                s = waiting.pop(order_id)
                s.granted_ms = (t["grant_last"] - s.sent_s) * 1000
                s.marked_ms = (t["arrived"] - s.sent_s) * 1000
        if waiting:
            await asyncio.sleep(every_s)


async def reads_now(http: aiohttp.ClientSession, control: str) -> dict[str, Any]:
    async with http.get(f"{control}/counts") as r:
        return dict(await r.json())


async def isolated(http: aiohttp.ClientSession, control: str, url: str, mode: str,
                   count: int, product: str, page_size: int) -> Phase:
    phase = Phase(mode, "isolated")
    started = time.monotonic()
    for _ in range(count):
        order = await new_order(http, control, product)
        phase.pages = -(-order["total"] // page_size)
        sent = await send(http, url, order)
        phase.sent.append(sent)
        await settle_times(http, control, [sent], 60, 0.005)
    phase.wall_s = time.monotonic() - started
    return phase


async def steady(http: aiohttp.ClientSession, control: str, url: str, mode: str, rate: float,
                 seconds: float, product: str, page_size: int) -> Phase:
    phase = Phase(mode, "steady")
    total = int(rate * seconds)
    tasks = []

    async def one() -> None:
        order = await new_order(http, control, product)
        phase.pages = max(phase.pages, -(-order["total"] // page_size))
        phase.sent.append(await send(http, url, order))

    started = time.monotonic()
    for i in range(total):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    await settle_times(http, control, phase.sent, 300, 0.1)
    phase.wall_s = time.monotonic() - started
    return phase


def ledger_done(db: Path, game_id: str, orders: list[str]) -> int:
    """Grant effects of these orders in state `done` in the daemon's ledger."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        done = 0
        for order_id in orders:
            done += conn.execute("SELECT count(*) FROM effects WHERE state = 'done' AND id = ?",
                                 [f"grant:{game_id}:{order_id}"]).fetchone()[0]
        return int(done)
    finally:
        conn.close()


async def measure(sandbox: SandboxProc, daemon: DaemonProc, mode: str,
                  args: argparse.Namespace) -> list[Phase]:
    url = daemon.url + "/jogos/notify"
    phases = []
    async with aiohttp.ClientSession() as http:
        for name in ("isolated", "steady"):
            before = await reads_now(http, sandbox.control)
            if name == "isolated":
                phase = await isolated(http, sandbox.control, url, mode, args.single,
                                       args.product, args.page_size)
            else:
                phase = await steady(http, sandbox.control, url, mode, args.rate,
                                     args.seconds, args.product, args.page_size)
            after = await reads_now(http, sandbox.control)
            phase.reads = after["get_orders_calls"] - before["get_orders_calls"]
            phases.append(phase)
    return phases


def floors_ms(mode: str, pages: int, product: str, latency_ms: float) -> tuple[float, float, int]:
    """(granted floor, marked floor, getOrders reads in the floor)."""
    reads = 2 + math.ceil(math.log2(max(pages, 1))) + 1 if mode == "store" else 0
    granted = (reads + GRANT_CALLS.get(product, 1)) * latency_ms
    return granted, granted + latency_ms, reads


def rows(phase: Phase, latency_ms: float, product: str, db: Path, game_id: str,
         isolated_reads: float) -> tuple[list[str], dict[str, Any]]:
    done = [s for s in phase.sent if s.granted_ms is not None and s.marked_ms is not None]
    n = len(phase.sent)
    granted_floor, marked_floor, floor_reads = floors_ms(phase.mode, phase.pages, product,
                                                         latency_ms)
    # The same floor with the reads one confirmation really needs (isolated phase).
    lower = (floor_reads - isolated_reads) * latency_ms if phase.mode == "store" else 0.0
    out = []
    for label, values, floor in (
            ("notify -> granted in PGOS", [s.granted_ms for s in done], granted_floor),
            ("notify -> marked (arrivedorder)", [s.marked_ms for s in done], marked_floor)):
        vals = [float(v) for v in values if v is not None]
        p50, p99, top = pct(vals, 0.5), pct(vals, 0.99), max(vals) if vals else float("nan")
        real = floor - lower
        out.append(
            f"| {phase.mode} | {phase.name} | {label} | {len(vals)}/{n} | {p50:,.0f} | "
            f"{p99:,.0f} | {top:,.0f} | {floor:,.0f} ({floor_reads} reads) | "
            f"{p50 / floor:.2f} | {p99 / floor:.2f} | {real:,.0f} | {p50 / real:.2f} | "
            f"{p99 / real:.2f} | {phase.reads / n if n else 0:.2f} |")
    acks = [s.ack_ms for s in phase.sent]
    extra = {"mode": phase.mode, "phase": phase.name, "sent": n,
             "acknowledged": sum(s.acked for s in phase.sent), "settled": len(done),
             "ledger_grants_done": ledger_done(db, game_id, [s.order_id for s in phase.sent]),
             "ack_p50_ms": round(statistics.median(acks), 1) if acks else None,
             "ack_p99_ms": round(pct(acks, 0.99), 1) if acks else None,
             "getOrders_reads": phase.reads, "pages": phase.pages,
             "wall_s": round(phase.wall_s, 1)}
    return out, extra


def main() -> int:
    parser = argparse.ArgumentParser(
        description="notification -> grant latency of the daemon, store vs signature trust",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000, help="orders in the store")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="added to every Jogos and PGOS request")
    parser.add_argument("--rate", type=float, default=50.0, help="new notified orders per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the steady phase")
    parser.add_argument("--single", type=int, default=5,
                        help="isolated notifications (one at a time) before the steady phase")
    parser.add_argument("--product", default="1001", choices=sorted(GRANT_CALLS),
                        help="product of the new orders (1003 needs 2 PGOS calls per grant)")
    parser.add_argument("--modes", default="store,signature",
                        help="comma-separated RECONCILER_NOTIFY_TRUST values, run in order")
    parser.add_argument("--first-pass-timeout-s", type=float, default=1800)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="reconciler-notify-latency-"))
    print(f"folder {folder}", flush=True)
    started = time.monotonic()
    sandbox = SandboxProc(folder, orders=args.orders, page_size=args.page_size,
                          latency_ms=args.latency_ms)
    print(f"sandbox up with {args.orders:,} orders in {time.monotonic() - started:.1f} s",
          flush=True)
    db = folder / "ledger.db"
    table: list[str] = []
    extras: list[dict[str, Any]] = []
    try:
        for mode in args.modes.split(","):
            daemon = DaemonProc(sandbox.env | {"RECONCILER_NOTIFY_TRUST": mode}, db,
                                folder / f"daemon-{mode}.log")
            try:
                t0 = time.monotonic()
                run = daemon.wait_first_pass(args.first_pass_timeout_s)
                figures = run["figures"]
                print(f"[{mode}] first pass finished after {time.monotonic() - t0:.1f} s "
                      f"(status {run['status']}, orders {figures.get('orders')}, "
                      f"requests {figures.get('requests')})", flush=True)
                phases = asyncio.run(measure(sandbox, daemon, mode, args))
            finally:
                code = daemon.stop()
            single = phases[0]
            isolated_reads = single.reads / len(single.sent) if single.sent else 0.0
            for phase in phases:
                lines, extra = rows(phase, args.latency_ms, args.product, db,
                                    sandbox.env["JOGOS_GAME_ID"], isolated_reads)
                table += lines
                extras.append(extra | {"daemon_exit": code})
                print(f"[{mode}] {extra}", flush=True)
    finally:
        sandbox.stop()
    print()
    print(f"orders {args.orders:,} (pages of {args.page_size}), latency {args.latency_ms:g} ms "
          f"per Jogos/PGOS request, product {args.product}, steady {args.rate:g}/s for "
          f"{args.seconds:g} s, isolated {args.single}")
    print()
    print("| trust | phase | latency | settled | p50 ms | p99 ms | max ms | floor ms (formula) | "
          "p50/floor | p99/floor | floor ms (isolated reads) | p50/it | p99/it | "
          "getOrders reads per notification |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for line in table:
        print(line)
    print()
    print("| trust | phase | sent | acknowledged | ack p50 ms | ack p99 ms | granted "
          "(ledger effects done) | getOrders reads | pages | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for e in extras:
        print(f"| {e['mode']} | {e['phase']} | {e['sent']} | {e['acknowledged']} | "
              f"{e['ack_p50_ms']} | {e['ack_p99_ms']} | {e['ledger_grants_done']} | "
              f"{e['getOrders_reads']} | {e['pages']} | {e['wall_s']} |")
    bad = [e for e in extras if e["settled"] != e["sent"] or e["acknowledged"] != e["sent"]]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
