"""Jogos sha1(body + key) signing."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.auth import jogos
from reconciler.errors import BadSignature, MalformedCredential

KEY = "s3cr3t-shared-key"


def test_sign_is_sha1_of_body_then_key() -> None:
    body = b'{"gameId":9943,"orderId":"gHpGwweTlucXwcM6yIeSMcgKkhFmoO"}'
    assert jogos.sign(body, KEY) == hashlib.sha1(body + KEY.encode()).hexdigest()


def test_encode_body_is_compact_and_utf8() -> None:
    assert jogos.encode_body({"a": 1, "b": "é"}) == '{"a":1,"b":"é"}'.encode()


def test_verify_accepts_uppercase_hex_and_surrounding_space() -> None:
    body = b"{}"
    jogos.verify(body, KEY, "  " + jogos.sign(body, KEY).upper() + " ")


@pytest.mark.parametrize("header", [None, "", "   ", "xyz", "a" * 39, "g" * 40])
def test_verify_rejects_malformed_header(header: str | None) -> None:
    with pytest.raises(MalformedCredential):
        jogos.verify(b"{}", KEY, header)


def test_verify_rejects_wrong_key() -> None:
    with pytest.raises(BadSignature):
        jogos.verify(b"{}", KEY, jogos.sign(b"{}", "other"))


@given(st.binary(max_size=512), st.text(min_size=1, max_size=40))
def test_any_body_round_trips(body: bytes, key: str) -> None:
    jogos.verify(body, key, jogos.sign(body, key))


@given(st.binary(min_size=1, max_size=256), st.data())
def test_any_one_byte_change_fails(body: bytes, data: st.DataObject) -> None:
    signature = jogos.sign(body, KEY)
    index = data.draw(st.integers(0, len(body) - 1))
    delta = data.draw(st.integers(1, 255))
    changed = bytearray(body)
    changed[index] = (changed[index] + delta) % 256
    with pytest.raises(BadSignature):
        jogos.verify(bytes(changed), KEY, signature)


def test_error_messages_hold_no_secret_or_signature() -> None:
    signature = jogos.sign(b"{}", KEY)
    with pytest.raises(BadSignature) as info:
        jogos.verify(b"{ }", KEY, signature)
    assert KEY not in str(info.value)
    assert signature not in str(info.value)
