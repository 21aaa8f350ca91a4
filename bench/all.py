"""The whole performance table of issue 14 in one run: reads, effects, RSS, head scan,
requests per day and notifications, each with its floor (or goal) and ratio.

    .venv/bin/python bench/all.py                       # 100k and 1M orders (about 10 min)
    .venv/bin/python bench/all.py --small               # 20k and 100k (about 3 min)
    .venv/bin/python bench/all.py --large-real          # also a real first pass at 1M
                                                        # (its RSS and ratio; +20-25 min)

Every pass runs in a process of its own (peak RSS is per process), against the bench sandbox
in yet another (bench/_sandbox_ctl.py: 20 ms per request, pages of 100); the sandbox's CPU is
read from /proc and shown apart. Floors are the network alone: reads pages x latency /
concurrency, effects requests x latency / effect concurrency. Notifications: bench/load.py's
measure (a daemon subprocess, its first pass over the orders running, signed notifications at
50 at once), every acknowledged one checked in the ledger.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _procs import BEFORE_WORK, ROOT, SandboxProc, http_json, latency_covers_work

LATENCY_MS, PAGE, READ_C, EFFECT_C = 20.0, 100, 16, 32
HEAD_NEW = 100
PASS_INTERVAL_S, SWEEP_INTERVAL_S = 300, 86400


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def child_pass(env: dict[str, str], mode: str) -> dict[str, Any]:
    """One pass in this process: `dry`, `real` (full) or `head`."""
    from reconciler.concurrency import freeze_startup_objects
    from reconciler.config import build_config
    from reconciler.engine.passes import open_engine, run_pass
    from reconciler.engine.scan import Scope

    config = build_config({}, env | {
        "RECONCILER_PAGE_SIZE": str(PAGE), "RECONCILER_CONCURRENCY": str(READ_C),
        "RECONCILER_EFFECT_CONCURRENCY": str(EFFECT_C)})
    dry = mode == "dry"
    started, cpu0 = time.perf_counter(), time.process_time()
    async with open_engine(config, dry_run=dry) as engine:
        freeze_startup_objects()  # as `reconciler catch-up` does once wired
        report = await run_pass(engine, dry_run=dry,
                                scope=Scope.head() if mode == "head" else None)
        requests = engine.stats.total()
    return {"wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu0,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "requests": requests, "figures": report.figures, "settled": report.settled}


async def bare_reads(env: dict[str, str], pages: int) -> dict[str, Any]:
    """`pages` getOrders through a bare aiohttp client (no parsing, no ledger), READ_C at once:
    what the simulator and loopback alone allow, the reconciler's best case."""
    import aiohttp

    from reconciler.auth import jogos as jogos_auth
    from reconciler.clients.jogos import GET_ORDERS

    url = env["JOGOS_BASE_URL"].rstrip("/") + GET_ORDERS
    todo = list(range(pages, 0, -1))
    async with aiohttp.ClientSession() as session:
        async def worker() -> None:
            while todo:
                body = jogos_auth.encode_body({"gameId": int(env["JOGOS_GAME_ID"]),
                                               "pageNo": todo.pop(), "pageSize": PAGE})
                async with session.post(url, data=body, headers=jogos_auth.signed_headers(
                        body, env["JOGOS_SHARED_KEY"])) as response:
                    await response.read()
                    response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(READ_C)))
    return {"wall_s": time.perf_counter() - started}


def calibrate(env: dict[str, str], pages: int) -> list[dict[str, Any]]:
    """The bare client's reads with the simulator's latency covering its work (the setting of
    every other row) and, for comparison, with its work after the latency (earlier runs)."""
    floor = pages * LATENCY_MS / 1000 / READ_C
    rows = []
    for covers, how in ((True, "work inside the 20 ms"), (False, "work after the 20 ms")):
        http_json(env["JOGOS_BASE_URL"] + "/_sandbox/jogos/faults",
                  {"latency_s": LATENCY_MS / 1000, "latency_covers_work": covers})
        wall = asyncio.run(bare_reads(env, pages))["wall_s"]
        rows.append(row(f"  simulator alone: {pages:,} getOrders, bare client ({how})", wall,
                        "s", floor, "reference", "no parsing, no ledger: the best case"))
    http_json(env["JOGOS_BASE_URL"] + "/_sandbox/jogos/faults",
              {"latency_s": LATENCY_MS / 1000, "latency_covers_work": latency_covers_work()})
    return rows


