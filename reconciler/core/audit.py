"""The audit: where the store, the ledger and the game disagree, and figures over time.

Rules: pure. The three books come in as values (orders read from the store, the ledger's rows,
the inventories of the players concerned); the result depends on nothing else, so the same
books always give the same report. Items are sorted; the period bounds payment times. Every
item says since when it waits, when the books tell (`since_s`: payment, refund, the effect's
first try, the row's first sighting); the oldest pending item is the oldest of those among the
counted classes and of the unsettled effects.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from reconciler.core.models import Order, RefundStatus
from reconciler.core.states import UNSETTLED, EffectState

S = EffectState
FAILING_ATTEMPTS = 3


class Discrepancy(StrEnum):
    """Classes of disagreement (INFO_CLASSES are reported but not counted against the
    threshold)."""

    PAID_NOT_GRANTED = "paid_not_granted"
    GRANTED_NOT_DELIVERED = "granted_not_delivered"
    REFUNDED_NOT_REVOKED = "refunded_not_revoked"
    REVOKED_STILL_OWNED = "revoked_still_owned"
    GRANTED_WITHOUT_PAID_ORDER = "granted_without_paid_order"
    DELIVERED_ELSEWHERE = "delivered_elsewhere"
    UNKNOWN_PRODUCT = "unknown_product"
    UNLINKED_PLAYER = "unlinked_player"
    CLAWBACK_SHORTFALL = "clawback_shortfall"
    QUARANTINED = "quarantined"
    FAILING_EFFECT = "failing_effect"
    INTERRUPTED_RUN = "interrupted_run"


INFO_CLASSES = frozenset({Discrepancy.DELIVERED_ELSEWHERE, Discrepancy.INTERRUPTED_RUN})


@dataclass(frozen=True, slots=True)
class LedgerOrderRow:
    """An order as the ledger recorded it, with its flags."""

    order: Order
    adopted: bool
    attention: str | None


@dataclass(frozen=True, slots=True)
class EffectRow:
    """An effect as the ledger recorded it."""

    kind: str
    game_id: int
    order_id: str
    state: EffectState
    attempts: int
    player_id: str | None
    instances: tuple[str, ...]
    created_s: int
    updated_s: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Books:
    """Everything the audit compares."""

    store: Mapping[tuple[int, str], Order]
    ledger: Mapping[tuple[int, str], LedgerOrderRow]
    effects: Iterable[EffectRow]
    inventories: Mapping[str, Mapping[str, str]]  # player -> instance id -> status
    debts: Iterable[tuple[int, str, str, str, int]]  # game, order, kind, code, amount
    quarantined: Iterable[tuple[int, str, int]]  # game, reason, first seen
    interrupted_runs: Iterable[tuple[int, int]]  # run id, started
    as_of_s: int


@dataclass(frozen=True, slots=True)
class Item:
    """One discrepancy."""

    cls: Discrepancy
    game_id: int
    order_id: str
    detail: str
    since_s: int | None = None  # since when it waits, when the books tell

    def as_dict(self) -> dict[str, Any]:
        """JSON/CSV form."""
        return {"class": self.cls.value, "game_id": self.game_id, "order_id": self.order_id,
                "detail": self.detail, "since_s": self.since_s}


@dataclass
class Audit:
    """The result: items, counts, figures."""

    items: list[Item] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Items per class, every class present (zero included)."""
        found = Counter(i.cls for i in self.items)
        return {c.value: found.get(c, 0) for c in Discrepancy}

    def total(self) -> int:
        """Items that count against the threshold."""
        return sum(1 for i in self.items if i.cls not in INFO_CLASSES)


def day(ts_s: int) -> str:
    """The UTC day of a Unix time, YYYY-MM-DD."""
    return datetime.fromtimestamp(ts_s, UTC).strftime("%Y-%m-%d")


