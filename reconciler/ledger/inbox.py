"""The inbox: notifications recorded on arrival and decided once the store has spoken, and the
nonces of service-to-service requests (replays refused across restarts).

Rules: a notification is identified by the hash of its exact bytes (a duplicate writes
nothing); what it tells (user, product, pay time, refund status) is kept beside its status so
that the store's answer can be compared without parsing it again. Every function takes the
ledger's Db and runs its own transaction; rows are mapped by column name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from reconciler.core.models import Order, RefundStatus, merge_notification
from reconciler.core.notify import MAX_ATTEMPTS, NoteStatus, rewrites_history
from reconciler.ledger import orders
from reconciler.ledger.connection import Db, marks, row, rows


@dataclass(frozen=True)
class Note:
    """A recorded notification still waiting for the store."""

    id: str
    kind: str
    told: Order
    attempts: int


def note_id(body: bytes) -> str:
    """The notification's id: a hash of its exact bytes."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def record(db: Db, told: Order, kind: str, body: bytes, now_s: int,
           status: NoteStatus) -> bool:
    """Keep a verified notification; False when the same bytes were recorded before.

    Raises a database error on database failure (nothing is written).
    """
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO notifications (id, game_id, order_id, paytype, body, "
            "received_s, status, attempts, user_id, product_id, pay_time_s, refund_status, "
            "decided_s) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            [note_id(body), told.game_id, told.order_id, kind,
             body.decode("utf-8", "replace"), now_s, status.value, told.user_id,
             told.product_id, told.pay_time_s,
             None if told.refund_status is None else int(told.refund_status),
             None if status is NoteStatus.PENDING else now_s])
        return bool(cursor.rowcount == 1)


def pending(db: Db, game_ids: list[int], limit: int = 1000) -> list[Note]:
    """Notifications of these games still waiting for the store, oldest first."""
    found = rows(
        db, "SELECT id, paytype, game_id, order_id, user_id, product_id, pay_time_s, "
        "refund_status, attempts FROM notifications "
        f"WHERE status = 'pending' AND game_id IN ({marks(game_ids)}) ORDER BY received_s "
        "LIMIT ?", [*game_ids, limit])
    return [Note(r["id"], r["paytype"], Order(
        r["game_id"], r["order_id"], r["user_id"] or "", r["product_id"] or "", False,
        r["pay_time_s"] or 0, None if r["refund_status"] is None
        else RefundStatus(r["refund_status"])), r["attempts"] or 0) for r in found]


def decide(db: Db, decisions: list[tuple[str, NoteStatus, str]], now_s: int) -> None:
    """Apply (note id, status, detail) decisions; a note left PENDING counts one more search
    and becomes UNCONFIRMED after MAX_ATTEMPTS."""
    with db.atomic():
        for note, status, detail in decisions:
            if status is NoteStatus.PENDING:
                db.execute(
                    "UPDATE notifications SET attempts = attempts + 1, detail = ?, "
                    "status = CASE WHEN attempts + 1 >= ? THEN 'unconfirmed' ELSE status END, "
                    "decided_s = CASE WHEN attempts + 1 >= ? THEN ? ELSE decided_s END "
                    "WHERE id = ? AND status = 'pending'",
                    [detail, MAX_ATTEMPTS, MAX_ATTEMPTS, now_s, note])
            else:
                db.execute("UPDATE notifications SET status = ?, detail = ?, decided_s = ? "
                           "WHERE id = ? AND status = 'pending'",
                           [status.value, detail, now_s, note])


def decide_from_orders(db: Db, game_ids: list[int], now_s: int) -> None:
    """After a pass recorded the store's orders: pending notifications whose order the store
    now lists are confirmed (or a conflict when its user or product differ; a refund waits
    for the store to say refunded)."""
    games = marks(game_ids)
    joined = (
        "FROM orders o WHERE o.game_id = notifications.game_id "
        "AND o.order_id = notifications.order_id")
    with db.atomic():
        db.execute(
            f"UPDATE notifications SET status = 'conflict', decided_s = ?, "
            f"detail = 'the store lists another user or product' "
            f"WHERE status = 'pending' AND game_id IN ({games}) AND EXISTS (SELECT 1 {joined} "
            "AND (o.user_id != notifications.user_id "
            "OR o.product_id != notifications.product_id))", [now_s, *game_ids])
        db.execute(
            f"UPDATE notifications SET status = 'confirmed', decided_s = ?, detail = NULL "
            f"WHERE status = 'pending' AND game_id IN ({games}) AND EXISTS (SELECT 1 {joined} "
            "AND (notifications.paytype != 'refund' OR o.refund_status = 1))",
            [now_s, *game_ids])


def for_attention(db: Db, game_ids: list[int]) -> list[tuple[int, str, str, str]]:
    """(game, order, status, detail) of notifications a person must look at."""
    return [(int(r["game_id"]), str(r["order_id"]), str(r["status"]), str(r["detail"] or ""))
            for r in rows(db, "SELECT game_id, order_id, status, detail FROM notifications "
                          f"WHERE status IN ('conflict', 'unconfirmed') "
                          f"AND game_id IN ({marks(game_ids)}) ORDER BY received_s", game_ids)]


def record_notified_order(db: Db, order: Order, paytype: str, body: bytes,
                          now_s: int) -> NoteStatus | None:
    """Signature trust: record a verified notification and apply the order it tells of, in
    one transaction. The order never moves backwards (see merge_notification); one that would
    change the user or product of a known order is recorded as a conflict and not applied.
    Returns the notification's status (CONFIRMED: applied; CONFLICT), None when the same
    notification was recorded before.

    Raises a database error on database failure (nothing is written).
    """
    with db.atomic():
        known = orders.by_keys(db, [order.key])
        before = known[0] if known else None
        conflict = rewrites_history(before, order)
        status = NoteStatus.CONFLICT if conflict else NoteStatus.CONFIRMED
        if not record(db, order, paytype, body, now_s, status):
            return None
        if not conflict:
            orders.record(db, [merge_notification(before, order)], now_s)
        return status


def remember(db: Db, client_id: str, nonce: str, expires_at_s: int) -> bool:
    """Record a nonce; False when it was already used. Raises a database error."""
    with db.atomic():
        return bool(db.execute(
            "INSERT INTO nonces (client_id, nonce, expires_s) VALUES (?, ?, ?) "
            "ON CONFLICT (client_id, nonce) DO NOTHING",
            [client_id, nonce, expires_at_s]).rowcount == 1)


def nonce_seen(db: Db, client_id: str, nonce: str) -> bool:
    """True when this nonce of this client was already used."""
    return row(db, "SELECT 1 AS seen FROM nonces WHERE client_id = ? AND nonce = ?",
               [client_id, nonce]) is not None


def prune_nonces(db: Db, now_s: int) -> int:
    """Forget nonces whose window has passed; returns how many. Raises a database error."""
    with db.atomic():
        return int(db.execute("DELETE FROM nonces WHERE expires_s < ?", [now_s]).rowcount)
