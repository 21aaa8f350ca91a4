"""Processes for benchmarks: the bench sandbox (bench/_sandbox_ctl.py) and `reconciler run`.

Rules: every wait polls an event (a file, an HTTP answer, a ledger row) with a deadline; no
blind sleeps. Each helper stops only the process it started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BEFORE_WORK = "BENCH_LATENCY_BEFORE_WORK"  # set: the simulator's work after its latency, as
# before 8d14808 (bench/all.py --latency-before-work); sandbox processes inherit it


def latency_covers_work() -> bool:
    """The bench sandboxes' latency setting (Faults.latency_covers_work) for this run."""
    return not os.environ.get(BEFORE_WORK)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Any, timeout_s: float, what: str, every_s: float = 0.2) -> Any:
    """Poll `check()` until it returns something truthy. Raises TimeoutError."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(every_s)


def http_json(url: str, doc: Any | None = None, timeout_s: float = 30) -> Any:
    data = None if doc is None else json.dumps(doc).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"},
                                     method="GET" if data is None else "POST")
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read())


class SandboxProc:
    """bench/_sandbox_ctl.py in its own process; `env` points the reconciler at it."""

    def __init__(self, folder: Path, *, orders: int, page_size: int, latency_ms: float,
                 python: str = sys.executable) -> None:
        self.folder = folder
        self.proc = subprocess.Popen(
            [python, str(ROOT / "bench" / "_sandbox_ctl.py"), "--folder", str(folder),
             "--orders", str(orders), "--page-size", str(page_size),
             "--latency-ms", str(latency_ms)],
            stdout=subprocess.DEVNULL, stderr=(folder / "sandbox.log").open("ab"))
        env_file = folder / "sandbox.env"

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox exited; see {folder / 'sandbox.log'}")
            return env_file.exists()

        wait_for(ready, 900, "the sandbox")
        self.env = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                        if line)
        self.control = self.env.pop("BENCH_CONTROL_URL")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if a large store takes more than 30 s to let go."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


class DaemonProc:
    """`python -m reconciler run` as a subprocess (cwd selects which checkout runs)."""

    def __init__(self, env: dict[str, str], db: Path, log: Path, *, cwd: Path = ROOT,
                 python: str = sys.executable) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = db
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("RECONCILER_", "JOGOS_", "PGOS_", "OPS_", "NOTIFY_"))}
        base.pop("PYTHONPATH", None)
        self.env = base | {
            "RECONCILER_DB": str(db), "RECONCILER_IDENTITY": "same",
            "RECONCILER_LISTEN": f"127.0.0.1:{self.port}",
            "RECONCILER_PASS_INTERVAL_S": "86400", "RECONCILER_DRAIN_INTERVAL_S": "86400",
        } | env
        self.finished_before = finished_runs(db)
        self.proc = subprocess.Popen([python, "-m", "reconciler", "run"], env=self.env,
                                     cwd=cwd, stdout=subprocess.DEVNULL,
                                     stderr=log.open("ab"), stdin=subprocess.DEVNULL)
        wait_for(self._healthy, 60, "the daemon's /healthz")

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError("the daemon exited at start")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_first_pass(self, timeout_s: float) -> dict[str, Any]:
        """Wait until this daemon's first pass has a finished row in `runs`; returns it."""
        def finished() -> dict[str, Any] | None:
            if self.proc.poll() is not None:
                raise RuntimeError("the daemon exited during its first pass")
            if finished_runs(self.db) > self.finished_before:
                return last_run(self.db)
            return None

        return dict(wait_for(finished, timeout_s, "the first pass", every_s=0.5))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=90)
        return self.proc.returncode or 0


def _ro(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)


def finished_runs(db: Path) -> int:
    if not db.exists():
        return 0
    conn = _ro(db)
    try:
        return int(conn.execute(
            "SELECT count(*) FROM runs WHERE finished_s IS NOT NULL").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return 0
    finally:
        conn.close()


def last_run(db: Path) -> dict[str, Any]:
    conn = _ro(db)
    try:
        row = conn.execute("SELECT id, kind, started_s, finished_s, status, figures FROM runs "
                           "WHERE finished_s IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    return {"id": row[0], "kind": row[1], "started_s": row[2], "finished_s": row[3],
            "status": row[4], "figures": json.loads(row[5] or "{}")}
