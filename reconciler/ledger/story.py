"""Read model of one order's story: everything the ledger knows of it (the operations API).

Rules: read-only; one query per table. Rows are mapped by column name.
"""

from __future__ import annotations

from typing import Any

from reconciler.core.models import effect_id
from reconciler.ledger.connection import Db, marks, row, rows
from reconciler.ledger.effects import EFFECT_COLUMNS, effect_of

KINDS = ("grant", "arrived", "revoke")  # in the order an order's story tells them


def story(db: Db, game_id: int, order_id: str) -> dict[str, Any] | None:
    """The order as recorded, its effects and its notifications; None for an unknown order."""
    order = row(db, "SELECT * FROM orders WHERE game_id = ? AND order_id = ?",
                [game_id, order_id])
    if order is None:
        return None
    ids = [effect_id(kind, game_id, order_id) for kind in KINDS]
    found = {r["id"]: effect_of(r) for r in rows(
        db, f"SELECT {EFFECT_COLUMNS} FROM effects WHERE id IN ({marks(ids)})", ids)}
    effects = [found[i] for i in ids if i in found]
    notes = rows(db, "SELECT paytype, received_s, status, detail FROM notifications "
                 "WHERE game_id = ? AND order_id = ? ORDER BY received_s", [game_id, order_id])
    return {
        "order": {key: order[key] for key in order.keys()},  # noqa: SIM118 (a Row is no dict)
        "effects": [{"id": e.id, "state": e.state.value, "attempts": e.attempts,
                     "player_id": e.player_id, "payload": e.payload,
                     "response": e.response, "last_error": e.last_error} for e in effects],
        "notifications": [{"paytype": n["paytype"], "received_s": n["received_s"],
                           "status": n["status"], "detail": n["detail"]} for n in notes],
    }
