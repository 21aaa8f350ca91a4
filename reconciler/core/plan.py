"""The plan: what must be done so that store, ledger and game agree. A pure function.

Rules: `plan` reads orders (as the store says now), the ledger's view of each order, the
catalog, the player links and the policy, and returns actions; it never does I/O. Applying its
actions and planning again yields nothing. Per order, actions come in the order they must run.
The operator's policies live here, each applied in one place: adopt and identity by `plan`,
clawback by `clawback` (targets only report what they could not take back).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from reconciler.core.catalog import Catalog, Product
from reconciler.core.models import Order, RefundStatus, effect_id
from reconciler.core.slots import slot_setters
from reconciler.core.states import UNCERTAIN, EffectState
from reconciler.errors import InvariantError

S = EffectState


class ActionKind(StrEnum):
    """What an action does."""

    GRANT = "grant"
    MARK_DELIVERED = "arrived"
    REVOKE = "revoke"
    ADOPT = "adopt"
    ATTENTION = "attention"


class Attention(StrEnum):
    """Why an order waits for a person or a change."""

    UNKNOWN_PRODUCT = "unknown_product"
    UNLINKED_PLAYER = "unlinked_player"
    UNREADABLE_LEDGER = "unreadable_ledger_row"  # an effect row of an unknown kind or state


class AdoptPolicy(StrEnum):
    """What to do with an order the store says was delivered but we never granted."""

    RECORD = "record"  # record it as delivered elsewhere; do not grant; report it
    GRANT = "grant"  # grant it anyway


class Identity(StrEnum):
    """How a Jogos user maps to a PGOS player."""

    SAME = "same"  # the PGOS player id is the Jogos user id
    LINKED = "linked"  # through links recorded in the ledger


class ClawbackPolicy(StrEnum):
    """What a revocation does with what it could not take back (spent currency, consumed
    items)."""

    FAIL = "fail"  # the revocation waits for attention; nothing is recorded as owed
    NEGATIVE = "negative"  # currency is taken below zero; missing items become debts
    DEBT = "debt"  # every shortfall becomes a debt; the revocation is done


@dataclass(frozen=True, slots=True)
class Policy:
    """The operator's choices: what the plan does (adopt, identity) and what a revocation
    does with a shortfall (clawback)."""

    adopt: AdoptPolicy = AdoptPolicy.RECORD
    identity: Identity = Identity.LINKED
    clawback: ClawbackPolicy = ClawbackPolicy.FAIL


@dataclass(frozen=True, slots=True)
class Clawback:
    """What to do with a revocation's shortfalls (each a {kind, code, amount, ...} mapping)."""

    overdraw: tuple[Mapping[str, Any], ...] = ()  # currency to take below zero
    debts: tuple[Mapping[str, Any], ...] = ()  # recorded as owed; the revocation is done
    waits: bool = False  # the revocation waits for attention


def clawback(policy: ClawbackPolicy, shortfalls: Sequence[Mapping[str, Any]]) -> Clawback:
    """Apply the clawback policy to what a revocation could not take back."""
    if not shortfalls:
        return Clawback()
    if policy is ClawbackPolicy.FAIL:
        return Clawback(waits=True)
    if policy is ClawbackPolicy.NEGATIVE:
        return Clawback(overdraw=tuple(s for s in shortfalls if s["kind"] == "currency"),
                        debts=tuple(s for s in shortfalls if s["kind"] != "currency"))
    return Clawback(debts=tuple(shortfalls))


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    """What the ledger knows of one order's effects."""

    grant: EffectState | None = None
    arrived: EffectState | None = None
    revoke: EffectState | None = None
    adopted: bool = False
    attention: str | None = None
    unreadable: bool = False  # an effect row we cannot read: act on nothing, tell a person


NOTHING = LedgerOrder()


