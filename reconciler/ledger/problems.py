"""What waits for a person, as a list: effects not settled, orders waiting for attention,
quarantined rows (each with its order id and cause); and the operator's re-queue.

Rules: plain SQL with `?` placeholders (the PostgreSQL engine reads the same statements). The
list is read after a pass, never during one: each query is bounded by `limit`, counts are
separate queries. `requeue_attention` is the one write: effects waiting for attention
become `failed` (core.states.REQUEUE, the operator's move), in one transaction, so that the
next pass or drain settles them with the payload and idempotency token first recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.core.states import REQUEUE, UNSETTLED, EffectState
from reconciler.ledger.connection import Db, marks, rows, scalar
from reconciler.ledger.orders import WAITING


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that keeps the books from being settled."""

    what: str  # "grant", "arrived", "revoke" (an effect), "order" (attention), "quarantined"
    game_id: int
    order_id: str  # "" for a quarantined row (its raw text may hold none)
    state: str  # the effect's state, the order's attention reason, or "quarantined"
    cause: str  # the last error, the reason, or the parser's reason
    attempts: int = 0


def list_problems(db: Db, game_ids: Sequence[int], limit: int) -> tuple[list[Problem], int]:
    """The first `limit` problems of these games (unsettled effects, then orders waiting for
    attention, then quarantined rows) and how many there are in all."""
    games, states = list(game_ids), [s.value for s in UNSETTLED]
    effect_where = f"game_id IN ({marks(games)}) AND state IN ({marks(states)})"
    order_where = f"game_id IN ({marks(games)}) AND {WAITING}"
    quarantine_where = f"game_id IN ({marks(games)})"
    total = (scalar(db, f"SELECT count(*) FROM effects WHERE {effect_where}", [*games, *states])
             + scalar(db, f"SELECT count(*) FROM orders WHERE {order_where}", games)
             + scalar(db, f"SELECT count(*) FROM quarantine WHERE {quarantine_where}", games))
    found = [Problem(r["kind"], r["game_id"], r["order_id"], r["state"],
                     r["last_error"] or "", r["attempts"]) for r in rows(
        db, "SELECT kind, game_id, order_id, state, last_error, attempts FROM effects "
        f"WHERE {effect_where} ORDER BY game_id, order_id, kind LIMIT ?",
        [*games, *states, limit])]
    if len(found) < limit:
        found += [Problem("order", r["game_id"], r["order_id"], r["attention"],
                          "waits for " + str(r["attention"]).replace("_", " ")) for r in rows(
            db, f"SELECT game_id, order_id, attention FROM orders WHERE {order_where} "
            "ORDER BY game_id, order_id LIMIT ?", [*games, limit - len(found)])]
    if len(found) < limit:
        found += [Problem("quarantined", r["game_id"], "", "quarantined", r["reason"])
                  for r in rows(db, "SELECT game_id, reason FROM quarantine WHERE "
                                f"{quarantine_where} ORDER BY first_seen_s, id LIMIT ?",
                                [*games, limit - len(found)])]
    return found, total


def _effects_where(game_ids: Sequence[int], order_ids: Sequence[str], kinds: Sequence[str],
                   state: EffectState) -> tuple[str, list[object]]:
    """The WHERE clause (and its parameters) of effects in `state`, limited to these games,
    orders and kinds when given (empty: all)."""
    where, params = "state = ?", list[object]([state.value])
    filters: tuple[tuple[str, Sequence[object]], ...] = (
        ("game_id", game_ids), ("order_id", order_ids), ("kind", kinds))
    for column, values in filters:
        if values:
            where += f" AND {column} IN ({marks(values)})"
            params += list(values)
    return where, params


def requeue_attention(db: Db, game_ids: Sequence[int], order_ids: Sequence[str],
            kinds: Sequence[str], now_s: int) -> list[tuple[str, int, str]]:
    """Move effects waiting for attention back to `failed` (the next pass or drain re-sends
    them), limited to these games, orders and kinds when given (empty: all); returns (effect
    id, game id, order id) of each. One transaction.

    Raises a database error.
    """
    old, new = REQUEUE
    where, params = _effects_where(game_ids, order_ids, kinds, old)
    with db.atomic():
        chosen = [(str(r["id"]), int(r["game_id"]), str(r["order_id"])) for r in rows(
            db, f"SELECT id, game_id, order_id FROM effects WHERE {where} ORDER BY id", params)]
        db.execute(f"UPDATE effects SET state = ?, updated_s = ? WHERE {where}",
                   [new.value, now_s, *params])
    return chosen


def failed_keys(db: Db, game_ids: Sequence[int], order_ids: Sequence[str],
                kinds: Sequence[str]) -> list[tuple[int, str]]:
    """Orders with an effect already `failed` (queued for the next pass) among these games,
    orders and kinds (empty: all)."""
    where, params = _effects_where(game_ids, order_ids, kinds, EffectState.FAILED)
    return [(int(r["game_id"]), str(r["order_id"])) for r in rows(
        db, f"SELECT DISTINCT game_id, order_id FROM effects WHERE {where} "
        "ORDER BY game_id, order_id", params)]