def iso(ts_s: int | float | None) -> str | None:
    """A Unix time as ISO 8601 UTC to the second (2026-11-23T06:00:00Z); None stays None."""
    if ts_s is None:
        return None
    return datetime.fromtimestamp(int(ts_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_duration(seconds: int | float | None) -> str | None:
    """A duration a person reads at a glance, two units at most: 42 s, 3 min 5 s, 2 h 14 min,
    3 d 4 h, 409 d; None stays None."""
    if seconds is None:
        return None
    left = max(0, round(seconds))
    if left < 60:
        return f"{left} s"
    parts: list[tuple[int, str]] = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)):
        if left >= size or parts:
            parts.append((left // size, unit))
            left %= size
    big, small = parts[0], parts[1] if len(parts) > 1 else None
    if (big[1] == "d" and big[0] >= 100) or small is None or small[0] == 0:
        return f"{big[0]} {big[1]}"
    return f"{big[0]} {big[1]} {small[0]} {small[1]}"


def _paid(order: Order) -> bool:
    return order.refund_status not in (RefundStatus.REFUNDED, RefundStatus.REFUNDING)


def _in(ts_s: int | None, since_s: int | None, until_s: int | None) -> bool:
    if ts_s is None:
        return False
    return (since_s is None or ts_s >= since_s) and (until_s is None or ts_s < until_s)


def audit(books: Books, *, since_s: int | None = None, until_s: int | None = None) -> Audit:
    """Compare the three books for orders paid in [since_s, until_s)."""
    result = Audit()
    add = result.items.append
    effects: dict[tuple[str, int, str], EffectRow] = {
        (e.kind, e.game_id, e.order_id): e for e in books.effects}

    def effect(kind: str, key: tuple[int, str]) -> EffectRow | None:
        return effects.get((kind, key[0], key[1]))

    keys = set(books.store) | set(books.ledger)
    for key in sorted(keys):
        store = books.store.get(key)
        row = books.ledger.get(key)
        order = store or (row.order if row else None)
        if order is None or not _in(order.pay_time_s, since_s, until_s):
            continue
        grant, revoke = effect("grant", key), effect("revoke", key)
        granted = grant is not None and grant.state is S.DONE
        paid_s = order.pay_time_s
        granted_s = grant.updated_s if grant is not None else None
        if row is not None and row.adopted:
            add(Item(Discrepancy.DELIVERED_ELSEWHERE, *key, "delivered before the reconciler",
                     paid_s))
        if row is not None and row.attention in ("unknown_product", "unlinked_player"):
            cls = Discrepancy(row.attention)
            add(Item(cls, *key, f"product {order.product_id}, user {order.user_id}", paid_s))
        if store is None:
            if granted:
                add(Item(Discrepancy.GRANTED_WITHOUT_PAID_ORDER, *key,
                         "granted, but the store no longer lists the order", granted_s))
            continue
        if _paid(store) and not granted and not (row and (row.adopted or row.attention)):
            add(Item(Discrepancy.PAID_NOT_GRANTED, *key,
                     f"grant {grant.state.value if grant else 'never tried'}", paid_s))
        if granted and _paid(store) and not store.arrived:
            add(Item(Discrepancy.GRANTED_NOT_DELIVERED, *key, "store still says not delivered",
                     granted_s))
        if granted and store.refund_status is RefundStatus.REFUNDING:
            add(Item(Discrepancy.GRANTED_WITHOUT_PAID_ORDER, *key,
                     "granted while the store says refunding", granted_s))
        if store.refund_status is RefundStatus.REFUNDED and granted and (
                revoke is None or revoke.state is not S.DONE):
            add(Item(Discrepancy.REFUNDED_NOT_REVOKED, *key,
                     f"revoke {revoke.state.value if revoke else 'never tried'}",
                     store.refund_time_s or paid_s))
        if grant is not None and revoke is not None and revoke.state is S.DONE:
            owned = [i for i in grant.instances
                     if books.inventories.get(grant.player_id or "", {}).get(i) == "Available"]
            if owned:
                add(Item(Discrepancy.REVOKED_STILL_OWNED, *key,
                         f"player {grant.player_id} still owns {', '.join(owned)}",
                         revoke.updated_s))
    for e in sorted(effects.values(), key=lambda e: (e.game_id, e.order_id, e.kind)):
        if not _in(e.created_s, since_s, until_s):
            continue
        if e.last_error == "clawback_shortfall":
            add(Item(Discrepancy.CLAWBACK_SHORTFALL, e.game_id, e.order_id,
                     "refund of spent currency or consumed items; revoke waits (policy fail)",
                     e.created_s))
        elif e.state in UNSETTLED and (  # stopped, or still in flight after many tries
                e.state is not S.IN_FLIGHT or e.attempts >= FAILING_ATTEMPTS):
            add(Item(Discrepancy.FAILING_EFFECT, e.game_id, e.order_id,
                     f"{e.kind} {e.state.value} after {e.attempts} attempts: "
                     f"{e.last_error or ''}".strip(), e.created_s))
    for game_id, order_id, kind, code, amount in sorted(books.debts):
        add(Item(Discrepancy.CLAWBACK_SHORTFALL, game_id, order_id,
                 f"debt of {amount} {code} ({kind})"))
    for game_id, reason, first_seen in sorted(books.quarantined):
        if _in(first_seen, since_s, until_s) or since_s is None:
            add(Item(Discrepancy.QUARANTINED, game_id, "", reason, first_seen))
    for run_id, started in sorted(books.interrupted_runs):
        add(Item(Discrepancy.INTERRUPTED_RUN, 0, "", f"run {run_id} started {iso(started)} "
                 "never finished (killed)", started))
    result.figures = figures(books, effects.values(), since_s, until_s)
    result.figures |= oldest_pending(result.items, effects.values(), books.as_of_s, since_s,
                                     until_s)
    return result


def oldest_pending(items: Iterable[Item], effects: Iterable[EffectRow], as_of_s: int,
                   since_s: int | None, until_s: int | None) -> dict[str, Any]:
    """The oldest thing still waiting: a counted item (by its `since_s`) or an unsettled effect
    of the period (by its first try). `oldest_pending_age_s` is its age at `as_of_s` (never
    below 0), None only when nothing waits; `oldest_pending` names it."""
    waiting = [(i.since_s, i.cls.value, i.game_id, i.order_id) for i in items
               if i.cls not in INFO_CLASSES and i.since_s is not None]
    waiting += [(e.created_s, f"{e.kind}_{e.state.value}", e.game_id, e.order_id)
                for e in effects if e.state in UNSETTLED and _in(e.created_s, since_s, until_s)]
    if not waiting:
        return {"oldest_pending_age_s": None, "oldest_pending": None}
    when, what, game_id, order_id = min(waiting)
    return {"oldest_pending_age_s": max(0, as_of_s - when),
            "oldest_pending": {"what": what, "game_id": game_id, "order_id": order_id,
                               "since_s": when}}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def figures(books: Books, effects: Iterable[EffectRow], since_s: int | None,
            until_s: int | None) -> dict[str, Any]:
    """Orders, grants, refunds and revocations per day and per product; refund rate; time
    from payment to grant (the oldest pending item is `oldest_pending`'s)."""
    orders = {k: o for k, o in books.store.items() if _in(o.pay_time_s, since_s, until_s)}
    for key, row in books.ledger.items():
        if key not in orders and _in(row.order.pay_time_s, since_s, until_s):
            orders[key] = row.order
    per_day: dict[str, Counter[str]] = {}
    per_product: dict[str, Counter[str]] = {}

    def bump(when: int, product: str, what: str) -> None:
        per_day.setdefault(day(when), Counter())[what] += 1
        per_product.setdefault(product, Counter())[what] += 1

    refunded = 0
    for order in orders.values():
        bump(order.pay_time_s, order.product_id, "orders")
        if order.refund_status is RefundStatus.REFUNDED:
            refunded += 1
            bump(order.refund_time_s or order.pay_time_s, order.product_id, "refunds")
    delays: list[float] = []
    for e in effects:
        paid = orders.get((e.game_id, e.order_id))
        if paid is None or e.state is not S.DONE:
            continue
        if e.kind == "grant":
            bump(e.updated_s, paid.product_id, "grants")
            delays.append(max(0, e.updated_s - paid.pay_time_s))
        elif e.kind == "revoke":
            bump(e.updated_s, paid.product_id, "revocations")
    kinds = ("orders", "grants", "refunds", "revocations")
    return {
        "orders": len(orders),
        "refund_rate": round(refunded / len(orders), 4) if orders else 0.0,
        "payment_to_grant_s": {
            "count": len(delays),
            "median": statistics.median(delays) if delays else None,
            "p95": _percentile(delays, 0.95) if delays else None,
        },
        "per_day": [{"day": d, **{k: c.get(k, 0) for k in kinds}}
                    for d, c in sorted(per_day.items())],
        "per_product": [{"product_id": p, **{k: c.get(k, 0) for k in kinds}}
                        for p, c in sorted(per_product.items())],
    }
