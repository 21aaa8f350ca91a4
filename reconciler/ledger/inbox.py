"""The inbox of notifications: recorded on arrival, decided once the store has spoken.

Rules: a notification is identified by the hash of its exact bytes (a duplicate writes
nothing); what it tells (user, product, pay time, refund status) is kept beside its status so
that the store's answer can be compared without parsing it again. Every function takes the
sqlite-utils Database and runs its own transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlite_utils import Database

from reconciler.core.models import Order, RefundStatus
from reconciler.core.notify import MAX_ATTEMPTS, NoteStatus


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


def record(db: Database, told: Order, kind: str, body: bytes, now_s: int,
           status: NoteStatus) -> bool:
    """Keep a verified notification; False when the same bytes were recorded before."""
    with db.atomic():
        cursor = db.execute(
            "INSERT OR IGNORE INTO notifications (id, game_id, order_id, paytype, body, "
            "received_s, status, attempts, user_id, product_id, pay_time_s, refund_status, "
            "decided_s) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
            [note_id(body), told.game_id, told.order_id, kind,
             body.decode("utf-8", "replace"), now_s, status.value, told.user_id,
             told.product_id, told.pay_time_s,
             None if told.refund_status is None else int(told.refund_status),
             None if status is NoteStatus.PENDING else now_s])
        return cursor.rowcount == 1


def pending(db: Database, game_ids: list[int], limit: int = 1000) -> list[Note]:
    """Notifications of these games still waiting for the store, oldest first."""
    marks = ",".join("?" * len(game_ids))
    rows = db.execute(
        "SELECT id, paytype, game_id, order_id, user_id, product_id, pay_time_s, "
        "refund_status, attempts FROM notifications "
        f"WHERE status = 'pending' AND game_id IN ({marks}) ORDER BY received_s LIMIT ?",
        [*game_ids, limit]).fetchall()
    return [Note(r[0], r[1], Order(r[2], r[3], r[4] or "", r[5] or "", False, r[6] or 0,
                                   None if r[7] is None else RefundStatus(r[7])), r[8] or 0)
            for r in rows]


def decide(db: Database, decisions: list[tuple[str, NoteStatus, str]], now_s: int) -> None:
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


def decide_from_orders(db: Database, game_ids: list[int], now_s: int) -> None:
    """After a pass recorded the store's orders: pending notifications whose order the store
    now lists are confirmed (or a conflict when its user or product differ; a refund waits
    for the store to say refunded)."""
    marks = ",".join("?" * len(game_ids))
    joined = (
        "FROM orders o WHERE o.game_id = notifications.game_id "
        "AND o.order_id = notifications.order_id")
    with db.atomic():
        db.execute(
            f"UPDATE notifications SET status = 'conflict', decided_s = ?, "
            f"detail = 'the store lists another user or product' "
            f"WHERE status = 'pending' AND game_id IN ({marks}) AND EXISTS (SELECT 1 {joined} "
            "AND (o.user_id != notifications.user_id "
            "OR o.product_id != notifications.product_id))", [now_s, *game_ids])
        db.execute(
            f"UPDATE notifications SET status = 'confirmed', decided_s = ?, detail = NULL "
            f"WHERE status = 'pending' AND game_id IN ({marks}) AND EXISTS (SELECT 1 {joined} "
            "AND (notifications.paytype != 'refund' OR o.refund_status = 1))",
            [now_s, *game_ids])


def for_attention(db: Database, game_ids: list[int]) -> list[tuple[int, str, str, str]]:
    """(game, order, status, detail) of notifications a person must look at."""
    marks = ",".join("?" * len(game_ids))
    return [(int(g), str(o), str(s), str(d or "")) for g, o, s, d in db.execute(
        "SELECT game_id, order_id, status, detail FROM notifications "
        f"WHERE status IN ('conflict', 'unconfirmed') AND game_id IN ({marks}) "
        "ORDER BY received_s", game_ids)]
