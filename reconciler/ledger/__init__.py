"""The ledger: the only code that touches SQLite.

Rules: the database file is created with mode 0600, in WAL mode with a busy timeout; its schema
changes only through `migrations`. Every write is a short transaction; an effect's intent is
committed before its remote call and its outcome after it. Secrets are never written here.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from reconciler import private_files
from reconciler.core.audit import EffectRow, LedgerOrderRow
from reconciler.core.models import Order, RefundStatus, merge_notification
from reconciler.core.notify import NoteStatus, rewrites_history
from reconciler.core.plan import LedgerOrder
from reconciler.core.states import EffectState, check_transition
from reconciler.errors import ConfigError
from reconciler.ledger import inbox
from reconciler.ledger.counts import LedgerCounts as LedgerCounts
from reconciler.ledger.counts import read_counts as read_counts
from reconciler.ledger.migrations import migrations

BUSY_TIMEOUT_MS = 10_000
SIDE_FILES = ("-wal", "-shm")  # SQLite's companions of the ledger file
CHUNK = 500


@dataclass(frozen=True, slots=True)
class RecordFigures:
    """What recording a batch of orders changed."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class Effect:
    """One effect row."""

    id: str
    kind: str
    game_id: int
    order_id: str
    player_id: str | None
    state: EffectState
    attempts: int
    payload: dict[str, Any]
    response: dict[str, Any] | None
    last_error: str | None


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _group(orders: Sequence[tuple[int, str]]) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for game_id, order_id in orders:
        groups.setdefault(game_id, []).append(order_id)
    return groups


def create_private_file(path: Path) -> None:
    """Create `path` (and its folder) with mode 0600; tighten it, its -wal and its -shm to
    0600 (with a warning) when they exist with a looser mode.

    Raises ConfigError when the folder or the file cannot be created or tightened.
    """
    private_files.create_private(path)
    for suffix in SIDE_FILES:
        private_files.tighten(Path(f"{path}{suffix}"))


DatabaseError = sqlite3.Error  # what callers outside ledger/ catch


