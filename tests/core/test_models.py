"""Parsing orders strictly."""

import dataclasses
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core import jsontext
from reconciler.core.models import (
    _PLAIN_TEXT,
    MAX_TIME_S,
    MS_ABOVE,
    MalformedOrder,
    Order,
    RefundStatus,
    _parse_checked,
    _parse_plain,
    effect_id,
    notification_kind,
    parse_order,
)
from reconciler.core.slots import slot_setters, twin
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


def test_order_init_sets_every_field() -> None:
    """Order's __init__ is written by hand (core.slots): every field is set, and the class
    stays a frozen, hashable dataclass that `dataclasses.replace` copies."""
    values = {"game_id": 7, "order_id": "o", "user_id": "u", "product_id": "p",
              "arrived": True, "pay_time_s": 5, "refund_status": RefundStatus.REFUNDED,
              "refund_time_s": 9}
    order = Order(**values)  # type: ignore[arg-type]
    assert {f.name: getattr(order, f.name) for f in dataclasses.fields(Order)} == values
    assert order == Order(*values.values()) and hash(order) == hash(Order(*values.values()))
    short = Order(7, "o", "u", "p", False, 5)
    assert (short.refund_status, short.refund_time_s) == (None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.arrived = False  # type: ignore[misc]
    assert dataclasses.replace(order, arrived=False) == Order(**values | {"arrived": False})


def test_slot_setters_need_slots() -> None:
    class Plain:
        pass

    with pytest.raises(TypeError):
        slot_setters(Plain)


def test_a_parsed_order_is_an_ordinary_order() -> None:
    """The row parser builds its Orders through a twin (core.slots): what comes out is an
    Order like any other: its type, equal and hashing alike, frozen, copied and pickled."""
    for change in ({}, {"refundStatus": 1, "refundTime": 5}):
        parsed = _parse_plain(1, ROW | change)
        built = _parse_checked(1, ROW | change)  # through Order(...)
        assert parsed is not None and type(parsed) is Order
        assert parsed == built and hash(parsed) == hash(built) and repr(parsed) == repr(built)
        assert pickle.loads(pickle.dumps(parsed)) == built
        assert dataclasses.replace(parsed, arrived=True) == dataclasses.replace(built,
                                                                                arrived=True)
        with pytest.raises(dataclasses.FrozenInstanceError):
            parsed.user_id = "someone else"  # type: ignore[misc]


def test_twin_needs_slots_over_object() -> None:
    class Plain:
        pass

    class Slotted:
        __slots__ = ("a",)

    class Derived(Slotted):
        __slots__ = ("b",)

    for refused in (Plain, Derived):
        with pytest.raises(TypeError):
            twin(refused)
    made = twin(Slotted)()
    made.a = 1
    made.__class__ = Slotted
    assert type(made) is Slotted and made.a == 1


def test_plain_rows_take_the_fast_path() -> None:
    """The rows stores send (and the sandbox serves) are decided by the fast path."""
    for change in ({}, {"payTime": 1112211221000}, {"refundStatus": 1, "refundTime": 5},
                   {"userId": "u-1"}, {"refundStatus": 0}):
        assert _parse_plain(1, ROW | change) == _parse_checked(1, ROW | change)
        assert _parse_plain(1, ROW | change) is not None


EDGE_TEXTS = ["a b", "a:b", " x", "x ", "x\n", "x" * 128, "x" * 129, "", "é", "١٢", "\x1c",
              "\u2028", "a\u00a0b", "-5", 5, -5, 10**18 - 1, 10**18, -(10**18), True, None,
              1.5, ["x"]]
EDGE_NUMBERS = [-1, 0, 1, 2, 3, 4, True, False, None, "0", "1", " 1", "x", 1.0, 10**18, 10**19]
EDGE_TIMES = [-1, 0, MAX_TIME_S, MAX_TIME_S + 1, MS_ABOVE, MS_ABOVE + 1, MAX_TIME_S * 1000 + 999,
              (MAX_TIME_S + 1) * 1000, 10**18 - 1, 10**18, -(10**18), True, None, "5", "x", 1.5]
ODD_TEXTS = st.one_of(st.sampled_from(EDGE_TEXTS), st.text(max_size=6), st.integers())
ODD_NUMBERS = st.one_of(st.sampled_from(EDGE_NUMBERS), st.integers(), st.text(max_size=3))
ODD_TIMES = st.one_of(st.sampled_from(EDGE_TIMES), st.integers(), st.text(max_size=3))
ABSENT = object()
PLAIN = {  # values a plain row may hold
    "orderId": ["gHpGw"], "userId": [278, "u_1", -(10**18) + 1, 10**18 - 1],
    "productId": ["game_pro1", "1001"], "arrivedStatus": [0, 1],
    "payTime": [1112211221, 1112211221000, 0, MAX_TIME_S], "refundStatus": [None, 0, 1, 2, 3],
    "refundTime": [None, 1112211300, 1112211300123],
}
ODD = {"orderId": ODD_TEXTS, "userId": ODD_TEXTS, "productId": ODD_TEXTS,
       "arrivedStatus": ODD_NUMBERS, "payTime": ODD_TIMES, "refundStatus": ODD_NUMBERS,
       "refundTime": ODD_TIMES}


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    """A plain row with up to two fields made odd (or left out)."""
    row = {name: draw(st.sampled_from(values)) for name, values in PLAIN.items()}
    for name in draw(st.sets(st.sampled_from(sorted(ODD)), max_size=2)):
        row[name] = draw(st.one_of(st.just(ABSENT), ODD[name]))
    return {k: v for k, v in row.items() if v is not ABSENT}


def agree(raw: dict[str, Any]) -> None:
    """The fast path gives the Order the long way gives, or leaves the row to it (which then
    gives the verdict, with its reason)."""
    fast = _parse_plain(1, raw)
    try:
        checked = _parse_checked(1, raw)
    except MalformedOrder:
        assert fast is None
        return
    assert fast is None or fast == checked
    assert parse_order(1, raw) == checked


EDGES = {"orderId": EDGE_TEXTS, "userId": EDGE_TEXTS, "productId": EDGE_TEXTS,
         "arrivedStatus": EDGE_NUMBERS, "payTime": EDGE_TIMES, "refundStatus": EDGE_NUMBERS,
         "refundTime": EDGE_TIMES}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_the_fast_path_agrees_on_every_edge_value(name: str) -> None:
    for base in (ROW, ROW | {"productId": "1001"},  # (letters and digits only: no match)
                 ROW | {"refundStatus": 1, "refundTime": 1112211300123}):
        for value in [ABSENT, *EDGES[name]]:
            row = base | {name: value}
            agree({k: v for k, v in row.items() if v is not ABSENT})


@settings(max_examples=2000)
@given(rows())
def test_the_fast_path_agrees_with_the_long_way(raw: dict[str, Any]) -> None:
    agree(raw)


def test_letters_and_digits_are_plain_text() -> None:
    """The fast path takes alphanumeric text without a match: no character that str.isalnum
    accepts is white space or ':' (every code point checked)."""
    alnum = "".join(c for c in map(chr, range(0x110000)) if c.isalnum())
    assert not any(c.isspace() or c == ":" for c in alnum)
    assert all(_PLAIN_TEXT.fullmatch(alnum[i:i + 128]) for i in range(0, len(alnum), 128))
