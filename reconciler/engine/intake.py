"""What comes in from outside a pass: a verified notification, a player link.

Rules: the daemon's handlers call these instead of writing to the ledger; each records in one
ledger call and says what should follow (a store confirmation, orders to settle), which the
caller runs in the background after answering. Nothing here waits for a remote system.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.core.models import Order
from reconciler.core.notify import NoteStatus, Trust
from reconciler.engine.passes import Engine
from reconciler.ledger.inbox import Note, note_id
from reconciler.ledger.links import LinkOutcome


@dataclass(frozen=True)
class Intake:
    """What became of a verified notification, and the work that follows it."""

    status: NoteStatus | None  # None: the same bytes were recorded before (a duplicate)
    note: Note | None = None  # PENDING: to be looked up in the store
    settle: list[Order] = field(default_factory=list)  # applied at once: to settle


def take_in_notification(engine: Engine, told: Order, kind: str, body: bytes,
                         trust: Trust) -> Intake:
    """Record a verified notification (`body`, the exact bytes) of the order it tells of.

    With `Trust.STORE` it waits for the store (PENDING, with the note to confirm); with
    `Trust.SIGNATURE` the order is applied at once (CONFIRMED, with the order as recorded to
    settle) unless it would rewrite a known order (CONFLICT, nothing to settle).
    Raises LedgerError when it cannot be recorded (nothing is written).
    """
    ledger, now = engine.ledger, int(engine.clock())
    if trust is Trust.STORE:
        if not ledger.record_notification(told, kind, body, now):
            return Intake(None)
        return Intake(NoteStatus.PENDING, note=Note(note_id(body), kind, told, 0))
    status = ledger.record_notified_order(told, kind, body, now)
    if status is NoteStatus.CONFIRMED:
        return Intake(status, settle=ledger.orders([told.key]))  # merged with what was known
    return Intake(status)


def link_user(engine: Engine, game_id: int, user_id: str, player_id: str, *, source: str,
              allow_relink: bool) -> tuple[LinkOutcome, list[Order]]:
    """Link a verified Jogos user to a PGOS player (see ledger.links.link_checked); returns
    the outcome and the user's orders that waited for a player (none after a CONFLICT).

    Raises LedgerError when the link cannot be recorded (nothing is written).
    """
    ledger = engine.ledger
    outcome = ledger.link_checked(game_id, user_id, player_id, int(engine.clock()),
                                  source=source, allow_relink=allow_relink)
    if outcome is LinkOutcome.CONFLICT:
        return outcome, []
    return outcome, ledger.orders(ledger.waiting_for_user(game_id, user_id))
