"""Every parser of remote data fails only with its own error, whatever it is given."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.auth import pgos, s2s, signed_headers, user_token
from reconciler.core import jsontext
from reconciler.core.models import MalformedOrder, notification_kind, parse_order
from reconciler.errors import AuthError

# What a store might send where a number or a name belongs: huge or negative integers (as
# numbers, as text, as the text json keeps for literals too long to convert), any float
# (NaN, infinities, 1e308), digit strings of every length.
hostile_scalars = (
    st.integers(min_value=-(10**40), max_value=10**40)
    | st.sampled_from([10**4200, -(10**4200), 10**18, -(10**18), 2**63, -1, 1e308, -1e308,
                       float("nan"), float("inf"), float("-inf"), 0.5, "9" * 5000, "-" + "9" * 30,
                       jsontext.LongNumber("9" * 5000), " 1 ", "1e3", "0x10", "١٢"])
    | st.from_regex(r"\A-?[0-9]{1,40}\Z") | st.floats()
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
    | hostile_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=25)
order_like = st.fixed_dictionaries({}, optional={
    k: json_values for k in ("orderId", "arrivedStatus", "payTime", "productId", "userId",
                             "refundStatus", "refundTime", "paytype")})
FIELDS = ("orderId", "arrivedStatus", "payTime", "productId", "userId", "refundStatus",
          "refundTime")
VALID = {"orderId": "o1", "arrivedStatus": 0, "payTime": 1755657115, "productId": "1001",
         "userId": 278, "refundStatus": None, "refundTime": None}
KEY = pgos.split_server_key("LTRN-NANI-D3TK-YQBM-MOUX")
PUBLIC = user_token.load_public_key(
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAhyUrr/W8bSuC+HK8Rk++BDOGDefGMEBa9jekVwVE3oeqi7Qb"
    "VzZPAuqb1K3GPJjDBfi44IWzb3w8Xa0P1ZeO2Cnbg1LltanlzFv/EcKseCIkOd8Qo78ARPfmlf4WP6MznYGKwNVGF"
    "h/s5Y6ar8QgWX1ttkcwYzHu/gUroO+nPOZkU6bfxHjRrJxk3lSQBZWfTSFd2JFwntq3h45UHymjQZiMtW47G2C4VT"
    "tTTt1Iz0VQ9rdtWie/+REqQYoFUm04Yns9jyG3TZzio9vsRrxESLQbBIRxto77cQNtEe9j/2EXNwQabRkiS6zo6i2"
    "TIN4O6uthWBVud5WXsBWdiyIOHQIDAQAB")


@settings(max_examples=300)
@given(st.one_of(json_values, order_like))
def test_parse_order_raises_only_malformed(raw: Any) -> None:
    with contextlib.suppress(MalformedOrder):
        parse_order(1, raw)


@settings(max_examples=300)
@given(st.sampled_from(FIELDS), hostile_scalars | json_values)
def test_one_hostile_field_in_a_valid_row_is_malformed_or_sane(field: str, value: Any) -> None:
    """A valid row with one field replaced: either MalformedOrder naming that field, or an
    order whose numbers are within bounds (nothing else is raised, nothing absurd passes)."""
    try:
        order = parse_order(1, VALID | {field: value})
    except MalformedOrder as exc:
        assert exc.reason.startswith(field)
        return
    assert 0 <= order.pay_time_s <= 4_102_444_800
    assert order.refund_time_s is None or 0 <= order.refund_time_s <= 4_102_444_800
    assert len(order.order_id) <= 128 and len(order.user_id) <= 128


@settings(max_examples=200)
@given(st.one_of(json_values, order_like))
def test_notification_kind_raises_only_malformed(raw: Any) -> None:
    if isinstance(raw, dict):
        with contextlib.suppress(MalformedOrder):
            assert notification_kind(raw) in ("pay", "refund")


@settings(max_examples=200)
@given(st.lists(st.from_regex(r"\A-?[1-9][0-9]{0,5999}\Z"), min_size=1, max_size=3))
def test_json_long_number_literals_never_fail_the_document(literals: list[str]) -> None:
    doc = jsontext.loads("[" + ",".join(literals) + "]", keep_long_numbers=True)
    assert len(doc) == len(literals)
    for literal, value in zip(literals, doc, strict=True):
        assert isinstance(value, int) or value == literal


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_json_text_raises_only_value_error(raw: bytes) -> None:
    with contextlib.suppress(ValueError):
        jsontext.loads(raw)


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_ticket_and_token_parsers_raise_only_auth_errors(text: str) -> None:
    for call in (lambda: pgos.decrypt_ticket(KEY, text),
                 lambda: user_token.verify_user_token(text, PUBLIC, now_s=0),
                 lambda: signed_headers.verify({"sign": text, "timestamp": text},
                                               app_secret="k", now_s=0),
                 lambda: s2s.verify_request({"yac-client-id": "c", "yac-timestamp": text,
                                             "yac-nonce": "n", "authorization": text},
                                            pathname="/", clients={}, now_s=0,
                                            nonces=s2s.MemoryNonceStore())):
        with contextlib.suppress(AuthError):
            call()


def test_deep_json_is_a_value_error() -> None:
    try:
        jsontext.loads(b"[" * 100_000)
    except ValueError as exc:
        assert "deep" in str(exc) or "Expecting" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("accepted")
