"""Effects in the ledger: claim and settle (one transaction each), the payload first recorded,
debts and attention with the outcome, the named sets in the queries, LedgerError at the
boundary; on both engines."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from reconciler.core.catalog import CurrencyGrant, ItemGrant, Product
from reconciler.core.models import Order, RefundStatus
from reconciler.core.plan import Action, ActionKind
from reconciler.core.states import UNSETTLED, EffectState
from reconciler.errors import InvariantError, LedgerError
from reconciler.ledger import DatabaseError, Ledger, Outcome

S = EffectState
K = ActionKind
SWORD = Product("p1", (ItemGrant("sword", 1),), (CurrencyGrant("GEM", 5),))
OTHER = Product("p1", (ItemGrant("shield", 2),))


def paid(order_id: str = "o1", refund: RefundStatus | None = None) -> Order:
    return Order(1, order_id, "u1", "p1", False, 100, refund, None)


@pytest.fixture
def ledger(ledger_location: str | Path) -> Iterator[Ledger]:
    opened = Ledger.open(ledger_location)
    opened.record_orders([paid("o1"), paid("o2")], 1)
    yield opened
    opened.close()


def test_claim_keeps_the_payload_first_recorded(ledger: Ledger) -> None:
    first = ledger.claim(Action(K.GRANT, paid(), "player-1", SWORD), 10)
    assert first is not None and first.state is S.IN_FLIGHT and first.attempts == 1
    assert first.payload["items"] == [{"item_id": "sword", "amount": 1}]
    again = ledger.claim(Action(K.GRANT, paid(), "player-2", OTHER), 11)  # after a crash
    assert again is not None and again.attempts == 2
    assert (again.payload, again.player_id) == (first.payload, "player-1")
    assert ledger.effect(first.id) == again


def test_a_done_grant_is_not_claimed_and_not_settled_twice(ledger: Ledger) -> None:
    ledger.set_attention(1, "o1", "unlinked_player")
    claimed = ledger.claim(Action(K.GRANT, paid(), "player-1", SWORD), 10)
    assert claimed is not None
    ledger.settle(claimed, Outcome(S.DONE, {"instances": ["i1"]}), 11)
    assert ledger.view([1])[(1, "o1")].attention is None  # cleared with the outcome
    assert ledger.claim(Action(K.GRANT, paid()), 12) is None
    with pytest.raises(InvariantError):
        ledger.settle(claimed, Outcome(S.FAILED, error="late"), 13)
    done = ledger.effect(claimed.id)
    assert done is not None and done.state is S.DONE and done.response == {"instances": ["i1"]}


def test_a_mark_may_be_claimed_again_once_done(ledger: Ledger) -> None:
    mark = ledger.claim(Action(K.MARK_DELIVERED, paid()), 10)
    assert mark is not None and mark.payload == {} and mark.player_id is None
    ledger.settle(mark, Outcome(S.DONE, {}), 11)
    again = ledger.claim(Action(K.MARK_DELIVERED, paid()), 12)
    assert again is not None and again.attempts == 2


def test_a_revocation_is_claimed_with_its_grant_and_settled_with_its_debts(
        ledger: Ledger) -> None:
    with pytest.raises(InvariantError):  # before its grant is done
        ledger.claim(Action(K.REVOKE, paid(refund=RefundStatus.REFUNDED)), 10)
    grant = ledger.claim(Action(K.GRANT, paid(), "player-1", SWORD), 10)
    assert grant is not None
    ledger.settle(grant, Outcome(S.DONE, {"instances": ["i1"]}), 11)
    revoke = ledger.claim(Action(K.REVOKE, paid(refund=RefundStatus.REFUNDED)), 12)
    assert revoke is not None and revoke.grant is not None
    assert revoke.grant.id == grant.id and revoke.player_id == "player-1"
    assert revoke.payload == {"grant": grant.id}
    gem = {"kind": "currency", "code": "GEM", "amount": 5}
    ledger.settle(revoke, Outcome(S.DONE, {"shortfalls": [gem]}, debts=(gem,)), 13)
    debts = ledger.audit_rows([1])["debts"]
    assert debts == [(1, "o1", "currency", "GEM", 5)]
    assert ledger.claim(Action(K.REVOKE, paid(refund=RefundStatus.REFUNDED)), 14) is None


def test_named_sets_drive_the_queries(ledger: Ledger) -> None:
    failed = ledger.claim(Action(K.GRANT, paid("o1"), "p", SWORD), 10)
    stuck = ledger.claim(Action(K.GRANT, paid("o2"), "p", SWORD), 10)
    assert failed is not None and stuck is not None
    ledger.settle(failed, Outcome(S.FAILED, error="timeout"), 11)
    ledger.settle(stuck, Outcome(S.ATTENTION, error="refused"), 11)
    pending = ledger.pending_counts([1])
    assert list(pending) == [s.value for s in UNSETTLED] + ["orders_attention", "quarantined"]
    assert pending == {"failed": 1, "in_flight": 0, "attention": 1, "orders_attention": 0,
                       "quarantined": 0}
    assert ledger.unsettled_keys([1]) == [(1, "o1")]  # uncertain only: attention waits


def test_database_failures_leave_as_ledger_errors(ledger: Ledger) -> None:
    assert DatabaseError is LedgerError
    ledger.db.execute("DROP TABLE debts")
    with pytest.raises(LedgerError) as caught:
        ledger.record_debt("d1", 1, "o1", "p", "currency", "GEM", 5, 1)
    assert isinstance(caught.value.__cause__, (sqlite3.Error, psycopg.Error))
    ledger.close()
    with pytest.raises(LedgerError):
        ledger.order_count()
