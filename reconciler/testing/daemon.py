"""The daemon harness: `reconciler run` as a subprocess against the sandbox, with a real
NOTIFY_SOCKET, and what tests and benchmarks need around it.

Rules: the daemon runs in its own process with the environment of the sandbox (anything the
caller's environment sets for the reconciler is dropped); every wait is a bounded poll for a
state (a message, a figure, a row), never a sleep that bets on time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from reconciler.auth import s2s
from reconciler.ledger import Ledger
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox

OPS_ID, OPS_SECRET = "studio-ops", "T3BzSG1hY0tleVZhbHVlMTIzNDU2"
DROPPED_ENV = ("RECONCILER_", "JOGOS_", "PGOS_", "OPS_", "NOTIFY_")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Daemon:
    """A `reconciler run` subprocess with a real NOTIFY_SOCKET; `extra` overrides its
    environment. Use as `async with Daemon(...) as running:` or start()/stop()/close()."""

    preexec: Callable[[], None] | None = None  # run in the child before exec (limits)

    def __init__(self, sandbox: Sandbox, folder: Path, **extra: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.notify_path = str(folder / "notify.sock")
        catalog = folder / "catalog.toml"
        catalog.write_text(SANDBOX_CATALOG)
        env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV)}
        env |= sandbox.env(catalog) | {
            "RECONCILER_DB": str(folder / "ledger.db"), "RECONCILER_IDENTITY": "same",
            "RECONCILER_LISTEN": f"127.0.0.1:{self.port}", "NOTIFY_SOCKET": self.notify_path,
            "RECONCILER_BACKOFF_S": "0.01", "RECONCILER_BACKOFF_MAX_S": "0.05",
            "OPS_CLIENT_ID": OPS_ID, "OPS_HMAC_SECRET": OPS_SECRET,
            "RECONCILER_PASS_INTERVAL_S": "3600", "RECONCILER_DRAIN_INTERVAL_S": "3600",
        }
        env |= extra
        self.env = env
        self.messages: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self.sock: socket.socket | None = None
        self.log = (folder / "daemon.log").open("ab")

    async def start(self) -> None:
        """Start the process and wait for READY=1 (60 s: a loaded CI machine is slow, a
        healthy start is not). Raises AssertionError without it."""
        if self.sock is None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(self.notify_path)
            self.sock.setblocking(False)
        self.messages.clear()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "reconciler", "--log-format", "json", "run", env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=self.log,
            stdin=asyncio.subprocess.DEVNULL, preexec_fn=self.preexec)
        await self.wait_for_message("READY=1", 60)

    async def wait_for_message(self, text: str, timeout_s: float) -> None:
        """Wait until the daemon sent a notify message containing `text`.

        Raises AssertionError when none came within `timeout_s`.
        """
        assert self.sock is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not any(text in m for m in self.messages):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {text} from the daemon; got {self.messages}")
            try:
                data = await asyncio.wait_for(loop.sock_recv(self.sock, 4096), remaining)
            except TimeoutError:
                continue
            self.messages.append(data.decode())

    async def stop(self) -> int:
        """SIGTERM and wait (60 s); returns the exit status."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), 60)
        return self.proc.returncode or 0

    def close(self) -> None:
        """Close the notify socket and the log (after stop())."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.log.close()

    async def __aenter__(self) -> Daemon:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            await self.stop()
        finally:
            self.close()

    def ledger(self) -> Ledger:
        """The daemon's ledger (its file, or the PostgreSQL database it shares), opened beside
        it (close it after use)."""
        return Ledger.open(self.env["RECONCILER_DB"])


async def until(check: Callable[[], bool], timeout_s: float = 60) -> None:
    """Poll `check` until it holds (a bound for a wedged test, not a timing assertion: a
    passing test returns as soon as the state holds). Raises AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def finished_runs(daemon: Daemon) -> int:
    """Runs the daemon's ledger records as finished (a state to wait for, not a time)."""
    ledger = daemon.ledger()
    try:
        return int(ledger.db.execute(
            "SELECT count(*) FROM runs WHERE status != 'running'").fetchone()[0])
    finally:
        ledger.close()


def ops_headers(path: str, nonce: str) -> dict[str, str]:
    """Service-to-service headers of the harness's ops client for `path`, signed now."""
    return s2s.request_headers(s2s.Scheme.HMAC, client_id=OPS_ID, timestamp_s=int(time.time()),
                               nonce=nonce, pathname=path, secret=OPS_SECRET)


def table_dump(ledger: Ledger) -> dict[str, list[Any]]:
    """The rows of the tables a request may change, for before/after comparisons."""
    return {name: ledger.db.execute(f"SELECT * FROM {name} ORDER BY 1").fetchall()
            for name in ("orders", "effects", "notifications", "links", "quarantine")}
