"""The plan: what must be done so that store, ledger and game agree. A pure function.

Rules: `plan` reads orders (as the store says now), the ledger's view of each order, the
catalog, the player links and the policy, and returns actions; it never does I/O. Applying its
actions and planning again yields nothing. Per order, actions come in the order they must run.
The operator's policies live here, each applied in one place: adopt and identity by `plan`,
clawback by `clawback` (targets only report what they could not take back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from operator import itemgetter
from typing import Any

from reconciler.core.catalog import Catalog, Product
from reconciler.core.models import Order, RefundStatus, effect_id
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


@dataclass(frozen=True, slots=True)
class Action:
    """One step of the plan for one order."""

    kind: ActionKind
    order: Order
    player_id: str | None = None
    product: Product | None = None
    reason: str | None = None

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


def resolve_player(
    order: Order, identity: Identity, links: Mapping[tuple[int, str], str]
) -> str | None:
    """The PGOS player id for the order's user, or None when it is not linked."""
    if identity is Identity.SAME:
        return order.user_id
    return links.get((order.game_id, order.user_id))


def plan_order(
    order: Order, book: LedgerOrder, product: Product | None, player_id: str | None,
    policy: Policy,
) -> list[Action]:
    """The actions for one order, in the order they must run."""
    if book.unreadable:  # never guess what an unknown row did: a person decides
        if book.attention == Attention.UNREADABLE_LEDGER:
            return []
        return [Action(ActionKind.ATTENTION, order, reason=Attention.UNREADABLE_LEDGER.value)]
    grant, revoke = book.grant, book.revoke
    uncertain = grant in UNCERTAIN  # may have been applied: settle it first
    # A delivery mark whose answer was lost is re-sent (harmless) so that it settles, whatever
    # the refund status became since.
    resettle_mark = [Action(ActionKind.MARK_DELIVERED, order)] if (
        grant is S.DONE and book.arrived in UNCERTAIN) else []
    if order.refund_status is RefundStatus.REFUNDED:
        actions = [Action(ActionKind.GRANT, order)] if uncertain else []
        if (grant is S.DONE or uncertain) and revoke not in (S.DONE, S.ATTENTION):
            actions.append(Action(ActionKind.REVOKE, order))
        return actions + resettle_mark
    if order.refund_status is RefundStatus.REFUNDING:
        return resettle_mark
    if book.adopted:
        return []
    if grant is S.ATTENTION:
        return []
    # Mark delivered when the store says not delivered, or when our last mark is uncertain
    # (a lost answer): sending it again is harmless and settles the effect.
    deliver = [Action(ActionKind.MARK_DELIVERED, order)] if book.arrived is not S.ATTENTION and (
        not order.arrived or book.arrived in UNCERTAIN) else []
    if grant is S.DONE:
        return deliver
    if uncertain:
        return [Action(ActionKind.GRANT, order), *deliver]
    reason = None
    if product is None:
        reason = Attention.UNKNOWN_PRODUCT
    elif player_id is None:
        reason = Attention.UNLINKED_PLAYER
    if reason is not None:
        if book.attention == reason:
            return []
        return [Action(ActionKind.ATTENTION, order, reason=reason.value)]
    if order.arrived and policy.adopt is AdoptPolicy.RECORD:
        return [Action(ActionKind.ADOPT, order)]
    return [Action(ActionKind.GRANT, order, player_id, product), *deliver]


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
    seen: set[tuple[int, str]] = set()
    actions: list[Action] = []
    keyed = sorted((((o.game_id, o.order_id), o) for o in orders),
                   key=itemgetter(0))  # each key made once
    same = policy.identity is Identity.SAME
    for key, order in keyed:
        if key in seen:
            raise InvariantError(f"order {order.order_id} of game {order.game_id} appears twice")
        seen.add(key)
        catalog = catalogs.get(order.game_id)
        product = catalog.get(order.product_id) if catalog is not None else None
        player = order.user_id if same else links.get((order.game_id, order.user_id))
        actions.extend(plan_order(order, ledger.get(key, NOTHING), product, player, policy))
    return actions
