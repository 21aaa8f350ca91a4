"""Orders as the store last said, their flags (adopted, attention), quarantined rows, and the
plan's view of each order.

Rules: an order is written only when its digest changed (unchanged orders cost a read, never a
write); writes are batched per chunk in one transaction. Every function takes the ledger's
Db; rows are mapped by column name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.core.models import Order, RefundStatus
from reconciler.core.plan import LedgerOrder
from reconciler.core.states import UNCERTAIN, EffectState
from reconciler.ledger.connection import Db, Row, by_game, chunks, marks, rows, scalar

ORDER_COLUMNS = ("game_id, order_id, user_id, product_id, arrived_status, pay_time_s, "
                 "refund_status, refund_time_s")
WAITING = "attention IS NOT NULL AND adopted = 0"  # an order waiting for a person or a change
QUARANTINED_TEXT_CHARS = 10_000


@dataclass(frozen=True, slots=True)
class RecordFigures:
    """What recording a batch of orders changed."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0


def order_of(found: Row) -> Order:
    """The Order of a row read with ORDER_COLUMNS."""
    refund = found["refund_status"]
    return Order(found["game_id"], found["order_id"], found["user_id"], found["product_id"],
                 bool(found["arrived_status"]), found["pay_time_s"],
                 None if refund is None else RefundStatus(refund), found["refund_time_s"])


def record(db: Db, orders: Sequence[Order], now_s: int) -> RecordFigures:
    """Insert new orders and update changed ones; unchanged ones are not written.

    Raises a database error on database failure (the chunk under way is rolled back).
    """
    new = changed = 0
    for chunk in chunks(orders):
        groups: dict[int, list[Order]] = {}
        for order in chunk:
            groups.setdefault(order.game_id, []).append(order)
        writes: list[tuple[Order, bool]] = []
        for game_id, group in groups.items():
            known = {r["order_id"]: r["digest"] for r in rows(
                db, f"SELECT order_id, digest FROM orders WHERE game_id = ? "
                f"AND order_id IN ({marks(group)})", [game_id, *(o.order_id for o in group)])}
            for order in group:
                digest = known.get(order.order_id)
                if digest is None:
                    writes.append((order, True))
                elif digest != order.digest():
                    writes.append((order, False))
        if not writes:
            continue
        with db.atomic():
            for order, is_new in writes:
                _upsert(db, order, now_s)
                new += is_new
                changed += not is_new
    return RecordFigures(new, changed, len(orders) - new - changed)


def _upsert(db: Db, order: Order, now_s: int) -> None:
    db.execute(
        """INSERT INTO orders (game_id, order_id, user_id, product_id,
             arrived_status, pay_time_s, refund_status, refund_time_s, digest,
             first_seen_s, changed_s)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (game_id, order_id) DO UPDATE SET
             user_id = excluded.user_id, product_id = excluded.product_id,
             arrived_status = excluded.arrived_status,
             pay_time_s = excluded.pay_time_s,
             refund_status = excluded.refund_status,
             refund_time_s = excluded.refund_time_s,
             digest = excluded.digest, changed_s = excluded.changed_s""",
        [order.game_id, order.order_id, order.user_id, order.product_id,
         int(order.arrived), order.pay_time_s,
         None if order.refund_status is None else int(order.refund_status),
         order.refund_time_s, order.digest(), now_s, now_s],
    )


def quarantine(db: Db, game_id: int, raw: object, reason: str, now_s: int) -> None:
    """Keep a row that could not be parsed, with the reason; counted once per content.

    Raises a database error on database failure.
    """
    text = json.dumps(raw, sort_keys=True, default=str)[:QUARANTINED_TEXT_CHARS]
    row_id = hashlib.blake2b(f"{game_id}|{text}".encode(), digest_size=12).hexdigest()
    with db.atomic():
        db.execute(
            """INSERT INTO quarantine (id, game_id, raw, reason, first_seen_s, last_seen_s,
                 times_seen) VALUES (?, ?, ?, ?, ?, ?, 1)
               ON CONFLICT (id) DO UPDATE SET last_seen_s = excluded.last_seen_s,
                 times_seen = quarantine.times_seen + 1, reason = excluded.reason""",
            [row_id, game_id, text, reason, now_s, now_s],
        )


def set_adopted(db: Db, game_id: int, order_id: str) -> None:
    """Mark the order delivered elsewhere; it no longer waits. Raises a database error."""
    with db.atomic():
        db.execute("UPDATE orders SET adopted = 1, attention = NULL "
                   "WHERE game_id = ? AND order_id = ?", [game_id, order_id])


def set_attention(db: Db, game_id: int, order_id: str, reason: str | None) -> None:
    """Set (or, with None, clear) why an order waits. Raises a database error."""
    with db.atomic():
        write_attention(db, game_id, order_id, reason)


