"""The command-line faces of the engine: catch-up, players import, pgos help; success codes."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from reconciler.engine.passes import open_engine, run_pass
from reconciler.ledger import Ledger
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from tests.engine.conftest import ConfigFactory
from tests.hostile_rows import every_bad_row


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=300, seed=3))


async def cli(sandbox: Sandbox, catalog: Path, db: Path, *argv: str,
              **extra: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RECONCILER_", "JOGOS_", "PGOS_"))}
    env |= sandbox.env(catalog) | {"RECONCILER_DB": str(db), "RECONCILER_IDENTITY": "same"}
    env |= extra
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reconciler", *argv, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_catch_up_exit_codes_and_dry_run(sandbox: Sandbox, catalog_path: Path,
                                               tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    code, out, err = await cli(sandbox, catalog_path, db, "catch-up", "--dry-run", "--show", "3")
    assert code == 0, err
    assert "dry run: 300 orders" in out and "... and" in out
    assert not db.exists() and not sandbox.pgos.log
    code, out, err = await cli(sandbox, catalog_path, db, "catch-up")
    assert code == 0, err
    assert "orders=300" in out
    (fresh,) = sandbox.jogos.add_orders(9943, 1)
    fresh["productId"] = "unknown"
    code, out, _ = await cli(sandbox, catalog_path, db, "catch-up")
    assert code == 3 and "orders_attention=1" in out
    wrong = "a-wrong-but-strong-key"
    code, _, err = await cli(sandbox, catalog_path, db, "catch-up", JOGOS_SHARED_KEY=wrong)
    assert code == 1 and "41007" in err and wrong not in err


async def test_players_import(sandbox: Sandbox, catalog_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    good = tmp_path / "links.csv"
    good.write_text("user_id,player_id\n1,pgos-1\n2,pgos-2\n")
    code, out, err = await cli(sandbox, catalog_path, db, "players", "import", str(good))
    assert code == 0, err
    assert "linked 2" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,player_id\n3,pgos-3\n,missing\n4,pgos-4,extra\n")
    code, _, err = await cli(sandbox, catalog_path, db, "players", "import", str(bad))
    assert code == 1 and "bad.csv: nothing done" in err and "line 3: user_id is empty" in err
    ledger = Ledger.open(db)
    assert ledger.links([9943]) == {(9943, "1"): "pgos-1", (9943, "2"): "pgos-2"}
    ledger.close()


async def test_pgos_help_lists_commands(sandbox: Sandbox, catalog_path: Path,
                                        tmp_path: Path) -> None:
    code, out, err = await cli(sandbox, catalog_path, tmp_path / "l.db", "pgos", "help")
    assert code == 0, err
    assert "grant-items-to-player" in out


@pytest.mark.parametrize("success_code", ["200", 200, "SUCCESS"])
async def test_success_code_forms(success_code: str | int, make_config: ConfigFactory,
                                  tmp_path: Path) -> None:
    options = SandboxOptions(mix=OrderMix(count=120, seed=4), success_code=success_code)
    async with Sandbox(options) as other:
        from reconciler.config import build_config

        env = other.env(tmp_path / "catalog.toml") | {
            "RECONCILER_DB": str(tmp_path / "l.db"), "RECONCILER_IDENTITY": "same"}
        from reconciler.sandbox.runner import SANDBOX_CATALOG

        (tmp_path / "catalog.toml").write_text(SANDBOX_CATALOG)
        async with open_engine(build_config({}, env)) as engine:
            report = await run_pass(engine)
    assert report.settled and report.figures["orders"] == 120


async def test_audit_command(sandbox: Sandbox, catalog_path: Path, tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    code, _, err = await cli(sandbox, catalog_path, db, "catch-up")
    assert code == 0, err
    report = tmp_path / "audit.json"
    code, out, err = await cli(sandbox, catalog_path, db, "audit", "--output", str(report))
    assert code == 0, err
    assert "audit: ok" in out
    sandbox.jogos.add_orders(9943, 2)
    code, out, _ = await cli(sandbox, catalog_path, db, "audit", "--format", "markdown")
    assert code == 3 and "paid_not_granted | 2" in out
    code, out, _ = await cli(sandbox, catalog_path, db, "audit", "--threshold", "2",
                             "--format", "csv")
    assert code == 0 and out.count("paid_not_granted") == 2
    code, _, err = await cli(sandbox, catalog_path, db, "audit", "--since", "yesterday")
    assert code == 2 and "--since" in err  # a usage error, refused before the audit
    ledger = Ledger.open(db)
    latest = ledger.last_run_of_kind("audit")
    ledger.close()
    assert latest is not None and latest["status"] == "ok" and latest["figures"]["total"] == 2


async def test_bad_rows_catch_up_exits_3_and_audit_completes(sandbox: Sandbox,
                                                             catalog_path: Path,
                                                             tmp_path: Path) -> None:
    """Rows no parser can accept (a 5,000-digit payTime among them) are quarantined: the
    catch-up settles every other order and exits 3 (not 1), the audit still reads the store."""
    bad = every_bad_row()
    for text, _ in bad:
        sandbox.jogos.inject_raw(text)
    db = tmp_path / "ledger.db"
    code, out, err = await cli(sandbox, catalog_path, db, "catch-up")
    assert code == 3, err
    assert "orders=300" in out and f"malformed={len(bad)}" in out
    assert f"quarantined={len(bad)}" in out and "Traceback" not in err
    report = tmp_path / "audit.json"
    code, out, err = await cli(sandbox, catalog_path, db, "audit", "--output", str(report))
    assert code == 3 and "Traceback" not in err, err  # the quarantined rows are reported
    assert f"{len(bad)} discrepancies" in out and report.exists()
    ledger = Ledger.open(db)
    latest = ledger.last_run_of_kind("audit")
    ledger.close()
    assert latest is not None and latest["status"] != "error"
