"""Parsing orders strictly."""

from typing import Any

import pytest

from reconciler.core import jsontext
from reconciler.core.models import (
    MAX_TIME_S,
    MalformedOrder,
    RefundStatus,
    effect_id,
    notification_kind,
    parse_order,
)
from tests.hostile_rows import BAD_VALUES, row_text

ROW = {"orderId": "gHpGwweTlucXwcM6yIeSMcgKkhFmoO", "arrivedStatus": 1, "payTime": 1112211221,
       "productId": "game_pro1", "userId": 278, "refundStatus": None, "refundTime": None}


def test_spec_row_parses() -> None:
    order = parse_order(9943, ROW)
    assert order.key == (9943, "gHpGwweTlucXwcM6yIeSMcgKkhFmoO")
    assert order.user_id == "278" and order.arrived and order.refund_status is None
    assert effect_id("grant", 9943, order.order_id) == "grant:9943:gHpGwweTlucXwcM6yIeSMcgKkhFmoO"


def test_strings_for_numbers_and_milliseconds() -> None:
    order = parse_order(1, ROW | {"arrivedStatus": "0", "refundStatus": "1",
                                  "payTime": 1112211221000, "refundTime": "1112211300"})
    assert not order.arrived and order.refund_status is RefundStatus.REFUNDED
    assert order.pay_time_s == 1112211221 and order.refund_time_s == 1112211300


def test_digest_changes_with_any_planned_field() -> None:
    base = parse_order(1, ROW)
    for change in ({"arrivedStatus": 0}, {"refundStatus": 1}, {"productId": "x"},
                   {"userId": 9}, {"refundTime": 5}):
        assert parse_order(1, ROW | change).digest() != base.digest()
    assert parse_order(1, dict(ROW)).digest() == base.digest()


@pytest.mark.parametrize(
    "change",
    [
        {"orderId": None}, {"orderId": ""}, {"orderId": "a b"}, {"orderId": "a:b"},
        {"orderId": "x" * 200}, {"arrivedStatus": 2}, {"arrivedStatus": True},
        {"arrivedStatus": None}, {"payTime": "soon"}, {"payTime": None},
        {"productId": ["x"]}, {"userId": None}, {"refundStatus": 7}, {"refundStatus": "x"},
    ],
)
def test_malformed_rows(change: dict[str, Any]) -> None:
    with pytest.raises(MalformedOrder):
        parse_order(1, ROW | change)


@pytest.mark.parametrize("raw", [None, [], "order", 5])
def test_not_an_object(raw: object) -> None:
    with pytest.raises(MalformedOrder):
        parse_order(1, raw)


@pytest.mark.parametrize(("field", "value", "reason"), BAD_VALUES,
                         ids=[f"{f}={v[:12]}" for f, v, _ in BAD_VALUES])
def test_hostile_values_are_malformed_with_their_reason(field: str, value: str,
                                                        reason: str) -> None:
    raw = jsontext.loads(row_text(field, value), keep_long_numbers=True)
    with pytest.raises(MalformedOrder) as info:
        parse_order(1, raw)
    assert info.value.reason == reason


def test_long_number_literals_stay_text_only_when_asked() -> None:
    doc = jsontext.loads('{"a": ' + "9" * 5000 + ', "b": 12}', keep_long_numbers=True)
    assert doc["b"] == 12 and isinstance(doc["a"], jsontext.LongNumber)
    with pytest.raises(ValueError):
        jsontext.loads('{"a": ' + "9" * 5000 + "}")


def test_refund_time_in_milliseconds_and_time_bounds() -> None:
    order = parse_order(1, ROW | {"refundStatus": 1, "refundTime": 1755657999123})
    assert order.refund_time_s == 1755657999
    assert parse_order(1, ROW | {"payTime": MAX_TIME_S}).pay_time_s == MAX_TIME_S
    assert parse_order(1, ROW | {"payTime": "0"}).pay_time_s == 0
    for bad in (MAX_TIME_S + 1, (MAX_TIME_S + 1) * 1000, -1, "-1", "1" * 19, 10**19):
        with pytest.raises(MalformedOrder, match="payTime is out of range"):
            parse_order(1, ROW | {"payTime": bad})


@pytest.mark.parametrize(("body", "kind"), [
    ({"paytype": "pay"}, "pay"), ({"paytype": "refund", "refundStatus": 1}, "refund"),
    ({}, "pay"), ({"refundStatus": None}, "pay"), ({"refundStatus": 1}, "refund"),
    ({"refundStatus": 0}, "refund"), ({"paytype": "pay", "refundStatus": 1}, "pay"),
])
def test_notification_kind(body: dict[str, Any], kind: str) -> None:
    assert notification_kind(ROW | body) == kind


@pytest.mark.parametrize("body", [
    {"paytype": "refund"}, {"paytype": "refund", "refundStatus": None},
    {"paytype": "refund", "refundStatus": ""}, {"paytype": "PAY"}, {"paytype": ["pay"]},
    {"paytype": ""}, {"paytype": 1},
])
def test_notification_kind_refuses(body: dict[str, Any]) -> None:
    with pytest.raises(MalformedOrder):
        notification_kind(ROW | body)
