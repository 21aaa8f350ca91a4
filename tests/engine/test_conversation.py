"""One conversation per effect: the ledger's statements while effects settle, counted with
sqlite3's own trace callback on the ledger's connection (nothing of ours is replaced)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from reconciler.core.models import Order, RefundStatus, parse_order
from reconciler.core.plan import Action, ActionKind
from reconciler.engine.passes import Engine, open_engine
from reconciler.errors import LedgerError
from reconciler.ledger import Ledger
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from tests.engine.conftest import ConfigFactory

GAME = 9943
EFFECT_READ = re.compile(r"\bSELECT\b.*\bFROM effects\b", re.IGNORECASE | re.DOTALL)


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=0, seed=1))


@contextmanager
def traced(ledger: Ledger) -> Iterator[list[str]]:
    """Every statement the ledger's connection runs inside the block."""
    statements: list[str] = []
    ledger.db.conn.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        ledger.db.conn.set_trace_callback(None)


def transactions(statements: list[str]) -> list[list[str]]:
    """The statements grouped by transaction (BEGIN ... COMMIT); a statement outside any
    transaction is a group of its own."""
    groups: list[list[str]] = []
    current: list[str] | None = None
    for statement in statements:
        word = statement.strip().split(None, 1)[0].upper()
        if word == "BEGIN":
            current = [statement]
        elif current is not None:
            current.append(statement)
            if word in ("COMMIT", "ROLLBACK"):
                groups.append(current)
                current = None
        else:
            groups.append([statement])
    assert current is None, "a transaction was left open"
    return groups


def paid(order_id: str, product_id: str = "1003") -> Order:
    return Order(GAME, order_id, f"user-{order_id}", product_id, True, 1_700_000_000, None,
                 None)


async def grant(engine: Engine, order: Order) -> list[str]:
    """Record `order`, plan it, and run its grant alone, tracing the ledger."""
    engine.ledger.record_orders([order], 1)
    [action] = [a for a in engine.plan_for([order]) if a.kind is ActionKind.GRANT]
    with traced(engine.ledger) as statements:
        await engine.executor().run_order([action])
    return statements


async def test_one_grant_is_one_claim_and_one_settle(sandbox: Sandbox,
                                                     make_config: ConfigFactory) -> None:
    config = make_config(RECONCILER_ADOPT="grant")
    async with open_engine(config) as engine:
        statements = await grant(engine, paid("conv-1"))
        groups = transactions(statements)
        assert len(groups) == 2, groups  # claim, then settle; nothing else
        assert all(g[0].upper() == "BEGIN" for g in groups), groups
        assert len([s for s in statements if EFFECT_READ.search(s)]) == 1, statements
        effect = engine.ledger.effect(f"grant:{GAME}:conv-1")
        assert effect is not None and effect.state.value == "done" and effect.attempts == 1
    assert len([e for e in sandbox.pgos.log if not e.replayed]) == 2  # items and GOLD


async def test_a_grant_found_in_flight_is_one_claim_and_one_settle(
        sandbox: Sandbox, make_config: ConfigFactory) -> None:
    """After a crash between intent and outcome: the re-send reads the row once, sends the
    payload first recorded with the same token, and settles."""
    config = make_config(RECONCILER_ADOPT="grant")
    async with open_engine(config) as engine:
        order = paid("conv-2")
        engine.ledger.record_orders([order], 1)
        [action] = [a for a in engine.plan_for([order]) if a.kind is ActionKind.GRANT]
        engine.ledger.begin_effect(action.effect_id, "grant", GAME, order.order_id,
                                   order.user_id, {"product_id": "1003", "items": [],
                                                   "currency": [{"code": "GOLD", "amount": 7}]},
                                   1)
        [again] = [a for a in engine.plan_for([order]) if a.kind is ActionKind.GRANT]
        with traced(engine.ledger) as statements:
            await engine.executor().run_order([again])
        assert len(transactions(statements)) == 2, statements
        assert len([s for s in statements if EFFECT_READ.search(s)]) == 1, statements
        effect = engine.ledger.effect(action.effect_id)
        assert effect is not None and effect.state.value == "done" and effect.attempts == 2
    assert sandbox.pgos.player(order.user_id).currency == {"GOLD": 7}  # the recorded payload


