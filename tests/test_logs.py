"""Logs an SRE can use: fields, tracebacks, journald priorities; a bar no log line overwrites."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pyte
import pytest

from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from tests.engine.conftest import catalog_path

__all__ = ["catalog_path"]

SCRIPT = """
import logging, sys
from reconciler.logs import setup_logging
setup_logging(sys.argv[1], "INFO")
log = logging.getLogger("reconciler.test")
log.info("pass settled: orders=3", extra={"orders": 3, "pending": {"failed": 0}})
logging.getLogger("apscheduler.scheduler").info("Added job")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("it broke")
log.warning("careful")
"""


def run(fmt: str, tmp_path: Path, journald: bool = False) -> list[str]:
    out = tmp_path / f"{fmt}.err"
    with out.open("wb") as stderr:
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        if journald:
            st = os.fstat(stderr.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        subprocess.run([sys.executable, "-c", SCRIPT, fmt], stderr=stderr, env=env, check=True)
    return out.read_text().splitlines()


def test_json_lines_carry_fields_and_tracebacks(tmp_path: Path) -> None:
    docs = [json.loads(line) for line in run("json", tmp_path)]
    assert [d["msg"] for d in docs] == ["pass settled: orders=3", "it broke", "careful"]
    assert docs[0]["orders"] == 3 and docs[0]["pending"] == {"failed": 0}
    assert docs[1]["exc_type"] == "ZeroDivisionError"
    assert "Traceback" in docs[1]["traceback"] and "line 9" in docs[1]["traceback"]
    assert all(not line.startswith("<") for line in run("text", tmp_path))


def test_journald_priorities(tmp_path: Path) -> None:
    lines = run("json", tmp_path, journald=True)
    assert [line[:3] for line in lines] == ["<6>", "<3>", "<4>"]
    text = run("text", tmp_path, journald=True)
    assert all(line.startswith(("<6>", "<3>", "<4>")) for line in text)
    assert any(line.startswith("<3>Traceback") for line in text)


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=600, seed=9), max_page_size=20)


async def test_a_terminal_shows_the_bar_and_the_log_apart(sandbox: Sandbox, catalog_path: Path,
                                                          tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RECONCILER_", "JOGOS_", "PGOS_", "JOURNAL_"))}
    env |= sandbox.env(catalog_path) | {"RECONCILER_DB": str(tmp_path / "l.db"),
                                        "RECONCILER_IDENTITY": "same", "TERM": "xterm",
                                        "COLUMNS": "100", "LINES": "40"}
    leader, follower = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reconciler", "catch-up", env=env, stdin=follower,
        stdout=follower, stderr=follower)
    os.close(follower)
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    while True:
        try:
            chunk = await loop.run_in_executor(None, os.read, leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    await proc.wait()
    os.close(leader)
    screen = pyte.Screen(100, 40)
    pyte.ByteStream(screen).feed(b"".join(chunks))
    lines = [line.rstrip() for line in screen.display if line.strip()]
    settled = [line for line in lines if "pass settled" in line]
    bars = [line for line in lines if line.lstrip().startswith(("pages", "effects"))]
    assert proc.returncode == 0, lines
    assert settled and bars, lines
    for line in settled:
        assert "━" not in line and "pages " not in line, line  # no bar drawn over the log
    assert any("600/600" in line or "30/30" in line for line in bars), bars
