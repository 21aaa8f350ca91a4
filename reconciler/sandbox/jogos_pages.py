"""The simulated Jogos order list: one game's book, its raw rows, and the pages it serves under
each reading of the spec.

Rules: built from the spec alone (imports nothing from the reconciler's clients, engine, server
or config). Where the spec contradicts itself or is silent, every reading can be served, chosen
by `Readings`: listing order (newest or oldest first: the spec does not say), page shape (its
example nests the page under `page`, its field table lists the fields flat), `paytype` in
notifications (its table requires it, its example has none) and time units (seconds, or
milliseconds as some stores send). Raw rows are served verbatim (any JSON text, e.g. a
5,000-digit number Python's json cannot write), for testing what a store might send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from reconciler.sandbox.orders import OrderFactory

LISTINGS = ("newest", "oldest")
PAGE_SHAPES = ("nested", "flat")
TIME_UNITS = ("s", "ms")
HIDDEN = ("gameId", "createTime")  # fields of an order that getOrders does not list (spec table)
TIMES = ("createTime", "payTime", "refundTime")
_CONTENT = "@@content@@"


@dataclass
class Readings:
    """Which reading of the spec the simulator serves."""

    listing: str = "newest"  # which end of getOrders comes first (the spec is silent)
    page_shape: str = "nested"  # "nested": the spec's example; "flat": its field table
    paytype: bool = True  # notifications carry `paytype` (the table) or not (the example)
    time_unit: str = "s"  # "ms": payTime, refundTime (and createTime) in milliseconds

    def validate(self) -> None:
        """Raises ValueError naming the first setting outside its choices."""
        for name, choices in (("listing", LISTINGS), ("page_shape", PAGE_SHAPES),
                              ("time_unit", TIME_UNITS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}")
        if not isinstance(self.paytype, bool):
            raise ValueError("paytype must be true or false")


@dataclass
class GameBook:
    """One game's orders, oldest first, with an index by order id; raw rows (JSON text) sit
    between them at the position where they were injected."""

    shared_key: str
    factory: OrderFactory
    orders: list[dict[str, Any]] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    raw: list[tuple[int, str]] = field(default_factory=list)  # (position in orders, JSON text)

    def add(self, order: dict[str, Any]) -> None:
        """Append an order (the newest)."""
        self.index[order["orderId"]] = len(self.orders)
        self.orders.append(order)

    def get(self, order_id: str) -> dict[str, Any] | None:
        """The order with this id, or None."""
        position = self.index.get(order_id)
        return None if position is None else self.orders[position]

    def add_raw(self, text: str) -> None:
        """Append a raw row (JSON text, served verbatim) as the newest entry.

        Raises ValueError when `text` is not one JSON value.
        """
        json.loads(text, parse_int=str)  # any JSON at all, however long its numbers
        self.raw.append((len(self.orders), text))

    def entries(self) -> list[dict[str, Any] | str]:
        """Orders and raw rows, oldest first."""
        if not self.raw:
            return list(self.orders)
        merged: list[dict[str, Any] | str] = []
        cursor = 0
        for position, text in self.raw:
            merged.extend(self.orders[cursor:position])
            merged.append(text)
            cursor = position
        merged.extend(self.orders[cursor:])
        return merged

    def total(self) -> int:
        """Orders and raw rows."""
        return len(self.orders) + len(self.raw)

    def page(self, page_no: int, page_size: int, listing: str) -> list[dict[str, Any] | str]:
        """Entries of a 1-based page, newest or oldest first."""
        entries: list[dict[str, Any] | str] | list[dict[str, Any]] = (
            self.entries() if self.raw else self.orders)
        if listing == "oldest":
            return list(entries[(page_no - 1) * page_size: page_no * page_size])
        end = len(entries) - (page_no - 1) * page_size
        return list(entries[max(0, end - page_size): max(0, end)][::-1])


def in_unit(order: dict[str, Any], readings: Readings) -> dict[str, Any]:
    """The order with its times in the unit the readings serve."""
    if readings.time_unit == "s":
        return dict(order)
    return {k: v * 1000 if k in TIMES and isinstance(v, int) else v for k, v in order.items()}


def _row_text(order: dict[str, Any], readings: Readings) -> str:
    """One listed order as JSON text (orjson when it can write every value: a simulated store
    must keep up with the client it measures; the standard library otherwise)."""
    shown = {k: v for k, v in (order if readings.time_unit == "s" else in_unit(order, readings)
                               ).items() if k not in HIDDEN}
    try:
        return orjson.dumps(shown).decode()
    except TypeError:  # e.g. an integer beyond 64 bits set by a test
        return json.dumps(shown)


def page_body(entries: list[dict[str, Any] | str], *, total: int, page_no: int,
              page_size: int, code: str | int, readings: Readings) -> str:
    """The JSON text of a getOrders answer in the readings' shape; raw rows spliced verbatim.
    The flat shape follows the field table (`message`, page fields beside `code`) and keeps
    the example's `content` for the rows: the table names no list (our assumption)."""
    rows = ",".join(entry if isinstance(entry, str) else _row_text(entry, readings)
                    for entry in entries)
    page = {"total": total, "totalPage": -(-total // page_size), "currentPage": page_no,
            "pageSize": page_size, "content": _CONTENT}
    if readings.page_shape == "flat":
        doc: dict[str, Any] = {"code": code, "message": "Success", **page}
    else:
        doc = {"code": code, "msg": "Success", "page": page}
    return json.dumps(doc).replace(json.dumps(_CONTENT), f"[{rows}]", 1)


def notification_doc(order: dict[str, Any], paytype: str, readings: Readings) -> dict[str, Any]:
    """A payment or refund notification's fields, with or without `paytype`."""
    doc = in_unit(order, readings)
    return {"paytype": paytype, **doc} if readings.paytype else doc
