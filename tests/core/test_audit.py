"""The audit's comparison, class by class, on hand-made books."""

from __future__ import annotations

from reconciler.core.audit import (
    Books,
    Discrepancy,
    EffectRow,
    LedgerOrderRow,
    audit,
    human_duration,
    iso,
)
from reconciler.core.models import Order, RefundStatus
from reconciler.core.states import EffectState

S, D, R = EffectState, Discrepancy, RefundStatus
DAY = 86_400


def order(oid: str, *, arrived: bool = True, refund: RefundStatus | None = None,
          pay: int = 10 * DAY, product: str = "p1") -> Order:
    return Order(1, oid, "u1", product, arrived, pay, refund, pay + 100 if refund else None)


def eff(kind: str, oid: str, state: EffectState = S.DONE, attempts: int = 1,
        instances: tuple[str, ...] = (), error: str | None = None,
        at: int = 10 * DAY + 60) -> EffectRow:
    return EffectRow(kind, 1, oid, state, attempts, "player", instances, at, at, error)


def books(store: list[Order], ledger: list[LedgerOrderRow], effects: list[EffectRow],
          **extra: object) -> Books:
    base: dict[str, object] = {"inventories": {}, "debts": [], "quarantined": [],
                               "interrupted_runs": [], "as_of_s": 20 * DAY}
    base.update(extra)
    return Books({o.key: o for o in store}, {r.order.key: r for r in ledger}, effects,
                 **base)  # type: ignore[arg-type]


def row(o: Order, adopted: bool = False, attention: str | None = None) -> LedgerOrderRow:
    return LedgerOrderRow(o, adopted, attention)


def classes(result: object) -> list[tuple[str, str]]:
    return sorted((i.cls.value, i.order_id) for i in result.items)  # type: ignore[attr-defined]


def test_agreeing_books_have_no_discrepancy() -> None:
    good = order("a")
    refunded = order("b", refund=R.REFUNDED)
    result = audit(books([good, refunded], [row(good), row(refunded)],
                         [eff("grant", "a"), eff("arrived", "a"),
                          eff("grant", "b", instances=("i1",)), eff("revoke", "b")],
                         inventories={"player": {"i1": "Revoked"}}))
    assert result.items == [] and result.total() == 0


def test_every_class() -> None:
    o = {name: order(name) for name in ("paid", "undelivered", "refunded", "revoked", "gone",
                                        "adopted", "unknown", "unlinked", "short", "failing",
                                        "refunding")}
    o["undelivered"] = order("undelivered", arrived=False)
    o["refunded"] = order("refunded", refund=R.REFUNDED)
    o["revoked"] = order("revoked", refund=R.REFUNDED)
    o["refunding"] = order("refunding", refund=R.REFUNDING)
    store = [v for k, v in o.items() if k != "gone"]
    ledger = [row(o["gone"]), row(o["adopted"], adopted=True),
              row(o["unknown"], attention="unknown_product"),
              row(o["unlinked"], attention="unlinked_player")]
    effects = [
        eff("grant", "undelivered"), eff("grant", "refunded"),
        eff("grant", "revoked", instances=("i1", "i2")), eff("revoke", "revoked"),
        eff("grant", "gone"), eff("grant", "short"), eff("revoke", "short", S.ATTENTION,
                                                         error="clawback_shortfall"),
        eff("grant", "failing", S.FAILED, attempts=4, error="TransientError"),
        eff("grant", "refunding"),
    ]
    result = audit(books(store, ledger, effects,
                         inventories={"player": {"i1": "Revoked", "i2": "Available"}},
                         debts=[(1, "short", "currency", "GEM", 500)],
                         quarantined=[(1, "payTime is missing", 10 * DAY)],
                         interrupted_runs=[(3, 10 * DAY)]))
    assert classes(result) == sorted([
        ("paid_not_granted", "paid"),
        ("paid_not_granted", "failing"),
        ("failing_effect", "failing"),
        ("granted_not_delivered", "undelivered"),
        ("refunded_not_revoked", "refunded"),
        ("revoked_still_owned", "revoked"),
        ("granted_without_paid_order", "gone"),
        ("granted_without_paid_order", "refunding"),
        ("delivered_elsewhere", "adopted"),
        ("unknown_product", "unknown"),
        ("unlinked_player", "unlinked"),
        ("clawback_shortfall", "short"),
        ("clawback_shortfall", "short"),
        ("quarantined", ""),
        ("interrupted_run", ""),
    ])
    counts = result.counts()
    assert counts["delivered_elsewhere"] == 1 and counts["interrupted_run"] == 1
    assert result.total() == len(result.items) - 2  # informational classes do not count


def test_period_and_figures() -> None:
    early, late = order("e", pay=1 * DAY), order("l", pay=5 * DAY, refund=R.REFUNDED)
    effects = [eff("grant", "e", at=1 * DAY + 30), eff("grant", "l", at=5 * DAY + 90),
               eff("revoke", "l", at=6 * DAY), eff("arrived", "x", S.FAILED, at=2 * DAY)]
    b = books([early, late], [row(early), row(late)], effects)
    whole = audit(b)
    f = whole.figures
    assert f["orders"] == 2 and f["refund_rate"] == 0.5
    assert f["payment_to_grant_s"] == {"count": 2, "median": 60.0, "p95": 90}
    assert f["oldest_pending_age_s"] == 20 * DAY - 2 * DAY
    assert [d["day"] for d in f["per_day"]] == ["1970-01-02", "1970-01-06", "1970-01-07"]
    assert f["per_product"] == [{"product_id": "p1", "orders": 2, "grants": 2, "refunds": 1,
                                 "revocations": 1}]
    only_late = audit(b, since_s=3 * DAY)
    assert only_late.figures["orders"] == 1
    assert audit(b).items == audit(b).items  # deterministic


def test_items_waiting_without_an_effect_have_an_age() -> None:
    """The report said "oldest pending None s" with items pending: only unsettled effects
    were aged, and an order paid but never tried, or waiting for the catalog, has none."""
    paid, unknown, adopted = order("p", pay=12 * DAY), order("u", pay=11 * DAY), order(
        "a", pay=1 * DAY)
    result = audit(books([paid, unknown, adopted],
                         [row(unknown, attention="unknown_product"), row(adopted, adopted=True)],
                         []))
    assert classes(result) == [("delivered_elsewhere", "a"), ("paid_not_granted", "p"),
                               ("unknown_product", "u")]
    assert all(i.since_s is not None for i in result.items)
    f = result.figures
    assert f["oldest_pending_age_s"] == 20 * DAY - 11 * DAY  # informational "a" not counted
    assert f["oldest_pending"] == {"what": "unknown_product", "game_id": 1, "order_id": "u",
                                   "since_s": 11 * DAY}
    early = audit(books([paid], [], [], as_of_s=5 * DAY))  # paid after the books' clock
    assert early.figures["oldest_pending_age_s"] == 0
    assert audit(books([], [], [])).figures["oldest_pending"] is None


def test_human_durations_and_times() -> None:
    assert [human_duration(s) for s in (None, 0, 42, 185, 3600, 8040, 90_000, 35_408_791)] \
        == [None, "0 s", "42 s", "3 min 5 s", "1 h", "2 h 14 min", "1 d 1 h", "409 d"]
    assert iso(1_700_000_000) == "2023-11-14T22:13:20Z" and iso(None) is None
