"""The ledger: file mode, WAL, migrations (SQLite); digest-gated writes, effect transitions,
views, links, quarantine and debts on both engines."""

from __future__ import annotations

import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from reconciler.core.models import Order, RefundStatus
from reconciler.core.states import EffectState
from reconciler.errors import ConfigError, InvariantError
from reconciler.ledger import Ledger

S = EffectState


def orders(n: int, **over: object) -> list[Order]:
    base = {"game_id": 1, "user_id": "u", "product_id": "p", "arrived": False,
            "pay_time_s": 100, "refund_status": None, "refund_time_s": None}
    base.update(over)
    return [Order(order_id=f"o{i}", **base) for i in range(n)]  # type: ignore[arg-type]


def test_created_private_in_wal_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "ledger.db"
    ledger = Ledger.open(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"orders", "effects", "runs", "links", "debts", "quarantine"} <= set(
        ledger.db.table_names())
    ledger.close()
    again = Ledger.open(path)  # migrations are not applied twice
    assert again.integrity_ok()
    again.close()


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ConfigError):
        Ledger.open(path)


def test_unchanged_orders_are_not_written(ledger_location: str | Path) -> None:
    ledger = Ledger.open(ledger_location)
    first = ledger.record_orders(orders(1200), now_s=1)
    assert (first.new, first.changed, first.unchanged) == (1200, 0, 0)
    before = ledger.db.total_changes
    second = ledger.record_orders(orders(1200), now_s=2)
    assert (second.new, second.changed, second.unchanged) == (0, 0, 1200)
    assert ledger.db.total_changes == before
    changed = orders(1200)
    changed[5] = Order(1, "o5", "u", "p", False, 100, RefundStatus.REFUNDED, 200)
    third = ledger.record_orders(changed, now_s=3)
    assert (third.new, third.changed) == (0, 1)
    row = ledger.db.execute(
        "SELECT refund_status, first_seen_s, changed_s FROM orders WHERE order_id = 'o5'"
    ).fetchone()
    assert row == (1, 1, 3)


def test_effect_life_and_transitions(ledger_location: str | Path) -> None:
    ledger = Ledger.open(ledger_location)
    effect = ledger.begin_effect("grant:1:o1", "grant", 1, "o1", "p", {"items": [1]}, 10)
    assert effect.state is S.IN_FLIGHT and effect.attempts == 1
    again = ledger.begin_effect("grant:1:o1", "grant", 1, "o1", "p", {"items": [2]}, 11)
    assert again.attempts == 2 and again.payload == {"items": [1]}
    ledger.finish_effect("grant:1:o1", S.DONE, 12, response={"instances": ["i1"]})
    with pytest.raises(InvariantError):
        ledger.begin_effect("grant:1:o1", "grant", 1, "o1", "p", {}, 13)
    with pytest.raises(InvariantError):
        ledger.finish_effect("grant:1:o1", S.FAILED, 13)
    done = ledger.effect("grant:1:o1")
    assert done is not None and done.response == {"instances": ["i1"]}
    # A delivery mark may be sent again after it was done.
    ledger.begin_effect("arrived:1:o1", "arrived", 1, "o1", None, {}, 10)
    ledger.finish_effect("arrived:1:o1", S.DONE, 11)
    assert ledger.begin_effect("arrived:1:o1", "arrived", 1, "o1", None, {}, 12).attempts == 2


def test_view_links_quarantine_debts(ledger_location: str | Path) -> None:
    ledger = Ledger.open(ledger_location)
    ledger.record_orders(orders(3), now_s=1)
    ledger.begin_effect("grant:1:o0", "grant", 1, "o0", "p", {}, 1)
    ledger.set_adopted(1, "o1")
    ledger.set_attention(1, "o2", "unknown_product")
    view = ledger.view([1])
    assert view[(1, "o0")].grant is S.IN_FLIGHT
    assert view[(1, "o1")].adopted and view[(1, "o2")].attention == "unknown_product"
    assert ledger.view([2]) == {}
    ledger.link_many([(1, "u", "p1"), (2, "u", "p2")], 5)
    ledger.link(1, "u", "p3", 6)
    assert ledger.links([1]) == {(1, "u"): "p3"}
    ledger.quarantine(1, {"orderId": None}, "orderId is missing", 1)
    ledger.quarantine(1, {"orderId": None}, "orderId is missing", 2)
    ledger.record_debt("d1", 1, "o0", "p", "currency", "GEM", 5, 1)
    ledger.record_debt("d1", 1, "o0", "p", "currency", "GEM", 5, 2)
    counts = ledger.counts()
    assert counts["quarantine"] == 1 and counts["debts"] == 1
    assert ledger.db.execute("SELECT times_seen FROM quarantine").fetchone()[0] == 2


def test_loose_ledger_wal_and_shm_are_tightened_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "ledger.db"
    Ledger.open(path).close()
    holder = sqlite3.connect(path)  # keeps -wal and -shm in place while we loosen them
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("INSERT INTO links (game_id, user_id, player_id, linked_s, source) "
                   "VALUES (1, 'u', 'p', 1, 't')")
    holder.commit()
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    for file in files:
        file.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="reconciler.private_files"):
        ledger = Ledger.open(path)
    try:
        assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {
            f.name: 0o600 for f in files}
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 3 and all("0644" in m and "0600" in m for m in warned)
        assert ledger.links([1]) == {(1, "u"): "p"}  # the books are intact
    finally:
        ledger.close()
        holder.close()
