"""The plan: rule table, and properties (idempotent, order-independent, refunds never end
granted)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.catalog import Catalog, CurrencyGrant, ItemGrant, Product
from reconciler.core.models import Order, RefundStatus
from reconciler.core.plan import (
    Action,
    ActionKind,
    AdoptPolicy,
    Clawback,
    ClawbackPolicy,
    Identity,
    LedgerOrder,
    Policy,
    clawback,
    make_plan,
    plan,
)
from reconciler.core.states import UNCERTAIN, EffectState
from reconciler.errors import InvariantError

S = EffectState
K = ActionKind
CATALOG = Catalog({"p1": Product("p1", (ItemGrant("gem", 1),)),
                   "p2": Product("p2", (), (CurrencyGrant("GEM", 5),))})
SAME = Policy(identity=Identity.SAME)


def order(oid: str = "o1", *, arrived: bool = False, refund: RefundStatus | None = None,
          product: str = "p1", user: str = "u1", game: int = 1) -> Order:
    return Order(game, oid, user, product, arrived, 1000, refund, None)


def kinds(actions: list[Action]) -> list[ActionKind]:
    return [a.kind for a in actions]


def plan_one(o: Order, book: LedgerOrder | None = None, policy: Policy = SAME,
             links: dict[tuple[int, str], str] | None = None) -> list[ActionKind]:
    ledger = {o.key: book} if book else {}
    return kinds(plan([o], ledger, {1: CATALOG}, links or {}, policy))


R = RefundStatus


@pytest.mark.parametrize(
    ("o", "book", "expected"),
    [
        (order(), None, [K.GRANT, K.MARK_DELIVERED]),
        (order(refund=R.REFUND_FAILED), None, [K.GRANT, K.MARK_DELIVERED]),
        (order(refund=R.REFUND_REJECTED), None, [K.GRANT, K.MARK_DELIVERED]),
        (order(refund=R.REFUNDING), None, []),
        (order(refund=R.REFUNDING), LedgerOrder(grant=S.DONE), []),
        (order(refund=R.REFUNDING), LedgerOrder(grant=S.DONE, arrived=S.IN_FLIGHT),
         [K.MARK_DELIVERED]),
        (order(refund=R.REFUNDED), LedgerOrder(grant=S.DONE, arrived=S.FAILED),
         [K.REVOKE, K.MARK_DELIVERED]),
        (order(refund=R.REFUNDED), None, []),
        (order(refund=R.REFUNDED), LedgerOrder(grant=S.DONE), [K.REVOKE]),
        (order(refund=R.REFUNDED), LedgerOrder(grant=S.IN_FLIGHT), [K.GRANT, K.REVOKE]),
        (order(refund=R.REFUNDED), LedgerOrder(grant=S.FAILED), [K.GRANT, K.REVOKE]),
        (order(refund=R.REFUNDED), LedgerOrder(grant=S.DONE, revoke=S.DONE), []),
        (order(refund=R.REFUNDED), LedgerOrder(grant=S.DONE, revoke=S.FAILED), [K.REVOKE]),
        (order(refund=R.REFUNDED), LedgerOrder(grant=S.DONE, revoke=S.ATTENTION), []),
        (order(refund=R.REFUNDED), LedgerOrder(grant=S.ATTENTION), []),
        (order(), LedgerOrder(grant=S.DONE), [K.MARK_DELIVERED]),
        (order(), LedgerOrder(grant=S.DONE, arrived=S.DONE), [K.MARK_DELIVERED]),
        (order(), LedgerOrder(grant=S.DONE, arrived=S.ATTENTION), []),
        (order(arrived=True), LedgerOrder(grant=S.DONE), []),
        (order(arrived=True), LedgerOrder(grant=S.DONE, arrived=S.FAILED), [K.MARK_DELIVERED]),
        (order(arrived=True), LedgerOrder(grant=S.DONE, arrived=S.IN_FLIGHT),
         [K.MARK_DELIVERED]),
        (order(), LedgerOrder(grant=S.IN_FLIGHT), [K.GRANT, K.MARK_DELIVERED]),
        (order(arrived=True), LedgerOrder(grant=S.IN_FLIGHT), [K.GRANT]),
        (order(arrived=True), LedgerOrder(grant=S.IN_FLIGHT, arrived=S.FAILED),
         [K.GRANT, K.MARK_DELIVERED]),
        (order(), LedgerOrder(grant=S.ATTENTION), []),
        (order(arrived=True), None, [K.ADOPT]),
        (order(arrived=True), LedgerOrder(adopted=True), []),
        (order(product="nope"), None, [K.ATTENTION]),
        (order(product="nope"), LedgerOrder(attention="unknown_product"), []),
    ],
)
def test_rules(o: Order, book: LedgerOrder | None, expected: list[ActionKind]) -> None:
    assert plan_one(o, book) == expected


def test_adopt_policy_grant() -> None:
    policy = Policy(adopt=AdoptPolicy.GRANT, identity=Identity.SAME)
    assert plan_one(order(arrived=True), policy=policy) == [K.GRANT]


def test_linked_identity() -> None:
    linked = Policy(identity=Identity.LINKED)
    actions = plan([order()], {}, {1: CATALOG}, {}, linked)
    assert kinds(actions) == [K.ATTENTION] and actions[0].reason == "unlinked_player"
    actions = plan([order()], {}, {1: CATALOG}, {(1, "u1"): "pgos-7"}, linked)
    assert actions[0].player_id == "pgos-7"
    # Links are per game.
    other_game = plan([order(game=2)], {}, {2: CATALOG}, {(1, "u1"): "pgos-7"}, linked)
    assert kinds(other_game) == [K.ATTENTION]


def test_attention_clears_when_product_appears() -> None:
    book = LedgerOrder(attention="unknown_product")
    assert plan_one(order(), book) == [K.GRANT, K.MARK_DELIVERED]


def test_duplicate_orders_are_our_bug() -> None:
    with pytest.raises(InvariantError):
        plan([order(), order()], {}, {1: CATALOG}, {}, SAME)


ITEM = {"kind": "item", "code": "sword", "amount": 1, "status": "Consumed", "instance": "i1"}
GEM = {"kind": "currency", "code": "GEM", "amount": 5}


@pytest.mark.parametrize(("policy", "shortfalls", "expected"), [
    (ClawbackPolicy.FAIL, [], Clawback()),
    (ClawbackPolicy.NEGATIVE, [], Clawback()),
    (ClawbackPolicy.DEBT, [], Clawback()),
    (ClawbackPolicy.FAIL, [ITEM, GEM], Clawback(waits=True)),
    (ClawbackPolicy.NEGATIVE, [ITEM, GEM], Clawback(overdraw=(GEM,), debts=(ITEM,))),
    (ClawbackPolicy.NEGATIVE, [GEM], Clawback(overdraw=(GEM,))),
    (ClawbackPolicy.DEBT, [ITEM, GEM], Clawback(debts=(ITEM, GEM))),
])
def test_clawback_policy(policy: ClawbackPolicy, shortfalls: list[dict[str, object]],
                         expected: Clawback) -> None:
    assert clawback(policy, shortfalls) == expected


def test_payload_is_what_the_effect_sends() -> None:
    product = CATALOG.get("p2")
    assert Action(K.GRANT, order(), "pa", product).payload() == {
        "product_id": "p2", "items": [], "currency": [{"code": "GEM", "amount": 5}]}
    assert Action(K.REVOKE, order()).payload() == {"grant": "grant:1:o1"}
    assert Action(K.MARK_DELIVERED, order()).payload() == {}
    with pytest.raises(InvariantError):  # an uncertain grant re-sends what was recorded
        Action(K.GRANT, order()).payload()


# -- properties ------------------------------------------------------------------------------
STATES = st.sampled_from([None, S.IN_FLIGHT, S.DONE, S.FAILED, S.ATTENTION])
orders_st = st.lists(
    st.builds(
        order,
        oid=st.text("abcdefgh", min_size=1, max_size=4),
        arrived=st.booleans(),
        refund=st.sampled_from([None, *RefundStatus]),
        product=st.sampled_from(["p1", "p2", "nope"]),
        user=st.sampled_from(["u1", "u2", "u3"]),
    ),
    max_size=25,
    unique_by=lambda o: o.key,
)
books_st = st.builds(LedgerOrder, grant=STATES, arrived=STATES, revoke=STATES,
                     adopted=st.booleans())
policies = st.builds(Policy, adopt=st.sampled_from(list(AdoptPolicy)),
                     identity=st.sampled_from(list(Identity)))
links_st = st.dictionaries(st.tuples(st.just(1), st.sampled_from(["u1", "u2"])),
                           st.sampled_from(["pa", "pb"]))


def consistent(o: Order, book: LedgerOrder) -> LedgerOrder:
    """Ledger states the engine can actually reach for this order."""
    if book.adopted:  # only an order never granted by us is adopted
        return dataclasses.replace(book, grant=None, arrived=None, revoke=None)
    if book.grant not in (S.DONE,) or o.refund_status is not RefundStatus.REFUNDED:
        book = dataclasses.replace(book, revoke=None)
    if book.grant is not S.DONE and book.arrived is not None:
        book = dataclasses.replace(book, arrived=None)
    return book


def apply(actions: list[Action], orders: dict[tuple[int, str], Order],
          ledger: dict[tuple[int, str], LedgerOrder]) -> None:
    """What a successful execution of the actions does to the store and the ledger."""
    for action in actions:
        key = action.order.key
        book = ledger.get(key, LedgerOrder())
        if action.kind is K.GRANT:
            book = dataclasses.replace(book, grant=S.DONE, attention=None)
        elif action.kind is K.MARK_DELIVERED:
            book = dataclasses.replace(book, arrived=S.DONE)
            orders[key] = dataclasses.replace(orders[key], arrived=True)
        elif action.kind is K.REVOKE:
            book = dataclasses.replace(book, revoke=S.DONE)
        elif action.kind is K.ADOPT:
            book = dataclasses.replace(book, adopted=True)
        else:
            book = dataclasses.replace(book, attention=action.reason)
        ledger[key] = book


@settings(max_examples=300)
@given(orders_st, st.data(), policies, links_st)
def test_plan_of_applied_plan_is_empty(orders: list[Order], data: st.DataObject,
                                       policy: Policy, links: dict[tuple[int, str], str]) -> None:
    ledger = {o.key: consistent(o, data.draw(books_st)) for o in orders}
    store = {o.key: o for o in orders}
    apply(plan(store.values(), ledger, {1: CATALOG}, links, policy), store, ledger)
    assert plan(store.values(), ledger, {1: CATALOG}, links, policy) == []


@settings(max_examples=300)
@given(orders_st, st.data(), policies, links_st)
def test_applied_plan_leaves_nothing_uncertain(orders: list[Order], data: st.DataObject,
                                               policy: Policy,
                                               links: dict[tuple[int, str], str]) -> None:
    """Every effect left in flight or failed (e.g. by a crash) is settled by the next plan,
    except a grant held while its order is refunding."""
    ledger = {o.key: consistent(o, data.draw(books_st)) for o in orders}
    store = {o.key: o for o in orders}
    apply(plan(store.values(), ledger, {1: CATALOG}, links, policy), store, ledger)
    for key, book in ledger.items():
        uncertain = set(UNCERTAIN)
        if store[key].refund_status is RefundStatus.REFUNDING:
            assert book.arrived not in uncertain or book.grant is not S.DONE
            continue
        assert book.grant not in uncertain, (store[key], book)
        assert book.revoke not in uncertain, (store[key], book)
        assert book.arrived not in uncertain or book.grant is not S.DONE, (store[key], book)


@settings(max_examples=200)
@given(orders_st, st.data(), policies, st.randoms())
def test_plan_does_not_depend_on_input_order(orders: list[Order], data: st.DataObject,
                                             policy: Policy, rng: object) -> None:
    ledger = {o.key: consistent(o, data.draw(books_st)) for o in orders}
    shuffled = list(orders)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert plan(orders, ledger, {1: CATALOG}, {}, policy) == plan(
        shuffled, ledger, {1: CATALOG}, {}, policy)


@settings(max_examples=200)
@given(orders_st, policies, links_st, st.lists(st.integers(0, 24), max_size=10))
def test_refunded_order_never_ends_granted(orders: list[Order], policy: Policy,
                                           links: dict[tuple[int, str], str],
                                           refund_at: list[int]) -> None:
    """Passes interleaved with refunds: at the end, every refunded order that was granted is
    revoked."""
    store = {o.key: o for o in orders}
    ledger: dict[tuple[int, str], LedgerOrder] = {}
    keys = list(store)
    for step in range(3):
        apply(plan(store.values(), ledger, {1: CATALOG}, links, policy), store, ledger)
        for index in refund_at:
            if keys and step == 1:
                key = keys[index % len(keys)]
                store[key] = dataclasses.replace(store[key], refund_status=RefundStatus.REFUNDED)
    apply(plan(store.values(), ledger, {1: CATALOG}, links, policy), store, ledger)
    for key, o in store.items():
        book = ledger.get(key, LedgerOrder())
        if o.refund_status is RefundStatus.REFUNDED and book.grant is S.DONE:
            assert book.revoke is S.DONE


def test_action_init_sets_every_field() -> None:
    """Action's __init__ is written by hand (core.slots): every field is set, and the class
    stays a frozen, hashable dataclass."""
    product = CATALOG.get("p1")
    values = {"kind": K.GRANT, "order": order(), "player_id": "pl", "product": product,
              "reason": "why"}
    action = Action(**values)  # type: ignore[arg-type]
    assert {f.name: getattr(action, f.name) for f in dataclasses.fields(Action)} == values
    assert action == Action(*values.values()) and hash(action) == hash(Action(*values.values()))
    short = Action(K.MARK_DELIVERED, order())
    assert (short.player_id, short.product, short.reason) == (None, None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        action.reason = "other"  # type: ignore[misc]
    assert dataclasses.replace(action, reason=None).reason is None


@settings(max_examples=300)
@given(orders_st, st.data(), policies, links_st, st.integers(0, 60))
def test_a_plan_counts_groups_and_cuts_what_plan_lists(
        orders: list[Order], data: st.DataObject, policy: Policy,
        links: dict[tuple[int, str], str], limit: int) -> None:
    ledger = {o.key: consistent(o, data.draw(books_st)) for o in orders}
    actions = plan(orders, ledger, {1: CATALOG}, links, policy)
    made = make_plan(orders, ledger, {1: CATALOG}, links, policy)
    assert made.size == len(actions)
    assert made.kinds() == Counter(kinds(actions))
    assert made.actions(limit) == actions[:limit]
    groups = made.groups()
    assert [a for group in groups for a in group] == actions
    assert all(group and {a.order.key for a in group} == {group[0].order.key}
               for group in groups)
    assert len({group[0].order.key for group in groups}) == len(groups)