def run_child(env: dict[str, str], mode: str, sandbox_pid: int) -> dict[str, Any]:
    """A pass in a fresh process; its figures, wall time as the parent saw it (process start
    to exit: the process total) and the sandbox's CPU meanwhile."""
    before, started = cpu_s(sandbox_pid), time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", mode],
                         input=json.dumps(env), capture_output=True, text=True, check=True,
                         cwd=ROOT)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    result["sandbox_cpu_s"] = cpu_s(sandbox_pid) - before
    return result


def store(orders: int, folder: Path) -> tuple[SandboxProc, dict[str, str]]:
    """A bench sandbox with `orders` orders and the environment aimed at it."""
    proc = SandboxProc(folder, orders=orders, page_size=PAGE, latency_ms=LATENCY_MS)
    env = dict(proc.env) | {"RECONCILER_DB": str(folder / "ledger.db"),
                            "RECONCILER_IDENTITY": "same", "PATH": os.environ["PATH"]}
    return proc, env


def row(what: str, value: float, unit: str, floor: float | None, goal: str,
        note: str = "") -> dict[str, Any]:
    """One line of the table (also printed to stderr at once: a later failure loses nothing)."""
    ratio = value / floor if floor else None
    print(f"{what}: {value:,.1f} {unit} (floor {floor}); {goal}; {note}", file=sys.stderr,
          flush=True)
    return {"what": what, "value": f"{value:,.1f} {unit}".strip(),
            "floor": "" if floor is None else f"{floor:,.1f} {unit}".strip(),
            "ratio": "" if ratio is None else f"{ratio:.2f}x", "goal": goal, "note": note}