@dataclass(frozen=True, slots=True, init=False)
class Action:
    """One step of the plan for one order."""

    kind: ActionKind
    order: Order
    player_id: str | None = None
    product: Product | None = None
    reason: str | None = None

    def __init__(self, kind: ActionKind, order: Order, player_id: str | None = None,
                 product: Product | None = None, reason: str | None = None) -> None:
        # The generated __init__'s work at half its cost (see core.slots); tests/core/
        # test_plan.py checks that every field is set.
        kind_, order_, player, product_, reason_ = _ACTION_SLOTS
        kind_(self, kind)
        order_(self, order)
        player(self, player_id)
        product_(self, product)
        reason_(self, reason)

    @property
    def effect_id(self) -> str:
        """The deterministic id of this action's effect."""
        return effect_id(self.kind.value, self.order.game_id, self.order.order_id)

    def payload(self) -> dict[str, Any]:
        """What this action's effect sends, recorded with its intent so that a re-send after a
        crash is identical.

        Raises InvariantError for a grant whose product or player the plan did not resolve.
        """
        if self.kind is ActionKind.REVOKE:
            return {"grant": effect_id("grant", self.order.game_id, self.order.order_id)}
        if self.kind is not ActionKind.GRANT:
            return {}
        if self.product is None or self.player_id is None:
            raise InvariantError(f"grant of {self.order.order_id} without product or player")
        return {
            "product_id": self.product.product_id,
            "items": [{"item_id": i.item_id, "amount": i.amount} for i in self.product.items],
            "currency": [{"code": c.code, "amount": c.amount} for c in self.product.currency],
        }


_ACTION_SLOTS = slot_setters(Action)


def resolve_player(
    order: Order, identity: Identity, links: Mapping[tuple[int, str], str]
) -> str | None:
    """The PGOS player id for the order's user, or None when it is not linked."""
    if identity is Identity.SAME:
        return order.user_id
    return links.get((order.game_id, order.user_id))


class Step(NamedTuple):
    """One action of an order's plan before it is made: its kind, the attention reason, and
    whether it carries the player and product (a first grant) or not (a grant re-sent after a
    lost answer sends its stored payload)."""

    kind: ActionKind
    reason: str | None = None
    targeted: bool = False


# Enum members and steps made once: reading a member off its Enum class costs ~130 ns in
# Python 3.11, and order_steps runs once per order of every pass.
_DONE, _ATTENTION = S.DONE, S.ATTENTION
_UNCERTAIN = frozenset(UNCERTAIN)
_SETTLED_REVOKE = frozenset((S.DONE, S.ATTENTION))
_REFUNDED, _REFUNDING = RefundStatus.REFUNDED, RefundStatus.REFUNDING
_UNKNOWN_PRODUCT, _UNLINKED = Attention.UNKNOWN_PRODUCT, Attention.UNLINKED_PLAYER
_RECORD = AdoptPolicy.RECORD
_GRANT = (Step(ActionKind.GRANT, targeted=True),)
_GRANT_AGAIN = (Step(ActionKind.GRANT),)
_MARK = (Step(ActionKind.MARK_DELIVERED),)
_REVOKE = (Step(ActionKind.REVOKE),)
_ADOPT = (Step(ActionKind.ADOPT),)
_ATTEND = {reason: (Step(ActionKind.ATTENTION, reason.value),) for reason in Attention}
_NONE: tuple[Step, ...] = ()


def order_steps(order: Order, book: LedgerOrder, known_product: bool, linked: bool,
                adopt: AdoptPolicy) -> tuple[Step, ...]:
    """The steps for one order, in the order they must run: the plan's rules, in one place
    (`known_product`: the catalog has the order's product; `linked`: its player is known)."""
    if book.unreadable:  # never guess what an unknown row did: a person decides
        if book.attention == Attention.UNREADABLE_LEDGER:
            return _NONE
        return _ATTEND[Attention.UNREADABLE_LEDGER]
    grant, arrived = book.grant, book.arrived
    uncertain = grant in _UNCERTAIN  # may have been applied: settle it first
    refund = order.refund_status
    if refund is not None:
        # A delivery mark whose answer was lost is re-sent (harmless) so that it settles,
        # whatever the refund status became since.
        resettle_mark = _MARK if grant is _DONE and arrived in _UNCERTAIN else _NONE
        if refund is _REFUNDED:
            steps = _GRANT_AGAIN if uncertain else _NONE
            if (grant is _DONE or uncertain) and book.revoke not in _SETTLED_REVOKE:
                steps += _REVOKE
            return steps + resettle_mark
        if refund is _REFUNDING:
            return resettle_mark
    if book.adopted or grant is _ATTENTION:
        return _NONE
    # Mark delivered when the store says not delivered, or when our last mark is uncertain
    # (a lost answer): sending it again is harmless and settles the effect.
    deliver = _MARK if arrived is not _ATTENTION and (
        not order.arrived or arrived in _UNCERTAIN) else _NONE
    if grant is _DONE:
        return deliver
    if uncertain:
        return _GRANT_AGAIN + deliver
    reason = _UNKNOWN_PRODUCT if not known_product else _UNLINKED if not linked else None
    if reason is not None:
        return _NONE if book.attention == reason else _ATTEND[reason]
    if order.arrived and adopt is _RECORD:
        return _ADOPT
    return _GRANT + deliver


