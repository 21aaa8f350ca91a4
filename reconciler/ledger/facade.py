"""The Ledger: the books' one interface, each method handed to the room of its concern.

Rules: this class holds no SQL; its methods are the interface the engine, the daemon and the
faces use, on either engine (a SQLite file, or PostgreSQL when several daemons share the
books; `open` picks by location). Every method is `guarded`: a database failure leaves it as a
LedgerError (the transaction under way is rolled back), never as sqlite3's or psycopg's own
error. Time comes in as `now_s`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from reconciler.core.models import Order
from reconciler.core.notify import NoteStatus
from reconciler.core.plan import Action, LedgerOrder
from reconciler.core.states import EffectState
from reconciler.errors import LedgerError
from reconciler.ledger import (
    audit,
    counts,
    effects,
    gauges,
    inbox,
    links,
    orders,
    runs,
    story,
    transfer,
)
from reconciler.ledger.connection import Db, db_errors, guarded, open_db
from reconciler.ledger.effects import Effect, Outcome
from reconciler.ledger.links import LinkOutcome
from reconciler.ledger.orders import RecordFigures
from reconciler.ledger.problems import Problem, failed_keys, list_problems, requeue_attention

T = TypeVar("T")


class GroupBroken(LedgerError):
    """A group's transaction ended or aborted under one of its writes: none is durable."""