def measure(small: int, large: int, notifications: int,
            large_real: bool = False) -> list[dict[str, Any]]:
    """Run everything; the table's rows."""
    rows: list[dict[str, Any]] = []
    latency_s = LATENCY_MS / 1000
    # -- the smaller store: dry run (RSS reference), first real pass (effects), head scan ----
    folder = Path(tempfile.mkdtemp(prefix="bench-all-"))
    proc, env = store(small, folder)
    try:
        dry_small = run_child(env, "dry", proc.proc.pid)
        real = run_child(env, "real", proc.proc.pid)
        fig = real["figures"]
        effect_floor = real["requests"] * latency_s / EFFECT_C
        rows.append(row(f"{small:,}-order first pass ({fig.get('planned', 0):,} actions, "
                        f"{real['requests']:,} requests)", real["process_s"], "s", effect_floor,
                        "<= 1.25x", f"reconciler CPU {real['cpu_s']:.1f} s, sandbox CPU "
                        f"{real['sandbox_cpu_s']:.1f} s; settled: {real['settled']}"))
        rows.append(row(f"  its peak RSS (real pass, {small:,})", real["rss_mib"], "MiB", None,
                        "<= 200 MiB"))
        http_json(proc.control + "/orders", {"count": HEAD_NEW})
        head = run_child(env, "head", proc.proc.pid)
        head_requests = head["figures"]["pages"]
        rows.append(row(f"head scan after {HEAD_NEW} new orders ({small:,}-order store)",
                        head_requests, "getOrders", None, "a handful",
                        f"new={head['figures'].get('new')}; {head['requests']} requests with "
                        f"the new orders' grants and marks; stops after 2 quiet pages"))
    finally:
        proc.stop()
    # -- the larger store: the dry run at the floor, flat RSS --------------------------------
    folder = Path(tempfile.mkdtemp(prefix="bench-all-"))
    proc, env = store(large, folder)
    try:
        dry = run_child(env, "dry", proc.proc.pid)
        reference = calibrate(env, dry["figures"]["pages"] // 5)
        big = run_child(env, "real", proc.proc.pid) if large_real else None
    finally:
        proc.stop()
    if big is not None:
        fig = big["figures"]
        rows.append(row(f"{large:,}-order first pass ({fig.get('planned', 0):,} actions, "
                        f"{big['requests']:,} requests)", big["process_s"], "s",
                        big["requests"] * latency_s / EFFECT_C, "<= 1.25x",
                        f"reconciler CPU {big['cpu_s']:.1f} s, sandbox CPU "
                        f"{big['sandbox_cpu_s']:.1f} s; settled: {big['settled']}"))
        rows.append(row(f"  its peak RSS (real pass, {large:,})", big["rss_mib"], "MiB", None,
                        "<= 200 MiB", f"{small:,}: {real['rss_mib']:.0f} MiB, ratio "
                        f"{big['rss_mib'] / real['rss_mib']:.2f} (goal <= 1.2)"))
    pages = dry["figures"]["pages"]
    read_floor = pages * latency_s / READ_C
    rows.insert(0, row(f"{large:,}-order dry run, process total", dry["process_s"], "s",
                       read_floor, "<= 1.25x",
                       f"pass {dry['wall_s']:.1f} s; reconciler CPU {dry['cpu_s']:.1f} s; "
                       f"sandbox CPU {dry['sandbox_cpu_s']:.1f} s"))
    rows.insert(1, row(f"  its peak RSS ({large:,})", dry["rss_mib"], "MiB", None,
                       "<= 200 MiB", f"{small:,}: {dry_small['rss_mib']:.0f} MiB, "
                       f"ratio {dry['rss_mib'] / dry_small['rss_mib']:.2f} (goal <= 1.2)"))
    rows[2:2] = reference
    per_day_head = 86400 // PASS_INTERVAL_S * head_requests + pages * (86400 // SWEEP_INTERVAL_S)
    per_day_full = 86400 // PASS_INTERVAL_S * pages
    rows.append(row(f"getOrders requests a day, {large:,} orders (head every 5 min + daily "
                    "sweep)", per_day_head, "", per_day_full, "far below",
                    f"full passes every 5 min: {per_day_full:,}"))
    # -- notifications during a pass -----------------------------------------------------------
    from load import run as load_run

    load = load_run(small, notifications, 50)
    rows.append(row(f"notifications during a {small:,}-order pass", load["requests_per_s"],
                    "req/s", None, ">= 2,000 req/s",
                    f"p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms (goal < 50 ms); "
                    f"{load['acknowledged']} acknowledged, "
                    f"{load['acknowledged_not_settled']} not settled"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--small", action="store_true", help="20k and 100k orders")
    parser.add_argument("--notifications", type=int, default=6000)
    parser.add_argument("--large-real", action="store_true",
                        help="also a real first pass over the larger store")
    parser.add_argument("--latency-before-work", action="store_true",
                        help="the simulator's work after its 20 ms (the setting of runs before "
                             "8d14808), for comparison")
    args = parser.parse_args()
    if args.latency_before_work:
        os.environ[BEFORE_WORK] = "1"  # the sandbox processes inherit it
    if args.child:
        env = json.loads(sys.stdin.read())
        print(json.dumps(asyncio.run(child_pass(env, args.child)), default=str))
        return 0
    small, large = (20_000, 100_000) if args.small else (100_000, 1_000_000)
    rows = measure(small, large, args.notifications, args.large_real)
    width = max(len(r["what"]) for r in rows)
    print(f"{'what':<{width}}  {'measured':>16}  {'floor':>12}  {'ratio':>6}  goal / notes")
    for r in rows:
        print(f"{r['what']:<{width}}  {r['value']:>16}  {r['floor']:>12}  {r['ratio']:>6}  "
              f"{r['goal']}{'; ' + r['note'] if r['note'] else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
