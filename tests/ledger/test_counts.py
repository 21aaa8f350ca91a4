"""The read-only counts behind /metrics, on a connection of their own."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.models import Order
from reconciler.ledger import Ledger, read_counts


def test_counts_on_a_path_with_uri_characters(tmp_path: Path) -> None:
    """A '#', '?' or '%' in the ledger's path once ended the file name of the read-only URI:
    SQLite opened (and created) another file, read-write, and every scrape failed."""
    folder = tmp_path / "a#b?c%20d"
    ledger = Ledger.open(folder / "ledger.db")
    ledger.record_orders([Order(1, "A", "u", "p", False, 100)], 200)
    ledger.close()
    counts = read_counts(folder / "ledger.db")
    assert counts.orders == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a#b?c%20d"]  # no stray file
