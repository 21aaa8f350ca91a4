"""Group commit: each write a savepoint of its own; a transaction that ends or aborts under a
write leaves nothing of the group written, and every caller hears of it. On SQLite and on a
real PostgreSQL server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reconciler.engine.grouping import GroupCommit
from reconciler.errors import LedgerError
from reconciler.ledger import Ledger
from reconciler.testing.postgres import TempPostgres


async def together(group: GroupCommit, *writes: object) -> list[object]:
    """Queue every write in one event-loop turn (one group); each caller's result or error."""
    return list(await asyncio.gather(*(group.run(w) for w in writes),  # type: ignore[arg-type]
                                     return_exceptions=True))


async def test_sqlite_a_transaction_ended_under_a_write_writes_nothing(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "ledger.db")
    try:
        db = ledger.db
        db.execute("CREATE TABLE t (x INTEGER)")
        db.execute("CREATE TRIGGER boom BEFORE INSERT ON t WHEN NEW.x = 2 "
                   "BEGIN SELECT RAISE(ROLLBACK, 'gone'); END")
        ran: list[int] = []

        def insert(x: int) -> object:
            def write() -> int:
                ran.append(x)
                db.execute("INSERT INTO t VALUES (?)", [x])
                return x
            return write

        results = await together(GroupCommit(ledger), insert(1), insert(2), insert(3))
        assert all(isinstance(r, LedgerError) for r in results), results
        assert ran == [1, 2]  # the write after the break never ran
        assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
        # a failing write alone is rolled back alone; the others commit
        results = await together(GroupCommit(ledger), insert(1), lambda: 1 / 0, insert(3))
        assert results[0] == 1 and isinstance(results[1], ZeroDivisionError)
        assert results[2] == 3
        assert [r[0] for r in db.execute("SELECT x FROM t ORDER BY x")] == [1, 3]
    finally:
        ledger.close()


@pytest.fixture
def url(postgres_server: TempPostgres) -> str:
    return postgres_server.create_database()


async def test_postgres_a_failed_statement_does_not_abort_the_group(url: str) -> None:
    """A write whose statement fails outside any savepoint of its own: PostgreSQL would abort
    the whole transaction and turn the COMMIT into a ROLLBACK without a word; the step's
    savepoint keeps the other writes of the group."""
    ledger = Ledger.open(url)
    try:
        db = ledger.db
        db.execute("CREATE TABLE IF NOT EXISTS grouping_t (x INTEGER)")
        db.execute("DELETE FROM grouping_t")

        def insert(x: int) -> object:
            def write() -> int:
                db.execute("INSERT INTO grouping_t VALUES (?)", [x])
                return x
            return write

        def failing() -> None:
            db.execute("SELECT 1 / 0")

        results = await together(GroupCommit(ledger), insert(1), failing, insert(3))
        assert results[0] == 1 and isinstance(results[1], Exception) and results[2] == 3
        assert sorted(r[0] for r in db.execute("SELECT x FROM grouping_t")) == [1, 3]
    finally:
        ledger.close()
