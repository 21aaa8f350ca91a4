"""Every parser of remote data fails only with its own error, whatever it is given."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.auth import pgos, s2s, signed_headers, user_token
from reconciler.core import jsontext
from reconciler.core.models import MalformedOrder, parse_order
from reconciler.errors import AuthError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=25)
order_like = st.fixed_dictionaries({}, optional={
    k: json_values for k in ("orderId", "arrivedStatus", "payTime", "productId", "userId",
                             "refundStatus", "refundTime")})
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