async def test_a_revocation_is_one_claim_and_one_settle(sandbox: Sandbox,
                                                        make_config: ConfigFactory) -> None:
    config = make_config(RECONCILER_ADOPT="grant")
    async with open_engine(config) as engine:
        order = paid("conv-3")
        await grant(engine, order)
        refunded = Order(GAME, order.order_id, order.user_id, order.product_id, True,
                         order.pay_time_s, RefundStatus.REFUNDED, order.pay_time_s + 10)
        engine.ledger.record_orders([refunded], 2)
        [action] = engine.plan_for([refunded])
        assert action.kind is ActionKind.REVOKE
        with traced(engine.ledger) as statements:
            await engine.executor().run_order([action])
        assert len(transactions(statements)) == 2, statements
        assert len([s for s in statements if EFFECT_READ.search(s)]) == 1, statements
        effect = engine.ledger.effect(action.effect_id)
        assert effect is not None and effect.state.value == "done"


async def test_an_effect_already_done_is_one_read_and_no_write(
        sandbox: Sandbox, make_config: ConfigFactory) -> None:
    config = make_config(RECONCILER_ADOPT="grant")
    async with open_engine(config) as engine:
        order = paid("conv-4")
        await grant(engine, order)
        stale = Action(ActionKind.GRANT, order)  # planned before someone else settled it
        with traced(engine.ledger) as statements:
            await engine.executor().run_order([stale])
        assert len(transactions(statements)) == 1, statements
        assert not [s for s in statements if s.lstrip().upper().startswith(
            ("INSERT", "UPDATE", "DELETE"))], statements


async def test_a_grant_and_its_mark_share_the_middle_commit(
        sandbox: Sandbox, make_config: ConfigFactory) -> None:
    """The grant's outcome commits with the mark's intent (outcome first), before the mark
    is sent: three transactions for two effects."""
    config = make_config(RECONCILER_ADOPT="grant")
    async with open_engine(config) as engine:
        order = parse_order(GAME, sandbox.jogos.add_orders(GAME, 1)[0])
        engine.ledger.record_orders([order], 1)
        actions = engine.plan_for([order])
        assert [a.kind for a in actions] == [ActionKind.GRANT, ActionKind.MARK_DELIVERED]
        sent = len(sandbox.pgos.log)
        with traced(engine.ledger) as statements:
            await engine.executor().run_order(actions)
        groups = transactions(statements)
        assert len(groups) == 3, groups
        middle = " ".join(groups[1])
        assert middle.index("UPDATE effects") < middle.index("INSERT INTO effects"), middle
        for kind in ("grant", "arrived"):
            effect = engine.ledger.effect(f"{kind}:{GAME}:{order.order_id}")
            assert effect is not None and effect.state.value == "done", kind
    assert len(sandbox.pgos.log) > sent
    assert (GAME, order.order_id) in sandbox.jogos.arrived_calls


async def test_an_outcome_stays_committed_when_the_next_claim_fails(
        sandbox: Sandbox, make_config: ConfigFactory) -> None:
    """The next step's claim is refused by the database: the grant's outcome, committed in
    the same transaction before it, is kept; the mark was never sent."""
    config = make_config(RECONCILER_ADOPT="grant")
    async with open_engine(config) as engine:
        order = parse_order(GAME, sandbox.jogos.add_orders(GAME, 1)[0])
        engine.ledger.record_orders([order], 1)
        engine.ledger.db.conn.execute(
            "CREATE TEMP TRIGGER no_marks BEFORE INSERT ON effects WHEN NEW.kind = 'arrived' "
            "BEGIN SELECT RAISE(ABORT, 'marks refused'); END")
        with pytest.raises(LedgerError, match="marks refused"):
            await engine.executor().run_order(engine.plan_for([order]))
        grant_row = engine.ledger.effect(f"grant:{GAME}:{order.order_id}")
        assert grant_row is not None and grant_row.state.value == "done"
        assert engine.ledger.effect(f"arrived:{GAME}:{order.order_id}") is None
    assert (GAME, order.order_id) not in sandbox.jogos.arrived_calls
