"""Parsing orders strictly."""

from typing import Any

import pytest

from reconciler.core.models import MalformedOrder, RefundStatus, effect_id, parse_order

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
