"""Effects: one conversation each with the ledger, `claim` before the remote call and `settle`
after it.

Rules: `claim` is one transaction that reads the effect's row once (a revocation's grant in the
same statement), checks the transition against core.states, and commits the intent (in
flight, one more attempt) before anything is sent; the payload first recorded is the one
returned ever after, so a re-send after a crash sends the same thing. `settle` is one
transaction that writes the outcome, the debts it leaves and, for a grant done, clears the
order's attention; it reads nothing when the effect is in flight as it must be. Every function
takes the ledger's Db (SQLite or PostgreSQL); rows are mapped by column name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from reconciler.core.models import effect_id as make_effect_id
from reconciler.core.plan import Action, ActionKind
from reconciler.core.states import EffectState, allowed, check_transition, sources
from reconciler.errors import InvariantError, LedgerError
from reconciler.ledger.connection import Db, Row, marks, row, rows
from reconciler.ledger.orders import write_attention

S = EffectState
EFFECT_COLUMNS = ("id, kind, game_id, order_id, player_id, state, attempts, payload, response, "
                  "last_error")


class OrderBusy(LedgerError):
    """Another process holds the order (a shared ledger): its effects are not claimed here;
    whoever holds it settles them, or the next pass does once it is let go."""


@dataclass(frozen=True, slots=True)
class Effect:
    """One effect row (a revocation claimed also carries the grant it takes back)."""

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
    grant: Effect | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of an effect's remote call: its state, what to record, what is owed."""

    state: EffectState
    response: dict[str, Any] | None = None
    error: str | None = None
    debts: tuple[Mapping[str, Any], ...] = ()  # each {kind, code, amount, ...}


def effect_of(found: Row) -> Effect:
    """The Effect of a row read with EFFECT_COLUMNS."""
    return Effect(found["id"], found["kind"], found["game_id"], found["order_id"],
                  found["player_id"], EffectState(found["state"]), found["attempts"],
                  json.loads(found["payload"] or "{}"),
                  json.loads(found["response"]) if found["response"] else None,
                  found["last_error"])


def read(db: Db, effect_id: str) -> Effect | None:
    """The effect row, or None."""
    found = row(db, f"SELECT {EFFECT_COLUMNS} FROM effects WHERE id = ?", [effect_id])
    return None if found is None else effect_of(found)


def claim(db: Db, action: Action, now_s: int) -> Effect | None:
    """Commit the intent of the action's effect, in one transaction; None when it is already
    done (someone settled it since the plan was made). A revocation's grant is returned with
    it (`Effect.grant`).

    Raises InvariantError on an impossible transition, a revocation whose grant is not done,
    or a new grant the plan did not resolve; OrderBusy when another process holds the order
    (a shared ledger); a database error on database failure.
    """
    kind, order = action.kind.value, action.order
    grant_id = (make_effect_id("grant", order.game_id, order.order_id)
                if action.kind is ActionKind.REVOKE else None)
    wanted = [action.effect_id] if grant_id is None else [action.effect_id, grant_id]
    with db.atomic():  # holding the order too: a failure there undoes only this claim
        if not db.hold_order(order.game_id, order.order_id):
            raise OrderBusy(f"order {order.game_id}/{order.order_id} is being settled "
                            "elsewhere")
        found = {r["id"]: effect_of(r) for r in rows(
            db, f"SELECT {EFFECT_COLUMNS} FROM effects WHERE id IN ({marks(wanted)})", wanted)}
        current = found.get(action.effect_id)
        if current is not None and current.state is S.DONE and not allowed(
                S.DONE, S.IN_FLIGHT, kind=kind):
            return None
        grant = None if grant_id is None else found.get(grant_id)
        if grant_id is not None and (grant is None or grant.state is not S.DONE):
            raise InvariantError(f"revoke of {order.order_id} before its grant is done")
        player = grant.player_id if grant is not None else action.player_id
        claimed = _begin(db, action.effect_id, current, kind, order.game_id, order.order_id,
                         player, action.payload, now_s)
        return replace(claimed, grant=grant)


