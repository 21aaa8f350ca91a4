"""The pure rules of store confirmation: verdicts, rewrites, the listing's direction, steps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.core.models import Order, RefundStatus
from reconciler.core.notify import (
    NoteStatus,
    listing_newest_first,
    rewrites_history,
    sorted_page,
    step,
    verdict,
)

TOLD = Order(1, "A", "u1", "p1", False, 100)


@pytest.mark.parametrize(("kind", "store", "expected"), [
    ("pay", None, NoteStatus.PENDING),
    ("pay", TOLD, NoteStatus.CONFIRMED),
    ("pay", Order(1, "A", "u2", "p1", False, 100), NoteStatus.CONFLICT),
    ("pay", Order(1, "A", "u1", "p9", False, 100), NoteStatus.CONFLICT),
    ("refund", TOLD, NoteStatus.PENDING),
    ("refund", Order(1, "A", "u1", "p1", True, 100, RefundStatus.REFUNDING), NoteStatus.PENDING),
    ("refund", Order(1, "A", "u1", "p1", True, 100, RefundStatus.REFUNDED, 200),
     NoteStatus.CONFIRMED),
])
def test_verdict(kind: str, store: Order | None, expected: NoteStatus) -> None:
    assert verdict(kind, TOLD, store) is expected


def test_rewrites_history() -> None:
    assert not rewrites_history(None, TOLD)
    assert not rewrites_history(TOLD, Order(1, "A", "u1", "p1", True, 100))
    assert rewrites_history(TOLD, Order(1, "A", "u2", "p1", False, 100))
    assert rewrites_history(TOLD, Order(1, "A", "u1", "p2", False, 100))


def test_listing_direction() -> None:
    assert listing_newest_first([9, 8, 7], [2, 1]) is True
    assert listing_newest_first([1, 2, 3], [8, 9]) is False
    assert listing_newest_first([5, 5], [5]) is None
    assert listing_newest_first([], []) is None


@given(st.lists(st.integers(0, 50), min_size=1, max_size=30), st.integers(-5, 60),
       st.booleans())
def test_step_agrees_with_a_sorted_list(times: list[int], target: int, newest: bool) -> None:
    """Cut a sorted list into pages: the page holding `target` answers 0, pages before it
    send forward (+1), pages after it send back (-1)."""
    ordered = sorted(times, reverse=newest)
    pages = [ordered[i:i + 4] for i in range(0, len(ordered), 4)]
    for page in pages:
        assert sorted_page(page, newest)
    answers = [step(target, page, newest) for page in pages]
    assert answers == sorted(answers, key=lambda a: {1: 0, 0: 1, -1: 2}[a])
    if target in times:
        assert 0 in answers


def test_unsorted_page_is_seen() -> None:
    assert not sorted_page([3, 1, 2], True)
    assert not sorted_page([1, 3, 2], False)
    assert step(5, [], True) == -1
