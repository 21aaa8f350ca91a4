"""Orders as the store reports them, parsed strictly, and the ids derived from them.

Rules: parsing never raises anything but MalformedOrder (so one bad row cannot abort a pass);
every number is bounded before it is converted (digits, then magnitude) and every time must lie
within [0, MAX_TIME_S] once milliseconds are turned into seconds; the digest covers every field
the plan reads, so an unchanged digest means nothing to do.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from reconciler.core.jsontext import is_number
from reconciler.core.slots import slot_setters, twin
from reconciler.errors import ReconcilerError


class RefundStatus(IntEnum):
    """Jogos `refundStatus`."""

    REFUNDING = 0
    REFUNDED = 1
    REFUND_FAILED = 2
    REFUND_REJECTED = 3


class MalformedOrder(ReconcilerError):
    """A row of getOrders that cannot be understood; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True, init=False)
class Order:
    """One Jogos order, as the store says it is now."""

    game_id: int
    order_id: str
    user_id: str
    product_id: str
    arrived: bool
    pay_time_s: int
    refund_status: RefundStatus | None = None
    refund_time_s: int | None = None

    def __init__(self, game_id: int, order_id: str, user_id: str, product_id: str,
                 arrived: bool, pay_time_s: int, refund_status: RefundStatus | None = None,
                 refund_time_s: int | None = None) -> None:
        # The generated __init__'s work at half its cost (one Order per row read; see
        # core.slots). tests/core/test_models.py checks that every field is set.
        game, order, user, product, arrived_, pay, refund, refund_time = _ORDER_SLOTS
        game(self, game_id)
        order(self, order_id)
        user(self, user_id)
        product(self, product_id)
        arrived_(self, arrived)
        pay(self, pay_time_s)
        refund(self, refund_status)
        refund_time(self, refund_time_s)

    @property
    def key(self) -> tuple[int, str]:
        """(game id, order id): unique across games."""
        return (self.game_id, self.order_id)

    def digest(self) -> str:
        """A short hash of every field the plan reads."""
        text = (
            f"{self.user_id}|{self.product_id}|{int(self.arrived)}|{self.pay_time_s}|"
            f"{'' if self.refund_status is None else int(self.refund_status)}|"
            f"{'' if self.refund_time_s is None else self.refund_time_s}"
        )
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


_ORDER_SLOTS = slot_setters(Order)
_ORDER_TWIN = twin(Order)


def _plain_order(game_id: int, order_id: str, user_id: str, product_id: str, arrived: bool,
                 pay_time_s: int, refund_status: RefundStatus | None = None,
                 refund_time_s: int | None = None) -> Order:
    """Order(...) at a third of its cost, for the row parser (core.slots.twin): the same
    frozen Order, equal to and hashing as one built by its constructor. Raises nothing."""
    built: Any = _ORDER_TWIN()
    built.game_id = game_id
    built.order_id = order_id
    built.user_id = user_id
    built.product_id = product_id
    built.arrived = arrived
    built.pay_time_s = pay_time_s
    built.refund_status = refund_status
    built.refund_time_s = refund_time_s
    built.__class__ = Order
    order: Order = built
    return order


def effect_id(kind: str, game_id: int, order_id: str) -> str:
    """The deterministic id of an effect: `grant:<game>:<order>` and the like."""
    return f"{kind}:{game_id}:{order_id}"


MAX_DIGITS = 18  # every integer field fits in 64 bits; longer text is refused unconverted
MAX_TIME_S = 4_102_444_800  # 2100-01-01: a later time is a wrong time
MS_ABOVE = 10**11  # a time above this (year 5138 in seconds) is in milliseconds
PAYTYPES = ("pay", "refund")
# A text field as most rows send it: 1-128 characters, no white space, no ':' (nothing to strip).
# `_text` takes it as it is; anything else goes the long way, with the same verdict.
_PLAIN_TEXT = re.compile(r"[^\s:]{1,128}")
_INT_BOUND = 10**MAX_DIGITS