class Ledger:
    """The local books: orders seen, effects applied, runs, links and debts."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, path: str | Path) -> Ledger:
        """Open (creating with mode 0600) and migrate the ledger at `path`.

        Raises ConfigError when the file cannot be created or is not a SQLite database.
        """
        path = Path(path)
        if str(path) != ":memory:":
            create_private_file(path)
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            db = Database(conn)
            migrations.apply(db)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"ledger {path}: not a usable SQLite database: {exc}") from exc
        if str(path) != ":memory:":  # SQLite made -wal and -shm like the file: make sure
            for suffix in SIDE_FILES:
                private_files.tighten(Path(f"{path}{suffix}"))
        return cls(db)

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    # -- orders -----------------------------------------------------------------------------
    def record_orders(self, orders: Sequence[Order], now_s: int) -> RecordFigures:
        """Insert new orders and update changed ones; unchanged ones are not written.

        Raises sqlite3.Error on database failure (the batch is rolled back).
        """
        new = changed = 0
        for chunk in _chunks(orders):
            by_game: dict[int, list[Order]] = {}
            for order in chunk:
                by_game.setdefault(order.game_id, []).append(order)
            writes: list[tuple[Order, bool]] = []
            for game_id, group in by_game.items():
                marks = ",".join("?" * len(group))
                known = dict(self.db.execute(
                    f"SELECT order_id, digest FROM orders WHERE game_id = ? "
                    f"AND order_id IN ({marks})",
                    [game_id, *(o.order_id for o in group)],
                ).fetchall())
                for order in group:
                    digest = known.get(order.order_id)
                    if digest is None:
                        writes.append((order, True))
                    elif digest != order.digest():
                        writes.append((order, False))
            if not writes:
                continue
            with self.db.atomic():
                for order, is_new in writes:
                    self.db.execute(
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
                    if is_new:
                        new += 1
                    else:
                        changed += 1
        return RecordFigures(new, changed, len(orders) - new - changed)

    def quarantine(self, game_id: int, raw: object, reason: str, now_s: int) -> None:
        """Keep a row that could not be parsed, with the reason; counted once per content."""
        text = json.dumps(raw, sort_keys=True, default=str)[:10_000]
        row_id = hashlib.blake2b(f"{game_id}|{text}".encode(), digest_size=12).hexdigest()
        with self.db.atomic():
            self.db.execute(
                """INSERT INTO quarantine (id, game_id, raw, reason, first_seen_s, last_seen_s,
                     times_seen) VALUES (?, ?, ?, ?, ?, ?, 1)
                   ON CONFLICT (id) DO UPDATE SET last_seen_s = excluded.last_seen_s,
                     times_seen = times_seen + 1, reason = excluded.reason""",
                [row_id, game_id, text, reason, now_s, now_s],
            )

    def set_adopted(self, game_id: int, order_id: str) -> None:
        """Record that the order was delivered elsewhere (adopted, never granted by us); it no
        longer waits for attention."""
        with self.db.atomic():
            self.db.execute("UPDATE orders SET adopted = 1, attention = NULL "
                            "WHERE game_id = ? AND order_id = ?",
                            [game_id, order_id])

    def set_attention(self, game_id: int, order_id: str, reason: str | None) -> None:
        """Set (or, with None, clear) why an order waits for a person or a change."""
        with self.db.atomic():
            self.db.execute("UPDATE orders SET attention = ? WHERE game_id = ? AND order_id = ?",
                            [reason, game_id, order_id])

    def view(self, game_ids: Iterable[int],
             keys: Iterable[tuple[int, str]] | None = None) -> dict[tuple[int, str], LedgerOrder]:
        """The ledger's view of every order that has an effect or a flag, for the plan
        (limited to `keys` when given)."""
        games = list(game_ids)
        if keys is None:
            marks = ",".join("?" * len(games))
            effects = self.db.execute(
                f"SELECT kind, game_id, order_id, state FROM effects WHERE game_id IN ({marks})",
                games)
            flags = self.db.execute(
                f"SELECT game_id, order_id, adopted, attention FROM orders "
                f"WHERE game_id IN ({marks}) AND (adopted = 1 OR attention IS NOT NULL)", games)
            return self._view(effects, flags)
        result: dict[tuple[int, str], LedgerOrder] = {}
        for chunk in _chunks(list(keys)):
            for game_id, group in _group(chunk).items():
                marks = ",".join("?" * len(group))
                effects = self.db.execute(
                    "SELECT kind, game_id, order_id, state FROM effects WHERE game_id = ? "
                    f"AND order_id IN ({marks})", [game_id, *group])
                flags = self.db.execute(
                    "SELECT game_id, order_id, adopted, attention FROM orders WHERE game_id = ? "
                    f"AND order_id IN ({marks}) AND (adopted = 1 OR attention IS NOT NULL)",
                    [game_id, *group])
                result.update(self._view(effects, flags))
        return result

    @staticmethod
    def _view(effects: Iterable[Any], flags: Iterable[Any]) -> dict[tuple[int, str], LedgerOrder]:
        states: dict[tuple[int, str], dict[str, Any]] = {}
        for kind, game_id, order_id, state in effects:
            states.setdefault((game_id, order_id), {})[kind] = EffectState(state)
        for game_id, order_id, adopted, attention in flags:
            entry = states.setdefault((game_id, order_id), {})
            entry["adopted"] = bool(adopted)
            entry["attention"] = attention
        return {key: LedgerOrder(**fields) for key, fields in states.items()}

    def order_count(self, game_id: int | None = None) -> int:
        """How many orders the ledger holds (for one game, or all)."""
        if game_id is None:
            return int(self.db.execute("SELECT count(*) FROM orders").fetchone()[0])
        return int(self.db.execute("SELECT count(*) FROM orders WHERE game_id = ?",
                                   [game_id]).fetchone()[0])

    # -- effects ----------------------------------------------------------------------------
    def effect(self, effect_id: str) -> Effect | None:
        """The effect row, or None."""
        row = self.db.execute(
            "SELECT id, kind, game_id, order_id, player_id, state, attempts, payload, response,"
            " last_error FROM effects WHERE id = ?", [effect_id],
        ).fetchone()
        if row is None:
            return None
        return Effect(row[0], row[1], row[2], row[3], row[4], EffectState(row[5]), row[6],
                      json.loads(row[7] or "{}"), json.loads(row[8]) if row[8] else None,
                      row[9])

    def begin_effect(self, effect_id: str, kind: str, game_id: int, order_id: str,
                     player_id: str | None, payload: dict[str, Any], now_s: int) -> Effect:
        """Commit the intent: the effect is in flight, one more attempt. The payload of an
        existing effect is kept (a re-send must send the same thing).

        Raises InvariantError on an impossible transition (e.g. an effect already done).
        """
        with self.db.atomic():
            current = self.effect(effect_id)
            check_transition(effect_id, current.state if current else None,
                             EffectState.IN_FLIGHT, kind=kind)
            if current is None:
                self.db.execute(
                    """INSERT INTO effects (id, kind, game_id, order_id, player_id, state,
                         attempts, payload, created_s, updated_s)
                       VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)""",
                    [effect_id, kind, game_id, order_id, player_id, EffectState.IN_FLIGHT.value,
                     json.dumps(payload, sort_keys=True), now_s, now_s],
                )
            else:
                self.db.execute(
                    "UPDATE effects SET state = ?, attempts = attempts + 1, updated_s = ? "
                    "WHERE id = ?", [EffectState.IN_FLIGHT.value, now_s, effect_id],
                )
            effect = self.effect(effect_id)
            assert effect is not None
            return effect

    def finish_effect(self, effect_id: str, state: EffectState, now_s: int, *,
                      response: dict[str, Any] | None = None, error: str | None = None) -> None:
        """Commit the outcome of an effect in flight.

        Raises InvariantError when the effect is not in flight.
        """
        with self.db.atomic():
            current = self.effect(effect_id)
            check_transition(effect_id, current.state if current else None, state)
            self.db.execute(
                "UPDATE effects SET state = ?, response = coalesce(?, response), last_error = ?,"
                " updated_s = ? WHERE id = ?",
                [state.value, json.dumps(response, sort_keys=True) if response is not None
                 else None, error, now_s, effect_id],
            )

    # -- links, debts, runs -----------------------------------------------------------------
    def link(self, game_id: int, user_id: str, player_id: str, now_s: int,
             source: str = "import") -> None:
        """Record (or replace) the PGOS player of a Jogos user."""
        self.link_many([(game_id, user_id, player_id)], now_s, source)

    def link_many(self, links: Iterable[tuple[int, str, str]], now_s: int,
                  source: str = "import") -> int:
        """Record (or replace) many links in one transaction; returns how many."""
        rows = [{"game_id": g, "user_id": u, "player_id": p, "linked_s": now_s,
                 "source": source} for g, u, p in links]
        with self.db.atomic():
            self.db.table("links").upsert_all(rows, pk=("game_id", "user_id"))
        return len(rows)

    def links(self, game_ids: Iterable[int]) -> dict[tuple[int, str], str]:
        """Every link of these games."""
        games = list(game_ids)
        marks = ",".join("?" * len(games))
        return {(g, u): p for g, u, p in self.db.execute(
            f"SELECT game_id, user_id, player_id FROM links WHERE game_id IN ({marks})",
            games)}

    def record_debt(self, debt_id: str, game_id: int, order_id: str, player_id: str,
                    kind: str, code: str, amount: int, now_s: int) -> None:
        """Record what a clawback could not take back (once per id)."""
        with self.db.atomic():
            self.db.execute(
                "INSERT OR IGNORE INTO debts (id, game_id, order_id, player_id, kind, code, "
                "amount, created_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [debt_id, game_id, order_id, player_id, kind, code, amount, now_s],
            )

    def start_run(self, kind: str, now_s: int) -> int:
        """Record the start of a run; returns its id."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO runs (kind, started_s, status) VALUES (?, ?, 'running')",
                [kind, now_s])
            return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, figures: dict[str, Any], now_s: int) -> None:
        """Record the end of a run with its figures."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE runs SET finished_s = ?, status = ?, figures = ? WHERE id = ?",
                [now_s, status, json.dumps(figures, sort_keys=True), run_id])

    def counts(self) -> dict[str, int]:
        """Row counts of every table (for summaries and tests)."""
        return {name: int(self.db.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
                for name in ("orders", "quarantine", "effects", "runs", "links", "debts")}

    # -- daemon: notifications, nonces, orders from the ledger ------------------------------
    def record_notification(self, told: Order, kind: str, body: bytes, now_s: int, *,
                            status: NoteStatus = NoteStatus.PENDING) -> bool:
        """Keep a verified notification durably; False when the same one was seen before.

        Raises sqlite3.Error when the database fails (nothing is written).
        """
        return inbox.record(self.db, told, kind, body, now_s, status)

    def pending_notes(self, game_ids: list[int], limit: int = 1000) -> list[inbox.Note]:
        """Notifications still waiting for the store's confirmation, oldest first."""
        return inbox.pending(self.db, game_ids, limit)

    def decide_notes(self, decisions: list[tuple[str, NoteStatus, str]], now_s: int) -> None:
        """Record what the store said of each waiting notification (see inbox.decide)."""
        inbox.decide(self.db, decisions, now_s)

    def decide_notes_from_orders(self, game_ids: list[int], now_s: int) -> None:
        """Confirm waiting notifications whose order the store's list now shows."""
        inbox.decide_from_orders(self.db, game_ids, now_s)

    def remember(self, client_id: str, nonce: str, expires_at_s: int) -> bool:
        """NonceStore: record a nonce; False when it was already used (survives restarts)."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO nonces (client_id, nonce, expires_s) VALUES (?, ?, ?)",
                [client_id, nonce, expires_at_s])
            return cursor.rowcount == 1

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        """True when this nonce of this client was already used."""
        return self.db.execute("SELECT 1 FROM nonces WHERE client_id = ? AND nonce = ?",
                               [client_id, nonce]).fetchone() is not None

    def prune_nonces(self, now_s: int) -> int:
        """Forget nonces whose window has passed; returns how many."""
        with self.db.atomic():
            return self.db.execute("DELETE FROM nonces WHERE expires_s < ?", [now_s]).rowcount

    def orders(self, keys: Iterable[tuple[int, str]]) -> list[Order]:
        """Orders as last recorded, for these keys (unknown keys are skipped)."""
        found: list[Order] = []
        wanted = list(keys)
        for chunk in _chunks(wanted):
            for game_id, group in _group(chunk).items():
                marks = ",".join("?" * len(group))
                for row in self.db.execute(
                    "SELECT game_id, order_id, user_id, product_id, arrived_status, pay_time_s,"
                    " refund_status, refund_time_s FROM orders WHERE game_id = ? AND order_id "
                    f"IN ({marks})", [game_id, *group],
                ):
                    found.append(Order(row[0], row[1], row[2], row[3], bool(row[4]), row[5],
                                       None if row[6] is None else RefundStatus(row[6]),
                                       row[7]))
        return found

    def unsettled_keys(self, game_ids: Iterable[int]) -> list[tuple[int, str]]:
        """Orders with an effect not done or an attention reason (what a drain looks at)."""
        games = list(game_ids)
        marks = ",".join("?" * len(games))
        rows = self.db.execute(
            f"SELECT game_id, order_id FROM effects WHERE game_id IN ({marks}) "
            "AND state IN ('failed', 'in_flight', 'planned') UNION "
            f"SELECT game_id, order_id FROM orders WHERE game_id IN ({marks}) "
            "AND attention IS NOT NULL AND adopted = 0", [*games, *games])
        return [(g, o) for g, o in rows]

    def waiting_for_user(self, game_id: int, user_id: str) -> list[tuple[int, str]]:
        """Orders of a user that wait for a player link."""
        return [(game_id, o) for (o,) in self.db.execute(
            "SELECT order_id FROM orders WHERE game_id = ? AND user_id = ? "
            "AND attention = 'unlinked_player'", [game_id, user_id])]

    def last_run_of_kind(self, kind: str) -> dict[str, Any] | None:
        """The latest finished run of this kind, or None."""
        row = self.db.execute(
            "SELECT id FROM runs WHERE kind = ? AND finished_s IS NOT NULL ORDER BY id DESC "
            "LIMIT 1", [kind]).fetchone()
        if row is None:
            return None
        return self._run(row[0])

    def _run(self, run_id: int) -> dict[str, Any]:
        row = self.db.execute("SELECT id, kind, started_s, finished_s, status, figures "
                              "FROM runs WHERE id = ?", [run_id]).fetchone()
        return {"id": row[0], "kind": row[1], "started_s": row[2], "finished_s": row[3],
                "status": row[4], "figures": json.loads(row[5]) if row[5] else {}}

    def story(self, game_id: int, order_id: str) -> dict[str, Any] | None:
        """Everything the ledger knows of one order (for the operations API)."""
        row = self.db.execute(
            "SELECT * FROM orders WHERE game_id = ? AND order_id = ?", [game_id, order_id]
        ).fetchone()
        if row is None:
            return None
        columns = [d[0] for d in self.db.execute("SELECT * FROM orders LIMIT 0").description]
        effects = [e for e in (self.effect(f"{kind}:{game_id}:{order_id}")
                               for kind in ("grant", "arrived", "revoke")) if e is not None]
        notes = self.db.execute(
            "SELECT paytype, received_s, status, detail FROM notifications "
            "WHERE game_id = ? AND order_id = ? ORDER BY received_s", [game_id, order_id]
        ).fetchall()
        return {
            "order": dict(zip(columns, row, strict=True)),
            "effects": [{"id": e.id, "state": e.state.value, "attempts": e.attempts,
                         "player_id": e.player_id, "payload": e.payload,
                         "response": e.response, "last_error": e.last_error} for e in effects],
            "notifications": [{"paytype": p, "received_s": r, "status": st, "detail": d}
                              for p, r, st, d in notes],
        }

    def pending_counts(self, game_ids: list[int]) -> dict[str, int]:
        """What is not settled: effects failed, in flight or in attention, orders waiting for
        attention, quarantined rows."""
        marks = ",".join("?" * len(game_ids))
        counts = {state: 0 for state in ("failed", "in_flight", "attention")}
        for state, n in self.db.execute(
            f"SELECT state, count(*) FROM effects WHERE game_id IN ({marks}) "
            "AND state IN ('failed', 'in_flight', 'attention') GROUP BY state", game_ids,
        ):
            counts[state] = n
        counts["orders_attention"] = self.db.execute(
            f"SELECT count(*) FROM orders WHERE game_id IN ({marks}) "
            "AND attention IS NOT NULL AND adopted = 0", game_ids).fetchone()[0]
        counts["quarantined"] = self.db.execute(
            f"SELECT count(*) FROM quarantine WHERE game_id IN ({marks})",
            game_ids).fetchone()[0]
        return counts

    def effect_counts(self) -> list[tuple[str, str, int]]:
        """(kind, state, count) of every effect (for metrics)."""
        return [(k, st, n) for k, st, n in self.db.execute(
            "SELECT kind, state, count(*) FROM effects GROUP BY kind, state")]

    def attention_count(self) -> int:
        """Orders waiting for a person or a change (not adopted)."""
        return int(self.db.execute(
            "SELECT count(*) FROM orders WHERE attention IS NOT NULL AND adopted = 0"
        ).fetchone()[0])

    def record_notified_order(self, order: Order, paytype: str, body: bytes,
                              now_s: int) -> NoteStatus | None:
        """Signature trust: record a verified notification and apply the order it tells of,
        in one transaction. The order never moves backwards (see merge_notification); one
        that would change the user or product of a known order is recorded as a conflict and
        not applied. Returns the notification's status (CONFIRMED: applied; CONFLICT), None
        when the same notification was recorded before.

        Raises sqlite3.Error when the database fails (nothing is written).
        """
        with self.db.atomic():
            known = self.orders([order.key])
            conflict = rewrites_history(known[0] if known else None, order)
            status = NoteStatus.CONFLICT if conflict else NoteStatus.CONFIRMED
            if not self.record_notification(order, paytype, body, now_s, status=status):
                return None
            if not conflict:
                self.record_orders([merge_notification(known[0] if known else None, order)],
                                   now_s)
            return status

    # -- audit ------------------------------------------------------------------------------
    def audit_rows(self, game_ids: list[int]) -> dict[str, Any]:
        """Everything the audit reads from the ledger, as core.audit values."""
        marks = ",".join("?" * len(game_ids))
        orders = {}
        for row in self.db.execute(
            "SELECT game_id, order_id, user_id, product_id, arrived_status, pay_time_s, "
            "refund_status, refund_time_s, adopted, attention FROM orders "
            f"WHERE game_id IN ({marks})", game_ids,
        ):
            order = Order(row[0], row[1], row[2], row[3], bool(row[4]), row[5],
                          None if row[6] is None else RefundStatus(row[6]), row[7])
            orders[order.key] = LedgerOrderRow(order, bool(row[8]), row[9])
        effects = []
        for row in self.db.execute(
            "SELECT kind, game_id, order_id, state, attempts, player_id, response, created_s, "
            f"updated_s, last_error FROM effects WHERE game_id IN ({marks})", game_ids,
        ):
            response = json.loads(row[6]) if row[6] else {}
            instances = tuple(str(i) for i in response.get("instances", []))
            effects.append(EffectRow(row[0], row[1], row[2], EffectState(row[3]), row[4],
                                     row[5], instances, row[7] or 0, row[8] or 0, row[9]))
        debts = [tuple(r) for r in self.db.execute(
            f"SELECT game_id, order_id, kind, code, amount FROM debts WHERE game_id IN ({marks})",
            game_ids)]
        quarantined = [tuple(r) for r in self.db.execute(
            f"SELECT game_id, reason, first_seen_s FROM quarantine WHERE game_id IN ({marks})",
            game_ids)]
        interrupted = [tuple(r) for r in self.db.execute(
            "SELECT id, started_s FROM runs WHERE status = 'running' AND id < "
            "(SELECT coalesce(max(id), 0) FROM runs)")]
        latest = self.db.execute(
            "SELECT max(t) FROM (SELECT max(changed_s) AS t FROM orders UNION ALL "
            "SELECT max(updated_s) FROM effects)").fetchone()[0]
        return {"ledger": orders, "effects": effects, "debts": debts,
                "quarantined": quarantined, "interrupted_runs": interrupted,
                "latest_s": int(latest or 0)}

    def record_audit(self, figures: dict[str, Any], status: str, now_s: int) -> None:
        """Record an audit as a run (what /ops/audit/latest shows)."""
        run_id = self.start_run("audit", now_s)
        self.finish_run(run_id, status, figures, now_s)

    def integrity_ok(self) -> bool:
        """PRAGMA integrity_check says ok."""
        return bool(self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