def actions_of(order: Order, steps: Iterable[Step], player_id: str | None,
               product: Product | None) -> list[Action]:
    """The actions of an order's steps."""
    return [Action(kind, order, player_id, product, reason) if targeted
            else Action(kind, order, reason=reason) for kind, reason, targeted in steps]


def plan_order(
    order: Order, book: LedgerOrder, product: Product | None, player_id: str | None,
    policy: Policy,
) -> list[Action]:
    """The actions for one order, in the order they must run."""
    return actions_of(order, order_steps(order, book, product is not None,
                                         player_id is not None, policy.adopt),
                      player_id, product)


@dataclass(frozen=True, slots=True)
class Plan:
    """The plan of a batch of orders: each order that needs something, in (game id, order id)
    order, with its steps and what they carry. Actions are made on demand (a dry run counts
    them and keeps only the first few)."""

    entries: list[tuple[Order, tuple[Step, ...], str | None, Product | None]]

    @property
    def size(self) -> int:
        """How many actions the plan holds."""
        return sum(len(steps) for _, steps, _, _ in self.entries)

    def by_steps(self) -> Counter[tuple[Step, ...]]:
        """How many orders need each sequence of steps."""
        return Counter(steps for _, steps, _, _ in self.entries)

    def kinds(self) -> Counter[ActionKind]:
        """How many actions of each kind the plan holds."""
        counts: Counter[ActionKind] = Counter()
        for steps, orders in self.by_steps().items():
            for step in steps:
                counts[step.kind] += orders
        return counts

    def groups(self) -> list[list[Action]]:
        """Each order's actions, in the order they must run."""
        return [actions_of(*entry) for entry in self.entries]

    def actions(self, limit: int | None = None) -> list[Action]:
        """The plan's actions (the first `limit` only, when given)."""
        found: list[Action] = []
        for entry in self.entries:
            if limit is not None and len(found) >= limit:
                return found[:limit]
            found += actions_of(*entry)
        return found if limit is None else found[:limit]


ORDER_KEY = attrgetter("game_id", "order_id")  # Order.key, in one C call


def make_plan(
    orders: Iterable[Order],
    ledger: Mapping[tuple[int, str], LedgerOrder],
    catalogs: Mapping[int, Catalog],
    links: Mapping[tuple[int, str], str],
    policy: Policy,
) -> Plan:
    """The plan for these orders, sorted by (game id, order id).

    Raises InvariantError when the same order appears twice (the fetcher merges duplicates).
    """
    orders = list(orders)
    keys = list(map(ORDER_KEY, orders))  # each key made once
    keyed = sorted(zip(keys, orders, strict=True), key=itemgetter(0))
    if len(set(keys)) < len(keys):
        twice = next(order for (key, _), (after, order) in pairwise(keyed) if key == after)
        raise InvariantError(f"order {twice.order_id} of game {twice.game_id} appears twice")
    products = {game_id: catalog.products for game_id, catalog in catalogs.items()}
    same, adopt = policy.identity is Identity.SAME, policy.adopt
    entries: list[tuple[Order, tuple[Step, ...], str | None, Product | None]] = []
    for key, order in keyed:
        known = products.get(order.game_id)
        product = known.get(order.product_id) if known is not None else None
        player = order.user_id if same else links.get((order.game_id, order.user_id))
        steps = order_steps(order, ledger.get(key, NOTHING), product is not None,
                            player is not None, adopt)
        if steps:
            entries.append((order, steps, player, product))
    return Plan(entries)


def plan(
    orders: Iterable[Order],
    ledger: Mapping[tuple[int, str], LedgerOrder],
    catalogs: Mapping[int, Catalog],
    links: Mapping[tuple[int, str], str],
    policy: Policy,
) -> list[Action]:
    """Every action needed, sorted by (game id, order id) then by the order they must run.

    Raises InvariantError when the same order appears twice (the fetcher merges duplicates).
    """
    return make_plan(orders, ledger, catalogs, links, policy).actions()
