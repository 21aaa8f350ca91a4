"""The ledger's schema: ordered migrations, each applied in one transaction.

Rules: never edit a migration that has shipped; add a new one. Migration functions receive a
sqlite-utils Database and touch nothing else.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("reconciler")


@migrations()
def m001_initial(db: Database) -> None:
    """Orders, quarantined rows, effects, runs, player links and clawback debts."""
    db.table("orders").create(
        {
            "game_id": int, "order_id": str, "user_id": str, "product_id": str,
            "arrived_status": int, "pay_time_s": int, "refund_status": int,
            "refund_time_s": int, "digest": str, "first_seen_s": int, "changed_s": int,
            "adopted": int, "attention": str,
        },
        pk=("game_id", "order_id"),
        not_null={"game_id", "order_id", "digest", "first_seen_s", "changed_s"},
        defaults={"adopted": 0},
    )
    db.table("orders").create_index(["attention"])
    db.table("quarantine").create(
        {"id": str, "game_id": int, "raw": str, "reason": str, "first_seen_s": int,
         "last_seen_s": int, "times_seen": int},
        pk="id",
    )
    db.table("effects").create(
        {
            "id": str, "kind": str, "game_id": int, "order_id": str, "player_id": str,
            "state": str, "attempts": int, "payload": str, "response": str,
            "last_error": str, "created_s": int, "updated_s": int,
        },
        pk="id",
        not_null={"kind", "game_id", "order_id", "state", "attempts"},
    )
    db.table("effects").create_index(["state"])
    db.table("effects").create_index(["game_id", "order_id"])
    db.table("runs").create(
        {"id": int, "kind": str, "started_s": int, "finished_s": int, "status": str,
         "figures": str},
        pk="id",
    )
    db.table("links").create(
        {"game_id": int, "user_id": str, "player_id": str, "linked_s": int, "source": str},
        pk=("game_id", "user_id"),
    )
    db.table("debts").create(
        {"id": str, "game_id": int, "order_id": str, "player_id": str, "kind": str,
         "code": str, "amount": int, "created_s": int},
        pk="id",
    )


@migrations()
def m002_daemon(db: Database) -> None:
    """Jogos notifications received, and service-to-service nonces (replays refused across
    restarts)."""
    db.table("notifications").create(
        {"id": str, "game_id": int, "order_id": str, "paytype": str, "body": str,
         "received_s": int, "settled_s": int},
        pk="id",
    )
    db.table("notifications").create_index(["game_id", "order_id"])
    db.table("nonces").create(
        {"client_id": str, "nonce": str, "expires_s": int}, pk=("client_id", "nonce"),
    )
    db.table("nonces").create_index(["expires_s"])


@migrations()
def m003_notification_inbox(db: Database) -> None:
    """Notifications wait for the store's confirmation: what each told, its status
    (pending -> confirmed | conflict | unconfirmed), attempts to find it in getOrders.
    Notifications recorded before this migration were applied on their signature: confirmed."""
    table = db.table("notifications")
    for column, kind in (("status", str), ("attempts", int), ("user_id", str),
                         ("product_id", str), ("pay_time_s", int), ("refund_status", int),
                         ("detail", str), ("decided_s", int)):
        table.add_column(column, kind)
    db.execute("UPDATE notifications SET status = 'confirmed', attempts = 0")
    table.create_index(["status"])