def begin(db: Db, effect_id: str, kind: str, game_id: int, order_id: str,
          player_id: str | None, payload: dict[str, Any], now_s: int) -> Effect:
    """`claim` from raw fields (tools and tests): commit the intent; the payload of an existing
    effect is kept.

    Raises InvariantError on an impossible transition (e.g. an effect already done);
    a database error on database failure.
    """
    with db.atomic():
        return _begin(db, effect_id, read(db, effect_id), kind, game_id, order_id, player_id,
                      lambda: payload, now_s)


def _begin(db: Db, effect_id: str, current: Effect | None, kind: str, game_id: int,
           order_id: str, player_id: str | None, payload: Callable[[], dict[str, Any]],
           now_s: int) -> Effect:
    check_transition(effect_id, current.state if current else None, S.IN_FLIGHT, kind=kind)
    if current is not None:
        db.execute("UPDATE effects SET state = ?, attempts = attempts + 1, updated_s = ? "
                   "WHERE id = ?", [S.IN_FLIGHT.value, now_s, effect_id])
        return replace(current, state=S.IN_FLIGHT, attempts=current.attempts + 1)
    first = payload()
    db.execute(
        """INSERT INTO effects (id, kind, game_id, order_id, player_id, state,
             attempts, payload, created_s, updated_s)
           VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)""",
        [effect_id, kind, game_id, order_id, player_id, S.IN_FLIGHT.value,
         json.dumps(first, sort_keys=True), now_s, now_s],
    )
    return Effect(effect_id, kind, game_id, order_id, player_id, S.IN_FLIGHT, 1, first, None,
                  None)


def settle(db: Db, effect: Effect, outcome: Outcome, now_s: int) -> None:
    """Commit the outcome of a claimed effect, its debts and (a grant done) the order's
    cleared attention, in one transaction.

    Raises InvariantError when the effect is not in flight; a database error on failure.
    """
    with db.atomic():
        _finish(db, effect.id, outcome.state, outcome.response, outcome.error, now_s)
        for index, debt in enumerate(outcome.debts):
            insert_debt(db, f"{effect.id}:{index}", effect.game_id, effect.order_id,
                        str(effect.player_id), str(debt["kind"]), str(debt["code"]),
                        int(debt["amount"]), now_s)
        if effect.kind == ActionKind.GRANT.value and outcome.state is S.DONE:
            write_attention(db, effect.game_id, effect.order_id, None)


def finish(db: Db, effect_id: str, state: EffectState, now_s: int, *,
           response: dict[str, Any] | None = None, error: str | None = None) -> None:
    """`settle` from raw fields (tools and tests): the outcome alone.

    Raises InvariantError when the effect is not in flight; a database error on failure.
    """
    with db.atomic():
        _finish(db, effect_id, state, response, error, now_s)


def _finish(db: Db, effect_id: str, state: EffectState,
            response: dict[str, Any] | None, error: str | None, now_s: int) -> None:
    """Write the outcome where the stored state may move to `state` (the table's sources);
    only when it may not is the row read, to say why."""
    origins = sources(state)
    written = db.execute(
        "UPDATE effects SET state = ?, response = coalesce(?, response), last_error = ?, "
        f"updated_s = ? WHERE id = ? AND state IN ({marks(origins)})",
        [state.value, None if response is None else json.dumps(response, sort_keys=True),
         error, now_s, effect_id, *(s.value for s in origins)]).rowcount
    if written != 1:
        current = read(db, effect_id)
        check_transition(effect_id, current.state if current else None, state)
        raise InvariantError(f"effect {effect_id}: outcome {state} not written")


def insert_debt(db: Db, debt_id: str, game_id: int, order_id: str, player_id: str,
                kind: str, code: str, amount: int, now_s: int) -> None:
    """Within the caller's transaction: record what a clawback could not take back (once per
    id)."""
    db.execute(
        "INSERT INTO debts (id, game_id, order_id, player_id, kind, code, amount, "
        "created_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [debt_id, game_id, order_id, player_id, kind, code, amount, now_s])
