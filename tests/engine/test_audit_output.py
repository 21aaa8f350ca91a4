"""`reconciler audit --output`: the report file is 0600, a looser one is tightened (warned)."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest

from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=40, seed=5))


async def audit(sandbox: Sandbox, catalog: Path, db: Path, *argv: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RECONCILER_", "JOGOS_", "PGOS_"))}
    env |= sandbox.env(catalog) | {"RECONCILER_DB": str(db), "RECONCILER_IDENTITY": "same"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reconciler", "audit", *argv, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL)
    _, err = await proc.communicate()
    return proc.returncode or 0, err.decode()


def exists(path: Path) -> bool:
    return path.exists()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_report_files_are_private(sandbox: Sandbox, catalog_path: Path,
                                        tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    fresh = tmp_path / "fresh.html"
    code, err = await audit(sandbox, catalog_path, db, "--format", "html", "--output", str(fresh))
    assert code in (0, 3), err
    assert mode(fresh) == 0o600 and mode(db) == 0o600
    assert "tightened" not in err
    loose = tmp_path / "loose.csv"
    loose.write_text("old report\n")
    loose.chmod(0o644)
    code, err = await audit(sandbox, catalog_path, db, "--format", "csv", "--output", str(loose))
    assert code in (0, 3), err
    assert mode(loose) == 0o600
    assert loose.read_text().startswith("class,game_id,order_id,detail")
    assert "loose.csv was readable by others (mode 0644); tightened to 0600" in err
    assert sandbox.options.shared_key not in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--since", "2026-11-23", "--until", "2026-11-01"],
     "--since 2026-11-23 is not before --until 2026-11-01"),
    (["--since", "1700000000", "--until", "1700000000"], "is not before --until 1700000000"),
    (["--threshold", "-1"], "--threshold -1: must be 0 or more"),
    (["--since", "yesterday"], "--since 'yesterday': expected YYYY-MM-DD or a Unix time"),
    (["--output", "/missing-dir/x.html"], "the folder /missing-dir does not exist"),
    (["--output", "."], "--output .: is a folder, not a file"),
])
async def test_bad_flags_are_refused_in_one_line_before_the_audit(
        sandbox: Sandbox, catalog_path: Path, tmp_path: Path, argv: list[str],
        message: str) -> None:
    code, err = await audit(sandbox, catalog_path, tmp_path / "ledger.db", "--format", "html",
                            *argv)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("reconciler audit: error: "), err
    assert message in err and "Traceback" not in err
    assert sandbox.jogos.get_orders_calls == 0  # refused before any book was read
    assert not exists(tmp_path / "ledger.db") and not exists(Path("/missing-dir"))
