"""Read model of the audit: the ledger's side of the three books, as core.audit values.

Rules: read-only; one query per table, for the games asked. Rows are mapped by column name.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.core.audit import EffectRow, LedgerOrderRow
from reconciler.core.states import EffectState
from reconciler.ledger.connection import Db, marks, rows, scalar
from reconciler.ledger.orders import ORDER_COLUMNS, order_of


def audit_rows(db: Db, game_ids: list[int]) -> dict[str, Any]:
    """Everything the audit reads from the ledger: `ledger` (orders with their flags),
    `effects`, `debts`, `quarantined`, `interrupted_runs` and `latest_s` (the last write)."""
    games = marks(game_ids)
    orders = {}
    for r in rows(db, f"SELECT {ORDER_COLUMNS}, adopted, attention FROM orders "
                  f"WHERE game_id IN ({games})", game_ids):
        order = order_of(r)
        orders[order.key] = LedgerOrderRow(order, bool(r["adopted"]), r["attention"])
    effects = []
    for r in rows(db, "SELECT kind, game_id, order_id, state, attempts, player_id, response, "
                  f"created_s, updated_s, last_error FROM effects WHERE game_id IN ({games})",
                  game_ids):
        response = json.loads(r["response"]) if r["response"] else {}
        effects.append(EffectRow(
            r["kind"], r["game_id"], r["order_id"], EffectState(r["state"]), r["attempts"],
            r["player_id"], tuple(str(i) for i in response.get("instances", [])),
            r["created_s"] or 0, r["updated_s"] or 0, r["last_error"]))
    debts = [(r["game_id"], r["order_id"], r["kind"], r["code"], r["amount"]) for r in rows(
        db, f"SELECT game_id, order_id, kind, code, amount FROM debts WHERE game_id IN ({games})",
        game_ids)]
    quarantined = [(r["game_id"], r["reason"], r["first_seen_s"]) for r in rows(
        db, f"SELECT game_id, reason, first_seen_s FROM quarantine WHERE game_id IN ({games})",
        game_ids)]
    interrupted = [(r["id"], r["started_s"]) for r in rows(
        db, "SELECT id, started_s FROM runs WHERE status = 'running' AND id < "
        "(SELECT coalesce(max(id), 0) FROM runs)")]
    latest = scalar(db, "SELECT max(t) FROM (SELECT max(changed_s) AS t FROM orders UNION ALL "
                    "SELECT max(updated_s) FROM effects) AS latest")
    return {"ledger": orders, "effects": effects, "debts": debts, "quarantined": quarantined,
            "interrupted_runs": interrupted, "latest_s": latest}