class Ledger:
    """The local books: orders seen, effects applied, runs, links, debts and the inbox."""

    def __init__(self, db: Db) -> None:
        self.db = db

    @classmethod
    def open(cls, location: str | Path, *, password: str | None = None) -> Ledger:
        """Open and migrate the ledger at `location`: a SQLite file (created with mode 0600;
        ":memory:" too) or a `postgresql://` URL (with `password`, if libpq has none).

        Raises ConfigError when the file cannot be created or is not a SQLite database, or
        the server cannot be reached or migrated.
        """
        return cls(open_db(location, password))

    @guarded
    def copy_books_from(self, source: Ledger) -> transfer.Transfer:
        """Copy `source`'s books into these (which must be empty) in one transaction, then
        compare counts and digests table by table (see ledger.transfer).
        Raises LedgerError when these books are not empty or a row cannot be copied."""
        return transfer.copy_books(source.db, self.db)

    @property
    def shared(self) -> bool:
        """True when several processes may share these books (PostgreSQL)."""
        return self.db.dialect.shared

    @guarded
    def close(self) -> None:
        """Close the connection. Raises LedgerError."""
        self.db.close()

    @guarded
    def integrity_ok(self) -> bool:
        """The engine's integrity check says ok. Raises LedgerError."""
        return self.db.integrity_ok()

    # -- orders ----------------------------------------------------------------------------
    @guarded
    def record_orders(self, batch: Sequence[Order], now_s: int) -> RecordFigures:
        """Insert new orders and update changed ones; unchanged ones are not written.
        Raises LedgerError (the chunk under way is rolled back)."""
        return orders.record(self.db, batch, now_s)

    @guarded
    def quarantine(self, game_id: int, raw: object, reason: str, now_s: int) -> None:
        """Keep a row that could not be parsed, with the reason. Raises LedgerError."""
        orders.quarantine(self.db, game_id, raw, reason, now_s)

    @guarded
    def set_adopted(self, game_id: int, order_id: str) -> None:
        """Record that the order was delivered elsewhere. Raises LedgerError."""
        orders.set_adopted(self.db, game_id, order_id)

    @guarded
    def set_attention(self, game_id: int, order_id: str, reason: str | None) -> None:
        """Set (or, with None, clear) why an order waits. Raises LedgerError."""
        orders.set_attention(self.db, game_id, order_id, reason)

    @guarded
    def view(self, game_ids: Iterable[int],
             keys: Iterable[tuple[int, str]] | None = None) -> dict[tuple[int, str], LedgerOrder]:
        """The plan's view of every order with an effect or a flag (limited to `keys` when
        given). Raises LedgerError."""
        return orders.view(self.db, game_ids, keys)

    @guarded
    def orders(self, keys: Iterable[tuple[int, str]]) -> list[Order]:
        """Orders as last recorded, for these keys (unknown keys are skipped).
        Raises LedgerError."""
        return orders.by_keys(self.db, keys)

    @guarded
    def order_count(self, game_id: int | None = None) -> int:
        """How many orders the ledger holds (for one game, or all). Raises LedgerError."""
        return orders.count(self.db, game_id)

    @guarded
    def unsettled_keys(self, game_ids: Iterable[int]) -> list[tuple[int, str]]:
        """Orders with an uncertain effect or waiting for attention (what a drain looks at).
        Raises LedgerError."""
        return orders.unsettled_keys(self.db, game_ids)

    @guarded
    def waiting_for_user(self, game_id: int, user_id: str) -> list[tuple[int, str]]:
        """Orders of a user that wait for a player link. Raises LedgerError."""
        return orders.waiting_for_user(self.db, game_id, user_id)

    # -- effects: one claim before the remote call, one settle after it --------------------
    @guarded
    def claim(self, action: Action, now_s: int) -> Effect | None:
        """Commit the intent of the action's effect in one transaction and return it with the
        payload first recorded; None when it is already done. On a shared ledger the order is
        held by this process from here until `release_order`.
        Raises InvariantError on an impossible transition, OrderBusy (a LedgerError) when
        another process holds the order, LedgerError."""
        return effects.claim(self.db, action, now_s)

    @guarded
    def release_order(self, game_id: int, order_id: str) -> None:
        """Let other processes act on the order again (its actions are over here).
        Raises LedgerError."""
        self.db.release_order(game_id, order_id)

    @guarded
    def settle(self, effect: Effect, outcome: Outcome, now_s: int) -> None:
        """Commit a claimed effect's outcome (with its debts) in one transaction.
        Raises InvariantError when the effect is not in flight, LedgerError."""
        effects.settle(self.db, effect, outcome, now_s)

    @guarded
    def effect(self, effect_id: str) -> Effect | None:
        """The effect row, or None. Raises LedgerError."""
        return effects.read(self.db, effect_id)

    @guarded
    def begin_effect(self, effect_id: str, kind: str, game_id: int, order_id: str,
                     player_id: str | None, payload: dict[str, Any], now_s: int) -> Effect:
        """`claim` from raw fields (tools and tests). Raises InvariantError on an impossible
        transition (e.g. an effect already done), LedgerError."""
        return effects.begin(self.db, effect_id, kind, game_id, order_id, player_id, payload,
                             now_s)

    @guarded
    def finish_effect(self, effect_id: str, state: EffectState, now_s: int, *,
                      response: dict[str, Any] | None = None, error: str | None = None) -> None:
        """`settle` from raw fields (tools and tests). Raises InvariantError when the effect
        is not in flight, LedgerError."""
        effects.finish(self.db, effect_id, state, now_s, response=response, error=error)

    @guarded
    def record_debt(self, debt_id: str, game_id: int, order_id: str, player_id: str,
                    kind: str, code: str, amount: int, now_s: int) -> None:
        """Record what a clawback could not take back (once per id). Raises LedgerError."""
        with self.db.atomic():
            effects.insert_debt(self.db, debt_id, game_id, order_id, player_id, kind, code,
                                amount, now_s)

    # -- links -----------------------------------------------------------------------------
    @guarded
    def link(self, game_id: int, user_id: str, player_id: str, now_s: int,
             source: str = "import") -> None:
        """Record (or replace) the PGOS player of a Jogos user. Raises LedgerError."""
        links.link_many(self.db, [(game_id, user_id, player_id)], now_s, source)

    @guarded
    def link_many(self, new_links: Iterable[tuple[int, str, str]], now_s: int,
                  source: str = "import") -> int:
        """Record (or replace) many links in one transaction; returns how many.
        Raises LedgerError."""
        return links.link_many(self.db, new_links, now_s, source)

    def link_checked(self, game_id: int, user_id: str, player_id: str, now_s: int, *,
                     source: str, allow_relink: bool) -> LinkOutcome:
        """Link a user unless it has another player (see links.link_checked).
        Raises LedgerError."""
        return links.link_checked(self.db, game_id, user_id, player_id, now_s, source=source,
                                  allow_relink=allow_relink)

    @guarded
    def links(self, game_ids: Iterable[int]) -> dict[tuple[int, str], str]:
        """Every link of these games. Raises LedgerError."""
        return links.links(self.db, game_ids)

    @contextmanager
    def grouped(self) -> Iterator[Callable[[Callable[[], T]], T]]:
        """One transaction around several ledger calls, each made through the `step` the block
        receives: a savepoint of its own (a failing call is rolled back alone and raises, and
        on PostgreSQL leaves the transaction usable), everything committed together at the end
        of the block (the executor's group commit). Should the transaction end or abort under
        a step (a full disk, a lost server), the step raises GroupBroken and nothing of the
        group is written.
        Raises LedgerError when the group cannot begin or commit (nothing of it is written)."""
        db = self.db

        def step(write: Callable[[], T]) -> T:
            try:
                try:
                    with db.atomic():
                        return write()
                finally:
                    if not db.transaction_usable():
                        raise GroupBroken("ledger: the group's transaction ended under a "
                                          "write; nothing of the group is written")
            except db_errors() as exc:
                raise LedgerError(f"ledger: grouped: {exc}") from exc

        try:
            with db.atomic():
                yield step
        except db_errors() as exc:
            raise LedgerError(f"ledger: grouped: {exc}") from exc

    @guarded
    def links_of(self, users: Iterable[tuple[int, str]]) -> dict[tuple[int, str], str]:
        """The links of these (game, user) pairs only. Raises LedgerError."""
        return links.links_of(self.db, users)

    @guarded
    def changed_orders(self, batch: Sequence[Order]) -> list[Order]:
        """The orders `record_orders` would write (new, or changed digest); reads only.
        Raises LedgerError."""
        return orders.changed(self.db, batch)

    # -- the inbox: notifications and nonces -----------------------------------------------
    @guarded
    def record_notification(self, told: Order, kind: str, body: bytes, now_s: int, *,
                            status: NoteStatus = NoteStatus.PENDING) -> bool:
        """Keep a verified notification durably; False when the same one was seen before.
        Raises LedgerError (nothing is written)."""
        return inbox.record(self.db, told, kind, body, now_s, status)

    @guarded
    def record_notified_order(self, order: Order, paytype: str, body: bytes,
                              now_s: int) -> NoteStatus | None:
        """Signature trust: record a notification and apply its order in one transaction
        (see inbox.record_notified_order). Raises LedgerError (nothing is written)."""
        return inbox.record_notified_order(self.db, order, paytype, body, now_s)

    @guarded
    def pending_notes(self, game_ids: list[int], limit: int = 1000) -> list[inbox.Note]:
        """Notifications still waiting for the store's confirmation, oldest first.
        Raises LedgerError."""
        return inbox.pending(self.db, game_ids, limit)

    @guarded
    def decide_notes(self, decisions: list[tuple[str, NoteStatus, str]], now_s: int) -> None:
        """Record what the store said of each waiting notification (see inbox.decide).
        Raises LedgerError."""
        inbox.decide(self.db, decisions, now_s)

    @guarded
    def decide_notes_from_orders(self, game_ids: list[int], now_s: int) -> None:
        """Confirm waiting notifications whose order the store's list now shows.
        Raises LedgerError."""
        inbox.decide_from_orders(self.db, game_ids, now_s)

    @guarded
    def remember(self, client_id: str, nonce: str, expires_at_s: int) -> bool:
        """NonceStore: record a nonce; False when it was already used (survives restarts).
        Raises LedgerError."""
        return inbox.remember(self.db, client_id, nonce, expires_at_s)

    @guarded
    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        """True when this nonce of this client was already used. Raises LedgerError."""
        return inbox.nonce_seen(self.db, client_id, nonce)

    @guarded
    def prune_nonces(self, now_s: int) -> int:
        """Forget nonces whose window has passed; returns how many. Raises LedgerError."""
        return inbox.prune_nonces(self.db, now_s)

    # -- runs ------------------------------------------------------------------------------
    @guarded
    def start_run(self, kind: str, now_s: int) -> int:
        """Record the start of a run; returns its id. Raises LedgerError."""
        return runs.start(self.db, kind, now_s)

    @guarded
    def finish_run(self, run_id: int, status: str, figures: dict[str, Any], now_s: int) -> None:
        """Record the end of a run with its figures. Raises LedgerError."""
        runs.finish(self.db, run_id, status, figures, now_s)

    @guarded
    def record_audit(self, figures: dict[str, Any], status: str, now_s: int) -> None:
        """Record an audit as a run (what /ops/audit/latest shows). Raises LedgerError."""
        runs.record(self.db, "audit", status, figures, now_s)

    @guarded
    def last_run_of_kind(self, kind: str) -> dict[str, Any] | None:
        """The latest finished run of this kind, or None. Raises LedgerError."""
        return runs.last_of_kind(self.db, kind)

    # -- read models -----------------------------------------------------------------------
    @guarded
    def story(self, game_id: int, order_id: str) -> dict[str, Any] | None:
        """Everything the ledger knows of one order (for the operations API), or None.
        Raises LedgerError."""
        return story.story(self.db, game_id, order_id)

    @guarded
    def problems(self, game_ids: Sequence[int], limit: int) -> tuple[list[Problem], int]:
        """The first `limit` things keeping these games from being settled (unsettled effects,
        orders waiting for attention, quarantined rows), each with its order id and cause, and
        how many there are in all. Raises LedgerError."""
        return list_problems(self.db, game_ids, limit)

    @guarded
    def requeue(self, game_ids: Sequence[int], order_ids: Sequence[str],
                kinds: Sequence[str], now_s: int) -> list[tuple[str, int, str]]:
        """The operator's retry: effects waiting for attention (in these games, orders, kinds;
        empty means all) become `failed`, for the next pass or drain to re-send; returns
        (effect id, game id, order id) of each. Raises LedgerError."""
        return requeue_attention(self.db, game_ids, order_ids, kinds, now_s)

    @guarded
    def failed_keys(self, game_ids: Sequence[int], order_ids: Sequence[str],
                    kinds: Sequence[str]) -> list[tuple[int, str]]:
        """Orders with an effect already `failed` (queued for the next pass) among these
        games, orders and kinds (empty means all). Raises LedgerError."""
        return failed_keys(self.db, game_ids, order_ids, kinds)

    @guarded
    def counts(self) -> dict[str, int]:
        """Row counts of every table (for summaries and tests). Raises LedgerError."""
        return counts.table_counts(self.db)

    @guarded
    def pending_counts(self, game_ids: list[int]) -> dict[str, int]:
        """What is not settled: effects by unsettled state, orders waiting for attention,
        quarantined rows. Raises LedgerError."""
        return counts.pending_counts(self.db, game_ids)

    @guarded
    def gauges(self) -> gauges.Gauges:
        """Quarantined rows, debts, notifications by status and the latest audit's counts
        (what /metrics shows; it reads them through `read_counts`). Raises LedgerError."""
        return gauges.read_gauges(self.db)

    @guarded
    def audit_rows(self, game_ids: list[int]) -> dict[str, Any]:
        """Everything the audit reads from the ledger, as core.audit values.
        Raises LedgerError."""
        return audit.audit_rows(self.db, game_ids)
