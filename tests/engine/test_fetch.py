"""The pure helpers of page-shift coverage, under both readings of the list's order."""

from __future__ import annotations

from reconciler.engine.fetch import (
    NEWEST,
    OLDEST,
    missing_ranges,
    page_coverage,
    pages_for,
    pages_to_read,
)


def test_a_page_covers_shifted_and_fixed_positions() -> None:
    assert page_coverage(3, 50, 50, 7) == {NEWEST: (93, 143), OLDEST: (100, 150)}
    assert page_coverage(1, 50, 20, 0) == {NEWEST: (0, 20), OLDEST: (0, 20)}


def test_missing_ranges_and_pages() -> None:
    assert missing_ranges([(0, 50), (60, 100)], 120) == [(50, 60), (100, 120)]
    assert pages_for([(50, 60)], 7, 50) == [2]
    assert pages_for([(0, 10)], -30, 50) == []  # positions shifted off the front need no page


def test_complete_under_both_readings_needs_nothing() -> None:
    covered = {NEWEST: [(0, 100)], OLDEST: [(0, 100)]}
    assert pages_to_read(covered, 100, 0, 50) == []


def test_a_short_page_is_read_again_at_its_own_place_when_oldest_first() -> None:
    """Oldest first, orders added while reading: page 2 came back with 20 of its 50 rows. The
    newest-first reading alone would read page 3 (the shifted place) and never again the 30
    rows still missing at positions 70..100 of page 2."""
    covered: dict[str, list[tuple[int, int]]] = {NEWEST: [], OLDEST: []}
    for page_no, rows, shift in ((1, 50, 0), (2, 20, 7), (3, 50, 14), (4, 50, 40)):
        for reading, span in page_coverage(page_no, 50, rows, shift).items():
            covered[reading].append(span)
    assert missing_ranges(covered[OLDEST], 200) == [(70, 100)]
    assert pages_for(missing_ranges(covered[NEWEST], 200), 40, 50) == [3, 5]
    assert pages_to_read(covered, 200, 40, 50) == [2, 3, 5]


def test_newest_first_drift_rereads_the_shifted_tail() -> None:
    covered: dict[str, list[tuple[int, int]]] = {NEWEST: [], OLDEST: []}
    for page_no, shift in ((1, 0), (2, 10)):
        for reading, span in page_coverage(page_no, 50, 50, shift).items():
            covered[reading].append(span)
    assert missing_ranges(covered[NEWEST], 100) == [(90, 100)]
    assert missing_ranges(covered[OLDEST], 100) == []
    assert pages_to_read(covered, 100, 10, 50) == [3]
