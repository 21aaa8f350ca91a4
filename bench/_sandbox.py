"""Start `reconciler sandbox` in its own process (its own core) for a benchmark."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from _procs import latency_covers_work


@contextlib.contextmanager
def sandbox_process(orders: int, page_size: int, seed: int = 1) -> Iterator[dict[str, str]]:
    """Run the sandbox with `orders` orders; yields the environment that points at it."""
    folder = Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
    env_file = folder / "sandbox.env"
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "sandbox", "--orders", str(orders),
         "--seed", str(seed), "--max-page-size", str(page_size),
         "--catalog", str(folder / "catalog.toml"), "--env-file", str(env_file)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        # Wait for the whole file (its last line names the catalog), not for a time.
        while not env_file.exists() or "RECONCILER_CATALOG=" not in env_file.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("sandbox did not start")
            time.sleep(0.2)
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if line)
        env["RECONCILER_DB"] = str(folder / "ledger.db")
        env["RECONCILER_IDENTITY"] = "same"
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def set_latency(env: dict[str, str], latency_s: float) -> None:
    """Give every Jogos and PGOS request `latency_s` of latency."""
    faults = {"latency_s": latency_s, "latency_covers_work": latency_covers_work()}
    for service, url in (("jogos", env["JOGOS_BASE_URL"]), ("pgos", env["PGOS_CLI_URL"])):
        request = urllib.request.Request(
            f"{url}/_sandbox/{service}/faults", data=json.dumps(faults).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def sandbox_stats(url: str, service: str) -> dict[str, object]:
    """The sandbox's inspection figures."""
    with urllib.request.urlopen(f"{url}/_sandbox/{service}", timeout=30) as response:
        return dict(json.loads(response.read()))


def peak_rss_mib() -> float:
    """Peak resident set size of this process, MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


os.environ.setdefault("PYTHONUNBUFFERED", "1")
