"""The streaming pass's batch reads and the operator's read models, on both engines: a chunk's
links only, the orders recording would write, the problems list and the gauges."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.models import Order, RefundStatus
from reconciler.ledger import Ledger


def order(order_id: str, user: str = "u1", refund: RefundStatus | None = None) -> Order:
    return Order(1, order_id, user, "p1", False, 100, refund, None)


def test_batch_reads_and_read_models(ledger_location: str | Path) -> None:
    ledger = Ledger.open(ledger_location)
    try:
        ledger.record_orders([order("o1"), order("o2", "u2")], 1)
        ledger.link_many([(1, "u1", "p1"), (1, "u2", "p2"), (2, "u1", "p9")], 1)
        assert ledger.links_of([(1, "u1"), (1, "u3")]) == {(1, "u1"): "p1"}
        changed = ledger.changed_orders(
            [order("o1"), order("o2", "u2", RefundStatus.REFUNDED), order("o3")])
        assert sorted(o.order_id for o in changed) == ["o2", "o3"]
        ledger.set_attention(1, "o1", "unknown_product")
        ledger.quarantine(1, {"orderId": None}, "orderId is missing", 1)
        problems, total = ledger.problems([1], 10)
        assert total == 2 and {p.what for p in problems} == {"order", "quarantined"}
        gauges = ledger.gauges()
        assert gauges.quarantined == 1 and gauges.debts == 0
    finally:
        ledger.close()
