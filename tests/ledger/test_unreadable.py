"""An effect row the code does not know (another version's kind, a damaged state) stops
nothing: its order waits for a person, every other order is planned as usual."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.catalog import Catalog, Product
from reconciler.core.models import Order
from reconciler.core.plan import ActionKind, Attention, Identity, Policy, plan
from reconciler.ledger import Ledger


def test_an_unknown_effect_kind_is_attention_not_a_crash(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "l.db")
    orders = [Order(1, "A", "u", "p", False, 100), Order(1, "B", "u", "p", False, 100)]
    ledger.record_orders(orders, 200)
    ledger.db.execute(
        "INSERT INTO effects (id, kind, game_id, order_id, state, attempts) "
        "VALUES ('mark:1:A', 'mark', 1, 'A', 'done', 1)")
    view = ledger.view([1])
    ledger.close()
    assert view[(1, "A")].unreadable
    actions = plan(orders, view, {1: Catalog({"p": Product("p", items=(), currency=())})},
                   {}, Policy(identity=Identity.SAME))
    by_order = {(a.order.order_id, a.kind) for a in actions}
    assert ("A", ActionKind.ATTENTION) in by_order
    assert not any(o == "A" and k is ActionKind.GRANT for o, k in by_order)
    assert ("B", ActionKind.GRANT) in by_order
    (attention,) = [a for a in actions if a.order.order_id == "A"]
    assert attention.reason == Attention.UNREADABLE_LEDGER.value
