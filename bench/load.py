"""Notification load during a pass, in three processes: the bench sandbox (bench/_sandbox_ctl.py:
Jogos and PGOS simulators, 20 ms per request, pages of 100), the daemon (`reconciler run`,
RECONCILER_NOTIFY_TRUST as its default: `store`) and this process, the load generator only.

The simulators serve the daemon's whole first pass (over a thousand requests a second of
Python work); run in the generator's event loop, that work would queue in front of its timers
and be measured as notification latency. Here it runs in its own process.

Steps: wait until the daemon's first pass is under way (getOrders read and grants reaching
PGOS, no finished row in `runs`); mint the N orders with their signed notification bodies in
one control call (before the clock starts); POST them to /jogos/notify `--concurrency` at a
time (one session, connector limit = concurrency, one worker per connection), each timed from
send to answer; check that the pass was still running at the end; then wait (bounded) until
every acknowledged notification is recorded in the ledger (`notifications`, read-only) and
granted in PGOS (sandbox /times).

Besides requests/s and latency percentiles it reports, for the load's window, each process's
CPU seconds and how long its event-loop thread was runnable but waiting for a core
(/proc schedstat), the CPU other processes of the machine took meanwhile, and the longest
stretches without any answer (a stall of the daemon or of this process).

    .venv/bin/python bench/load.py --orders 100000 --notifications 6000 --concurrency 50
    .venv/bin/python bench/load.py ... --when idle       # the same load after the first pass
    PY_SPY=/path/to/py-spy .venv/bin/python bench/load.py ... --py-spy out.txt
                                   # raw py-spy samples of the daemon for the load's window
    .venv/bin/python bench/load.py ... --probe  # the daemon's slow loop callbacks, GC pauses
Exit 1 when an acknowledged notification is not recorded or not granted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._procs import ROOT, DaemonProc, SandboxProc, finished_runs, http_json, wait_for

LATENCY_MS, PAGE = 20.0, 100
PY_SPY = os.environ.get("PY_SPY", "py-spy")  # its executable


@dataclass
class Load:
    """What the load did: one entry per notification, in completion order."""

    latencies_ms: list[float] = field(default_factory=list)
    answered_s: list[float] = field(default_factory=list)  # perf_counter at each answer
    later_ms: list[float] = field(default_factory=list)  # all but each worker's first request
    acked: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  # "status/code" -> count
    wall_s: float = 0.0
    window_s: tuple[float, float] = (0.0, 0.0)  # CLOCK_MONOTONIC, shared by all processes


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def gaps_ms(answered_s: list[float], top: int = 5) -> list[list[float]]:
    """The longest stretches without any answer: [gap ms, its start ms after the load's]
    (with `concurrency` requests in flight, a gap is the daemon or the generator stalled)."""
    times = sorted(answered_s)
    found = sorted(((b - a, a - times[0]) for a, b in itertools.pairwise(times)),
                   reverse=True)[:top]
    return [[round(g * 1000, 1), round(at * 1000)] for g, at in found]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sched_s(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of a process's main thread,
    the one running its event loop (/proc schedstat, nanoseconds)."""
    on_cpu, waiting, _ = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (all cores, every process: /proc/stat)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def usage(pids: dict[str, int]) -> dict[str, tuple[float, float, float]]:
    """Per named process: (CPU seconds, main thread on CPU, main thread waiting for a CPU)."""
    return {name: (cpu_s(pid), *sched_s(pid)) for name, pid in pids.items()}


async def send_all(url: str, minted: list[dict[str, Any]], concurrency: int) -> Load:
    """POST every minted notification, `concurrency` at a time; each timed send -> answer.

    Raises aiohttp.ClientError when the daemon cannot be reached.
    """
    load = Load()
    queue = iter(minted)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            first = True  # its connection is opened by this request
            for order in queue:  # shared iterator: each order is taken once
                headers = {"Content-Type": "application/json",
                           "Authorization": order["authorization"]}
                data = order["body"].encode()
                started = time.perf_counter()
                async with http.post(url, data=data, headers=headers) as response:
                    raw = await response.read()
                answered = time.perf_counter()
                load.answered_s.append(answered)
                load.latencies_ms.append((answered - started) * 1000)
                if not first:
                    load.later_ms.append((answered - started) * 1000)
                first = False
                try:
                    code = json.loads(raw).get("code")
                except (ValueError, AttributeError):
                    code = None
                if response.status == 200 and code == "200":
                    load.acked.append(order["order_id"])
                else:
                    key = f"{response.status}/{code}"
                    load.refused[key] = load.refused.get(key, 0) + 1

        started = time.perf_counter()
        load.answered_s.append(started)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        load.wall_s = time.perf_counter() - started
        load.window_s = (time.monotonic() - load.wall_s, time.monotonic())
    return load


def recorded(db: Path, game_id: int, orders: list[str]) -> set[str]:
    """Those of `orders` with a row in the ledger's notifications (read-only)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return {r[0] for r in conn.execute(
            "SELECT DISTINCT order_id FROM notifications WHERE game_id = ? "
            "AND order_id IN (SELECT value FROM json_each(?))", [game_id, json.dumps(orders)])}
    finally:
        conn.close()


def granted(control: str, orders: list[str]) -> set[str]:
    """Those of `orders` whose grant token reached PGOS (sandbox /times)."""
    found: set[str] = set()
    for i in range(0, len(orders), 2000):
        times = http_json(control + "/times", {"orders": orders[i:i + 2000]}, timeout_s=60)
        found.update(o for o, t in times.items() if t["grant_first"] is not None)
    return found


def settle(control: str, db: Path, game_id: int, acked: list[str],
           timeout_s: float) -> tuple[list[str], list[str], float]:
    """Poll until every acknowledged order is recorded and granted, or the deadline; returns
    (not recorded, not granted, seconds waited)."""
    started = time.monotonic()
    missing_rec, missing_grant = list(acked), list(acked)

    def done() -> bool:
        nonlocal missing_rec, missing_grant
        if missing_rec:
            have = recorded(db, game_id, missing_rec)
            missing_rec = [o for o in missing_rec if o not in have]
        if missing_grant:
            have = granted(control, missing_grant)
            missing_grant = [o for o in missing_grant if o not in have]
        return not missing_rec and not missing_grant

    with contextlib.suppress(TimeoutError):  # what is left is reported as counts
        wait_for(done, timeout_s, "acknowledged notifications to be recorded and granted",
                 every_s=1.0)
    return missing_rec, missing_grant, time.monotonic() - started


class PySpy:
    """py-spy recording the daemon (raw folded stacks), from start() to stop()."""

    def __init__(self, pid: int, out: Path, rate: int, log: Path) -> None:
        self.log = log
        kind = "speedscope" if out.suffix == ".json" else "raw"  # speedscope keeps the order
        self.proc = subprocess.Popen(
            [PY_SPY, "record", "--idle", "-r", str(rate), "-f", kind, "-o", str(out),
             "--pid", str(pid)],
            stdout=log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def sampling() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"py-spy exited; see {log}")
            return "Sampling process" in log.read_text(errors="replace")

        wait_for(sampling, 30, "py-spy to attach", every_s=0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
            self.proc.wait(timeout=60)


def pass_under_way(control: str, daemon: DaemonProc) -> bool:
    """The first pass has read the store and its grants reach PGOS, and it has not finished."""
    if daemon.proc.poll() is not None:
        raise RuntimeError("the daemon exited")
    counts = http_json(control + "/counts")
    if finished_runs(daemon.db) > daemon.finished_before:
        raise RuntimeError("the first pass finished before the load could start: "
                           "use more --orders")
    return bool(counts["get_orders_calls"] > 0 and counts["grant_tokens"] > 0)


def run(orders: int, count: int, concurrency: int, *, when: str = "pass",
        settle_timeout_s: float = 600, py_spy: Path | None = None,
        py_spy_rate: int = 200, checkout: Path = ROOT,
        daemon_env: dict[str, str] | None = None, probe: bool = False) -> dict[str, Any]:
    """The whole measurement (see the module's docstring); its figures. `checkout`: the
    source tree the daemon runs from (another one to compare two versions); `daemon_env`:
    added to the daemon's environment; `probe`: the daemon runs with bench/_probe (its slow
    event-loop callbacks and GC pauses, summarized)."""
    folder = Path(tempfile.mkdtemp(prefix="reconciler-load-"))
    print(f"folder {folder}", file=sys.stderr, flush=True)
    sandbox = SandboxProc(folder, orders=orders, page_size=PAGE, latency_ms=LATENCY_MS)
    try:
        extra = dict(daemon_env or {})
        if probe:
            extra |= {"PYTHONPATH": str(ROOT / "bench" / "_probe"),
                      "PROBE_OUT": str(folder / "probe.jsonl")}
        daemon = DaemonProc(sandbox.env | extra, folder / "ledger.db", folder / "daemon.log",
                            cwd=checkout)
        try:
            result = measure(sandbox, daemon, count, concurrency, when=when,
                             settle_timeout_s=settle_timeout_s, py_spy=py_spy,
                             py_spy_rate=py_spy_rate, folder=folder)
        finally:
            daemon.stop()  # the probe writes its file as the daemon exits
    finally:
        sandbox.stop()
    if probe:
        result["probe"] = probe_summary(folder / "probe.jsonl",
                                        result["load_window_monotonic_s"])
    return result | {"orders_in_pass": orders, "daemon_checkout": str(checkout)}


def probe_summary(path: Path, window: list[float]) -> dict[str, Any]:
    """The daemon's full GC pauses and slowest loop callbacks, in the load's window and after
    it (ms; `at_ms` from the load's start)."""
    if not path.exists():
        return {"error": f"no {path} (did the daemon exit cleanly?)"}
    records = [json.loads(line) for line in path.read_text().splitlines() if line]
    start, end = window

    def brief(r: dict[str, Any]) -> dict[str, Any]:
        return {k: r[k] for k in ("what", "ms", "gc_ms") if k in r} | {
            "at_ms": round((r["t"] - start) * 1000)}

    inside = [r for r in records if start <= r["t"] <= end + 0.05]
    after = [r for r in records if r["t"] > end + 0.05]
    full = [r for r in records if r["kind"] == "gc" and r["gen"] == 2]
    return {
        "full_gc_ms_in_load": [r["ms"] for r in full if start <= r["t"] <= end + 0.05],
        "full_gc_ms_whole_run": [r["ms"] for r in full],
        "slowest_callbacks_in_load": [brief(r) for r in sorted(
            (r for r in inside if r["kind"] == "slow"), key=lambda r: -r["ms"])[:6]],
        "slowest_callbacks_after_load": [brief(r) for r in sorted(
            (r for r in after if r["kind"] == "slow"), key=lambda r: -r["ms"])[:6]],
    }


def measure(sandbox: SandboxProc, daemon: DaemonProc, count: int, concurrency: int, *,
            when: str, settle_timeout_s: float, py_spy: Path | None, py_spy_rate: int,
            folder: Path) -> dict[str, Any]:
    """Wait for the moment (`pass`: first pass under way; `idle`: first pass finished), mint,
    load, check."""
    control, game_id = sandbox.control, int(sandbox.env["JOGOS_GAME_ID"])
    if when == "pass":
        wait_for(lambda: pass_under_way(control, daemon), 600, "the first pass's effects",
                 every_s=0.5)
    else:
        daemon.wait_first_pass(1800)
    minted = http_json(control + "/orders", {"count": count}, timeout_s=300)["orders"]
    spy = PySpy(daemon.proc.pid, py_spy, py_spy_rate, folder / "py-spy.log") if py_spy else None
    before = http_json(control + "/counts")
    pids = {"daemon": daemon.proc.pid, "sandbox": sandbox.proc.pid, "load": os.getpid()}
    used0, busy0 = usage(pids), machine_busy_s()
    load_avg = os.getloadavg()
    try:
        load = asyncio.run(send_all(daemon.url + "/jogos/notify", minted, concurrency))
    finally:
        if spy is not None:
            spy.stop()
    used1, busy = usage(pids), machine_busy_s() - busy0
    cpu = {n: {"cpu_s": round(used1[n][0] - used0[n][0], 2),
               "loop_thread_on_cpu_s": round(used1[n][1] - used0[n][1], 2),
               "loop_thread_waiting_for_cpu_s": round(used1[n][2] - used0[n][2], 2)}
           for n in pids}
    after = http_json(control + "/counts")
    running = finished_runs(daemon.db) == daemon.finished_before
    print(f"load done in {load.wall_s:.1f} s; settling {len(load.acked)} acknowledged",
          file=sys.stderr, flush=True)
    not_rec, not_granted, settle_s = settle(control, daemon.db, game_id, load.acked,
                                            settle_timeout_s)
    lat = load.latencies_ms
    sent = len(lat)
    result: dict[str, Any] = {
        "when": when, "concurrency": concurrency, "sent": sent,
        "acknowledged": len(load.acked), "refused": sum(load.refused.values()),
        "refused_by_answer": load.refused, "wall_s": round(load.wall_s, 2),
        "requests_per_s": round(sent / load.wall_s, 1) if load.wall_s else 0.0,
        "p50_ms": round(pct(lat, 0.50), 1), "p90_ms": round(pct(lat, 0.90), 1),
        "p99_ms": round(pct(lat, 0.99), 1), "max_ms": round(max(lat, default=0.0), 1),
        "p99_ms_without_first_per_connection": round(pct(load.later_ms, 0.99), 1),
        "longest_answer_gaps_ms_at_ms": gaps_ms(load.answered_s),
        "pass_running_at_end": running if when == "pass" else None,
        "during_load": {
            "processes": cpu, "wall_s": round(load.wall_s, 2),
            "machine_busy_cpu_s": round(busy, 2), "cores": os.cpu_count(),
            "other_processes_cpu_s": round(busy - sum(c["cpu_s"] for c in cpu.values()), 2),
            "get_orders_calls": after["get_orders_calls"] - before["get_orders_calls"],
            "grant_tokens": after["grant_tokens"] - before["grant_tokens"],
            "arrived_calls": after["arrived_calls"] - before["arrived_calls"]},
        "loadavg_at_start": [round(x, 2) for x in load_avg],
        "not_recorded": len(not_rec), "not_granted": len(not_granted),
        "acknowledged_not_settled": len(set(not_rec) | set(not_granted)),
        "settle_wait_s": round(settle_s, 1), "folder": str(folder),
        "load_window_monotonic_s": [round(t, 3) for t in load.window_s],
    }
    if when == "pass" and not running:
        result["note"] = ("the first pass FINISHED before the load ended: this is not a "
                          "measurement during a pass")
    if py_spy is not None:
        result["py_spy"] = str(py_spy)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description="notification load against the daemon during its first pass",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000, help="orders in the store")
    parser.add_argument("--notifications", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--when", choices=("pass", "idle"), default="pass",
                        help="load during the first pass, or after it (comparison)")
    parser.add_argument("--settle-timeout-s", type=float, default=600)
    parser.add_argument("--py-spy", type=Path, help="record the daemon with py-spy for the "
                        "load's window into this file (raw folded stacks; speedscope, which "
                        "keeps the samples' order, for a .json name; idle stacks included)")
    parser.add_argument("--py-spy-rate", type=int, default=200)
    parser.add_argument("--daemon-checkout", type=Path, default=ROOT,
                        help="source tree the daemon runs from (`python -m reconciler` there)")
    parser.add_argument("--probe", action="store_true", help="run the daemon with "
                        "bench/_probe: its slow loop callbacks and GC pauses, summarized")
    parser.add_argument("--daemon-env", action="append", default=[], metavar="KEY=VALUE",
                        help="add to the daemon's environment (repeatable)")
    args = parser.parse_args()
    result = run(args.orders, args.notifications, args.concurrency, when=args.when,
                 settle_timeout_s=args.settle_timeout_s, py_spy=args.py_spy,
                 py_spy_rate=args.py_spy_rate, checkout=args.daemon_checkout,
                 daemon_env=dict(e.split("=", 1) for e in args.daemon_env), probe=args.probe)
    print(json.dumps(result, indent=2))
    return 1 if result["acknowledged_not_settled"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