def write_attention(db: Db, game_id: int, order_id: str, reason: str | None) -> None:
    """Within the caller's transaction: set the order's attention reason (None clears it)."""
    db.execute("UPDATE orders SET attention = ? WHERE game_id = ? AND order_id = ?",
               [reason, game_id, order_id])


def by_keys(db: Db, keys: Iterable[tuple[int, str]]) -> list[Order]:
    """Orders as last recorded, for these keys (unknown keys are skipped)."""
    found: list[Order] = []
    for chunk in chunks(list(keys)):
        for game_id, group in by_game(chunk).items():
            found.extend(order_of(r) for r in rows(
                db, f"SELECT {ORDER_COLUMNS} FROM orders WHERE game_id = ? "
                f"AND order_id IN ({marks(group)})", [game_id, *group]))
    return found


def count(db: Db, game_id: int | None = None) -> int:
    """How many orders the ledger holds (for one game, or all)."""
    if game_id is None:
        return scalar(db, "SELECT count(*) FROM orders")
    return scalar(db, "SELECT count(*) FROM orders WHERE game_id = ?", [game_id])


def waiting_for_user(db: Db, game_id: int, user_id: str) -> list[tuple[int, str]]:
    """Orders of a user that wait for a player link."""
    return [(game_id, r["order_id"]) for r in rows(
        db, "SELECT order_id FROM orders WHERE game_id = ? AND user_id = ? "
        "AND attention = 'unlinked_player'", [game_id, user_id])]


def unsettled_keys(db: Db, game_ids: Iterable[int]) -> list[tuple[int, str]]:
    """Orders with an uncertain effect or waiting for attention (what a drain looks at)."""
    games = list(game_ids)
    return [(r["game_id"], r["order_id"]) for r in rows(
        db, f"SELECT game_id, order_id FROM effects WHERE game_id IN ({marks(games)}) "
        f"AND state IN ({marks(UNCERTAIN)}) UNION "
        f"SELECT game_id, order_id FROM orders WHERE game_id IN ({marks(games)}) "
        f"AND {WAITING}", [*games, *(s.value for s in UNCERTAIN), *games])]


def view(db: Db, game_ids: Iterable[int],
         keys: Iterable[tuple[int, str]] | None = None) -> dict[tuple[int, str], LedgerOrder]:
    """The ledger's view of every order that has an effect or a flag, for the plan (limited
    to `keys` when given)."""
    effects_sql = "SELECT kind, game_id, order_id, state FROM effects WHERE "
    flags_sql = ("SELECT game_id, order_id, adopted, attention FROM orders WHERE "
                 "(adopted = 1 OR attention IS NOT NULL) AND ")
    if keys is None:
        games = list(game_ids)
        where = f"game_id IN ({marks(games)})"
        return _view(rows(db, effects_sql + where, games), rows(db, flags_sql + where, games))
    result: dict[tuple[int, str], LedgerOrder] = {}
    for chunk in chunks(list(keys)):
        for game_id, group in by_game(chunk).items():
            where = f"game_id = ? AND order_id IN ({marks(group)})"
            result.update(_view(rows(db, effects_sql + where, [game_id, *group]),
                                rows(db, flags_sql + where, [game_id, *group])))
    return result


EFFECT_KINDS = frozenset({"grant", "arrived", "revoke"})  # the effect fields of LedgerOrder
STATES = frozenset(state.value for state in EffectState)


def _view(effects: Iterable[Row],
          flags: Iterable[Row]) -> dict[tuple[int, str], LedgerOrder]:
    books: dict[tuple[int, str], dict[str, Any]] = {}
    for e in effects:
        entry = books.setdefault((e["game_id"], e["order_id"]), {})
        if e["kind"] in EFFECT_KINDS and e["state"] in STATES:
            entry[e["kind"]] = EffectState(e["state"])
        else:  # a row of another version or a damaged one: the order waits for a person
            entry["unreadable"] = True
    for f in flags:
        entry = books.setdefault((f["game_id"], f["order_id"]), {})
        entry["adopted"] = bool(f["adopted"])
        entry["attention"] = f["attention"]
    return {key: LedgerOrder(**fields) for key, fields in books.items()}


def changed(db: Db, orders: Sequence[Order]) -> list[Order]:
    """The orders that recording would write: new ones and those whose digest changed (a read
    only, for a dry run)."""
    found: list[Order] = []
    for chunk in chunks(orders):
        groups: dict[int, list[Order]] = {}
        for order in chunk:
            groups.setdefault(order.game_id, []).append(order)
        for game_id, group in groups.items():
            known = {r["order_id"]: r["digest"] for r in rows(
                db, f"SELECT order_id, digest FROM orders WHERE game_id = ? "
                f"AND order_id IN ({marks(group)})", [game_id, *(o.order_id for o in group)])}
            found.extend(o for o in group if known.get(o.order_id) != o.digest())
    return found
