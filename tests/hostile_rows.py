"""Values a store might send where a getOrders row (or a notification) holds something sane,
as JSON text so that numbers Python cannot write (5,000 digits) are included, each with the
reason the parser must give. Shared by the model, pass, CLI and daemon tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

VALID = {"arrivedStatus": 0, "payTime": 1755657115, "productId": "1001", "userId": 278,
         "refundStatus": None, "refundTime": None}
BIG = "9" * 5000

# (field, JSON text of its value, reason the parser gives)
BAD_VALUES: list[tuple[str, str, str]] = [
    ("payTime", json.dumps(BIG), "payTime is out of range"),
    ("payTime", BIG, "payTime is out of range"),  # a JSON number: kept as text, never int()
    ("payTime", "1e308", "payTime is not an integer"),
    ("payTime", "1755657115.5", "payTime is not an integer"),
    ("payTime", "NaN", "payTime is not an integer"),
    ("refundTime", "Infinity", "refundTime is not an integer"),
    ("payTime", "-1755657115", "payTime is out of range"),
    ("refundTime", "-1", "refundTime is out of range"),
    ("refundTime", "99999999999999999", "refundTime is out of range"),
    ("productId", '{"id": "1001"}', "productId is not a string"),
    ("userId", "[278]", "userId is not a string"),
    ("userId", BIG, "userId is empty, too long or has spaces or ':'"),
    ("orderId", "null", "orderId is missing"),
    ("arrivedStatus", "7", "arrivedStatus is not 0 or 1"),
    ("arrivedStatus", json.dumps("1" * 5000), "arrivedStatus is out of range"),
    ("refundStatus", "9", "refundStatus is not 0, 1, 2 or 3"),
    ("refundStatus", "-1e308", "refundStatus is not an integer"),
]
BAD_ROWS: list[tuple[str, str]] = [  # whole rows that are not objects
    ("null", "row is not an object"), ("[]", "row is not an object"),
    ('"order"', "row is not an object"), ("5", "row is not an object"),
]
_ids = itertools.count(1)


def row_text(field: str, value_text: str, extra: dict[str, Any] | None = None) -> str:
    """A getOrders row (or notification body) as JSON text: a valid order with a fresh id
    (`Bad<n>`) whose `field` holds `value_text` verbatim."""
    fields = {k: json.dumps(v) for k, v in ({"orderId": f"Bad{next(_ids)}"} | VALID).items()}
    fields |= {k: json.dumps(v) for k, v in (extra or {}).items()}
    fields[field] = value_text
    return "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in fields.items()) + "}"


def every_bad_row() -> list[tuple[str, str]]:
    """(JSON text, reason) for every case above, each with its own order id."""
    return [(row_text(f, v), reason) for f, v, reason in BAD_VALUES] + BAD_ROWS
