"""Moving over: `reconciler ledger migrate --to postgresql://...` copies a SQLite ledger the
sandbox filled, proves it by counts and digests, refuses a second copy, and a pass on the
PostgreSQL ledger afterwards has nothing to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.engine.passes import open_engine, run_pass
from reconciler.ledger import Ledger
from reconciler.sandbox.runner import Sandbox
from reconciler.testing.postgres import TempPostgres
from tests.engine.conftest import ConfigFactory


async def test_migrate_then_a_pass_has_nothing_to_do(
        sandbox: Sandbox, make_config: ConfigFactory, tmp_path: Path,
        postgres_server: TempPostgres, capsys: pytest.CaptureFixture[str]) -> None:
    async with open_engine(make_config()) as engine:
        first = await run_pass(engine)
    assert first.settled and first.figures["new"] > 0
    sandbox.jogos.refund(9943, sandbox.jogos.books[9943].orders[0]["orderId"])
    async with open_engine(make_config()) as engine:
        assert (await run_pass(engine)).settled  # history with a revocation, two runs
    source = Ledger.open(tmp_path / "ledger.db")
    counts = source.counts()
    source.close()
    url = postgres_server.create_database()
    argv = ["ledger", "migrate", "--to", url, "--from", str(tmp_path / "ledger.db")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "proven: every table agrees" in out and "DIFFERENT" not in out
    assert main(argv) == 1  # a second copy into the same books is refused
    assert "not empty" in capsys.readouterr().err
    target = Ledger.open(url)
    try:
        assert target.counts() == counts
    finally:
        target.close()
    async with open_engine(make_config(RECONCILER_DB=url)) as engine:
        after = await run_pass(engine)
    assert after.settled and after.actions == []
    assert (after.figures["new"], after.figures["changed"]) == (0, 0)
    target = Ledger.open(url)
    try:
        assert target.counts()["runs"] == counts["runs"] + 1  # ids went on after the copy
    finally:
        target.close()
