"""WAL checkpoints in a thread of their own: the writing connection never checkpoints inside a
COMMIT, the thread copies the log into the file, and it stops with its ledger."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reconciler.core.models import Order
from reconciler.ledger import Ledger
from reconciler.ledger.connection import SqliteDb, open_database


def wait_for(check: Callable[[], bool], timeout_s: float = 30) -> None:
    """Poll until `check` holds (a bound for a wedged test, not a timing assertion)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ledger-checkpoint"]


def test_the_thread_copies_the_log_and_the_writer_never_does(tmp_path: Path) -> None:
    db = open_database(tmp_path / "ledger.db")
    try:
        assert isinstance(db, SqliteDb) and db.checkpointer is not None
        assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        ledger = Ledger(db)
        orders = [Order(1, f"o{i}", "u", "p", False, 1_700_000_000 + i) for i in range(3000)]
        for start in range(0, len(orders), 100):
            ledger.record_orders(orders[start:start + 100], 1)
        checkpointer = db.checkpointer
        # a checkpoint after the writes copied every frame of the log into the file
        wait_for(lambda: checkpointer.last is not None and checkpointer.last[1] > 0
                 and checkpointer.last[1] == checkpointer.last[2])
        reader = sqlite3.connect(f"file:{tmp_path / 'ledger.db'}?mode=ro", uri=True)
        try:
            assert reader.execute("SELECT count(*) FROM orders").fetchone()[0] == 3000
        finally:
            reader.close()
    finally:
        db.close()
    assert db.checkpointer is None


def test_close_and_a_dropped_ledger_both_stop_the_thread(tmp_path: Path) -> None:
    before = set(threads())
    db = open_database(tmp_path / "a.db")
    [mine] = [t for t in threads() if t not in before]
    db.close()
    assert not mine.is_alive()
    dropped = open_database(tmp_path / "b.db")
    [other] = [t for t in threads() if t not in before]
    del dropped
    gc.collect()
    wait_for(lambda: not other.is_alive())


def test_an_in_memory_ledger_has_no_thread() -> None:
    db = open_database(":memory:")
    try:
        assert db.checkpointer is None
    finally:
        db.close()
