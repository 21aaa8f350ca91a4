"""Notifications are claims; the store's getOrders is the truth.

Rules: pure. A notification is recorded and acknowledged, then waits (`pending`) until
getOrders shows its order in the state it tells of (`confirmed`); a store showing another user
or product is a `conflict` for a person; one the store never shows after `MAX_ATTEMPTS`
searches (or a full pass past its time) is `unconfirmed`. Finding an order by its payTime in a
list sorted by time is a search over pages: `step` says which way to go from a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from itertools import pairwise

from reconciler.core.models import Order, RefundStatus

MAX_ATTEMPTS = 8  # searches of getOrders before a notification is reported unconfirmed


class Trust(StrEnum):
    """What moves items: the store's confirmation (default) or the signature alone."""

    STORE = "store"
    SIGNATURE = "signature"


class NoteStatus(StrEnum):
    """Where a recorded notification stands."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    CONFLICT = "conflict"
    UNCONFIRMED = "unconfirmed"


WAITING = frozenset({NoteStatus.PENDING})
FOR_ATTENTION = frozenset({NoteStatus.CONFLICT, NoteStatus.UNCONFIRMED})


def verdict(kind: str, told: Order, store: Order | None) -> NoteStatus:
    """The notification's status once the store's row (or its absence) is known.

    PENDING when the store does not show it yet (not listed, or not yet refunded).
    """
    if store is None:
        return NoteStatus.PENDING
    if (store.game_id, store.user_id, store.product_id) != \
            (told.game_id, told.user_id, told.product_id):
        return NoteStatus.CONFLICT
    if kind == "refund" and store.refund_status is not RefundStatus.REFUNDED:
        return NoteStatus.PENDING
    return NoteStatus.CONFIRMED


def rewrites_history(known: Order | None, told: Order) -> bool:
    """True when a notification would change the user or product of an order already known
    (never applied: recorded as a conflict)."""
    return known is not None and (known.user_id, known.product_id) != \
        (told.user_id, told.product_id)


def listing_newest_first(first: Sequence[int], last: Sequence[int]) -> bool | None:
    """Whether the list runs newest first, from the pay times of its first and last pages;
    None when they cannot tell (one time only, or no rows)."""
    times = [*first, *last]
    if not times or min(times) == max(times):
        return None
    if first and last and first[0] != last[-1]:
        return first[0] > last[-1]
    return times[0] > times[-1]


def sorted_page(times: Sequence[int], newest_first: bool) -> bool:
    """True when a page's pay times run in the listing's direction (ties allowed)."""
    pairs = list(pairwise(times))
    return all(a >= b for a, b in pairs) if newest_first else all(a <= b for a, b in pairs)


def step(target_s: int, times: Sequence[int], newest_first: bool) -> int:
    """Where an order paid at `target_s` lies relative to a page: -1 toward page 1, +1 toward
    the last page, 0 on this page's span (inclusive). An empty page is past the end (-1)."""
    if not times:
        return -1
    low, high = min(times), max(times)
    if low <= target_s <= high:
        return 0
    newer = target_s > high
    return -1 if newer == newest_first else 1
