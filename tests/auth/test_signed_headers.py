"""Signed request headers: sorted parameters + &key=secret, MD5."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.auth import signed_headers
from reconciler.auth.s2s import MemoryNonceStore
from reconciler.errors import BadSignature, MalformedCredential, ReplayedNonce, StaleCredential

SECRET = "qUiEaDNQh2IpvGHOKlTMx7ujn8t1CZWX"
USER = {
    "platformId": 1, "version": "2.0.0", "appId": "TDh15qYay3x0sARo",
    "timestamp": 1656653400000, "aid": "wIfu6jaF", "uid": 782622,
    "token": "uoX1hk6SHUgB2MFGJwNx38dem9DA7Vsz",
}
NOW_S = 1656653400


def test_spec_example_reproduces() -> None:
    assert signed_headers.signing_string(USER, SECRET) == (
        "aid=wIfu6jaF&appId=TDh15qYay3x0sARo&platformId=1&timestamp=1656653400000"
        "&token=uoX1hk6SHUgB2MFGJwNx38dem9DA7Vsz&uid=782622&version=2.0.0"
        "&key=qUiEaDNQh2IpvGHOKlTMx7ujn8t1CZWX"
    )
    assert signed_headers.sign(USER, SECRET) == "3443b2e74710a1293e4250c930e18c8f"


def test_unlisted_and_empty_params_do_not_take_part() -> None:
    assert signed_headers.sign(USER | {"langTag": "en", "deviceInfo": "{}"}, SECRET) == (
        signed_headers.sign(USER, SECRET)
    )
    assert signed_headers.sign(USER | {"aid": ""}, SECRET) == signed_headers.sign(
        {k: v for k, v in USER.items() if k != "aid"}, SECRET
    )


def headers_for(params: dict[str, object]) -> dict[str, str]:
    out = {k: str(v) for k, v in params.items()}
    out["sign"] = signed_headers.sign(params, SECRET)
    return out


def test_verify_milliseconds_and_seconds() -> None:
    assert signed_headers.verify(headers_for(USER), app_secret=SECRET, now_s=NOW_S)["uid"] == (
        "782622"
    )
    seconds = USER | {"timestamp": NOW_S}
    signed_headers.verify(headers_for(seconds), app_secret=SECRET, now_s=NOW_S + 300)


def test_verify_refusals() -> None:
    good = headers_for(USER)
    with pytest.raises(StaleCredential):
        signed_headers.verify(good, app_secret=SECRET, now_s=NOW_S + 301)
    with pytest.raises(BadSignature):
        signed_headers.verify(good, app_secret="other", now_s=NOW_S)
    with pytest.raises(BadSignature):
        signed_headers.verify(good | {"uid": "782623"}, app_secret=SECRET, now_s=NOW_S)
    with pytest.raises(MalformedCredential):
        signed_headers.verify({k: v for k, v in good.items() if k != "appId"},
                              app_secret=SECRET, now_s=NOW_S)
    with pytest.raises(MalformedCredential):
        signed_headers.verify(good | {"sign": "abc"}, app_secret=SECRET, now_s=NOW_S)
    with pytest.raises(MalformedCredential):
        signed_headers.verify(good | {"timestamp": "-5"}, app_secret=SECRET, now_s=NOW_S)
    no_token = {k: v for k, v in USER.items() if k != "token"}
    with pytest.raises(MalformedCredential):
        signed_headers.verify(headers_for(no_token), app_secret=SECRET, now_s=NOW_S)


def test_replay_refused_with_store() -> None:
    store = MemoryNonceStore()
    signed_headers.verify(headers_for(USER), app_secret=SECRET, now_s=NOW_S, nonces=store)
    with pytest.raises(ReplayedNonce):
        signed_headers.verify(headers_for(USER), app_secret=SECRET, now_s=NOW_S, nonces=store)


@given(st.text(st.characters(codec="ascii", exclude_categories=("Cc",)), min_size=1, max_size=20),
       st.integers(1, 10**6))
def test_round_trip_and_one_change_fails(app_id: str, uid: int) -> None:
    params = USER | {"appId": app_id.strip() or "x", "uid": uid}
    headers = headers_for(params)
    signed_headers.verify(headers, app_secret=SECRET, now_s=NOW_S)
    with pytest.raises(BadSignature):
        signed_headers.verify(headers | {"uid": str(uid + 1)}, app_secret=SECRET, now_s=NOW_S)
