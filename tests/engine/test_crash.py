"""Crash consistency (quick form): SIGKILL catch-up at random moments; nothing is granted or
revoked twice and nothing is lost; on both engines (a SQLite file, a PostgreSQL database).
The long form is bench/crash.py."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from reconciler.core.catalog import parse_catalog
from reconciler.ledger import Ledger
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.testing.books import check_books, delivered_at_start
from reconciler.testing.crash import campaign


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=1500, seed=21), max_page_size=50)


async def test_sigkill_at_random_moments(sandbox: Sandbox, tmp_path: Path,
                                         ledger_location: str | Path) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(SANDBOX_CATALOG)
    elsewhere = delivered_at_start(sandbox)
    db = ledger_location
    figures = await campaign(sandbox, catalog, db, iterations=10, seed=5, max_kill_s=1.2,
                             new_orders=150)
    assert figures.final_status == 0, figures
    assert figures.killed > 0 and figures.refunded > 0
    violations = check_books(sandbox, parse_catalog(tomllib.loads(SANDBOX_CATALOG)), elsewhere)
    assert not violations.lines, violations.lines[:10]
    assert "token_reused" not in sandbox.pgos.rejected
    ledger = Ledger.open(db)
    try:
        assert ledger.integrity_ok()
        revokes = ledger.db.execute(
            "SELECT count(*) FROM effects WHERE kind = 'revoke' AND state = 'done'").fetchone()[0]
    finally:
        ledger.close()
    assert revokes > 0