def _int(raw: Mapping[str, Any], name: str, *, optional: bool = False) -> int | None:
    value = raw.get(name)
    if type(value) is int and -_INT_BOUND < value < _INT_BOUND:
        return value  # the common case, decided at once
    if value is None and optional:
        return None
    if isinstance(value, bool):
        raise MalformedOrder(f"{name} is a boolean")
    if isinstance(value, int):
        if -(10**MAX_DIGITS) < value < 10**MAX_DIGITS:
            return value
        raise MalformedOrder(f"{name} is out of range")
    if isinstance(value, str) and is_number(digits := value.strip().removeprefix("-")):
        if len(digits) > MAX_DIGITS:
            raise MalformedOrder(f"{name} is out of range")
        return int(value)
    raise MalformedOrder(f"{name} is {'missing' if value is None else 'not an integer'}")


def _time(raw: Mapping[str, Any], name: str, *, optional: bool = False) -> int | None:
    """A Unix time in seconds (milliseconds are accepted and converted), within range."""
    value = _int(raw, name, optional=optional)
    if value is None:
        return None
    if value > MS_ABOVE:
        value //= 1000
    if not 0 <= value <= MAX_TIME_S:
        raise MalformedOrder(f"{name} is out of range")
    return value


def _text(raw: Mapping[str, Any], name: str, max_len: int = 128) -> str:
    value = raw.get(name)
    if max_len == 128:  # the common cases, decided at once
        if type(value) is str and _PLAIN_TEXT.fullmatch(value):
            return value  # one C call instead of a loop over characters
        if type(value) is int and -_INT_BOUND < value < _INT_BOUND:
            return str(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedOrder(f"{name} is {'missing' if value is None else 'not a string'}")
    if isinstance(value, int) and not -(10**max_len) < value < 10**max_len:
        raise MalformedOrder(f"{name} is empty, too long or has spaces or ':'")
    text = str(value).strip()
    if not text or len(text) > max_len or any(ch.isspace() or ch in ":" for ch in text):
        raise MalformedOrder(f"{name} is empty, too long or has spaces or ':'")
    return text


_REFUNDS = tuple(RefundStatus)  # by value: 0, 1, 2, 3
# The three text fields of a plain row, joined by a line feed (which no plain text holds):
# one match checks them all.
_PLAIN_TEXTS = re.compile(r"[^\s:]{1,128}\n[^\s:]{1,128}\n[^\s:]{1,128}")


def _plain_time(value: object) -> int | None:
    """A time that is a plain in-range integer (seconds or milliseconds), in seconds; None
    for anything else (absent, text, out of range: the long way decides)."""
    if type(value) is not int or not -_INT_BOUND < value < _INT_BOUND:
        return None
    seconds = value // 1000 if value > MS_ABOVE else value
    return seconds if 0 <= seconds <= MAX_TIME_S else None


def _parse_plain(game_id: int, raw: dict[str, Any]) -> Order | None:
    """The Order of a row whose every field is plainly valid (as most rows are): text fields
    that are strings (the user id may be an integer) needing no stripping, integers in range,
    decided with a few type checks and one match (none for letters and digits only, which
    hold no white space nor ':'); None when any field needs the long way (which gives the
    same Order, or names the first bad field)."""
    get = raw.get
    order_id, user_id, product_id = get("orderId"), get("userId"), get("productId")
    arrived, pay_time_s = get("arrivedStatus"), get("payTime")
    if type(user_id) is int and -_INT_BOUND < user_id < _INT_BOUND:
        user_id = str(user_id)
    if not (type(order_id) is str and type(user_id) is str and type(product_id) is str
            and type(arrived) is int and 0 <= arrived <= 1 and type(pay_time_s) is int
            and ((order_id.isalnum() and user_id.isalnum() and product_id.isalnum()
                 and len(order_id) <= 128 and len(user_id) <= 128 and len(product_id) <= 128)
                 or _PLAIN_TEXTS.fullmatch(f"{order_id}\n{user_id}\n{product_id}"))):
        return None
    if not 0 <= pay_time_s <= MAX_TIME_S and (pay_time_s := _plain_time(pay_time_s)) is None:
        return None  # (in milliseconds, it is converted)
    refund, refund_time = get("refundStatus"), get("refundTime")
    if refund is None and refund_time is None:
        return _plain_order(game_id, order_id, user_id, product_id, arrived == 1, pay_time_s)
    if refund is not None and (type(refund) is not int or not 0 <= refund <= 3):
        return None
    refund_time_s = None if refund_time is None else _plain_time(refund_time)
    if refund_time is not None and refund_time_s is None:
        return None
    return _plain_order(game_id, order_id, user_id, product_id, arrived == 1, pay_time_s,
                        None if refund is None else _REFUNDS[refund], refund_time_s)


def parse_rows(game_id: int, rows: Iterable[object]
               ) -> tuple[list[Order], list[tuple[object, str]]]:
    """`parse_order` over a page's rows: the valid orders, and the malformed rows with their
    reason, each in the page's order. Raises nothing (a bad row is one of the malformed)."""
    orders: list[Order] = []
    malformed: list[tuple[object, str]] = []
    for raw in rows:
        if type(raw) is dict and (plain := _parse_plain(game_id, raw)) is not None:
            orders.append(plain)
            continue
        try:
            orders.append(_parse_checked(game_id, raw))
        except MalformedOrder as exc:
            malformed.append((raw, exc.reason))
    return orders, malformed


def parse_order(game_id: int, raw: object) -> Order:
    """Validate one getOrders row (or notification body) into an Order.

    Raises MalformedOrder naming the first bad field.
    """
    if type(raw) is dict and (plain := _parse_plain(game_id, raw)) is not None:
        return plain
    return _parse_checked(game_id, raw)


def _parse_checked(game_id: int, raw: object) -> Order:
    """The long way of parse_order: every field checked in turn. Raises MalformedOrder."""
    if not isinstance(raw, Mapping):
        raise MalformedOrder("row is not an object")
    arrived = _int(raw, "arrivedStatus")
    if arrived not in (0, 1):
        raise MalformedOrder("arrivedStatus is not 0 or 1")
    refund = _int(raw, "refundStatus", optional=True)
    if refund is not None and refund not in tuple(RefundStatus):
        raise MalformedOrder("refundStatus is not 0, 1, 2 or 3")
    pay_time_s = _time(raw, "payTime")
    assert pay_time_s is not None
    return Order(
        game_id=game_id,
        order_id=_text(raw, "orderId"),
        user_id=_text(raw, "userId"),
        product_id=_text(raw, "productId"),
        arrived=arrived == 1,
        pay_time_s=pay_time_s,
        refund_status=None if refund is None else RefundStatus(refund),
        refund_time_s=_time(raw, "refundTime", optional=True),
    )


def notification_kind(body: Mapping[str, Any]) -> str:
    """`pay` or `refund`: the body's `paytype`, or when it has none (the spec's own example
    has none) `refund` if it carries a `refundStatus`, else `pay`.

    Raises MalformedOrder for a paytype other than pay/refund, and for a refund that carries
    no refundStatus (it says nothing about the refund, and is not a payment).
    """
    paytype = body.get("paytype")
    has_refund = body.get("refundStatus") not in (None, "")
    if paytype is None:
        return "refund" if has_refund else "pay"
    if paytype not in PAYTYPES:
        raise MalformedOrder("paytype is not pay or refund")
    if paytype == "refund" and not has_refund:
        raise MalformedOrder("refundStatus is missing from a refund")
    return str(paytype)


def merge_notification(known: Order | None, told: Order) -> Order:
    """The order after a notification: it never moves backwards. A refund already known stays
    refunded, a known refund status is kept when the notification carries none, and a
    delivery mark stays."""
    if known is None:
        return told
    refund = told.refund_status
    if known.refund_status is RefundStatus.REFUNDED or refund is None:
        refund = known.refund_status if known.refund_status is not None else refund
    return Order(
        told.game_id, told.order_id, told.user_id, told.product_id,
        told.arrived or known.arrived, told.pay_time_s, refund,
        told.refund_time_s if told.refund_time_s is not None else known.refund_time_s,
    )
