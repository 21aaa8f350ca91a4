"""Signed request headers (`signed-request-headers.md`): sorted parameters, MD5.

Rules: only the parameters of SIGN_PARAMS that are present and non-empty take part; they are
sorted by name (ASCII), joined as `k=v` with `&`, followed by `&key=<app_secret>`, and the MD5
of that is the lowercase hex `sign`. Timestamps may be seconds or milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from reconciler.auth.s2s import NonceStore, header
from reconciler.core.jsontext import is_number
from reconciler.errors import BadSignature, MalformedCredential, ReplayedNonce, StaleCredential

SIGN_PARAMS = ("platformId", "version", "appId", "timestamp", "aid", "uid", "token")
REQUIRED_PARAMS = ("platformId", "version", "appId", "timestamp")
DEFAULT_WINDOW_S = 300
MILLISECONDS_ABOVE = 100_000_000_000  # a Unix time above this is in milliseconds


def signing_string(params: Mapping[str, object], app_secret: str) -> str:
    """The string whose MD5 is the signature (secret included: never log it)."""
    pairs = {
        k: str(v)
        for k, v in params.items()
        if k in SIGN_PARAMS and v is not None and str(v) != ""
    }
    body = "&".join(f"{k}={pairs[k]}" for k in sorted(pairs))
    return f"{body}&key={app_secret}"


def sign(params: Mapping[str, object], app_secret: str) -> str:
    """The `sign` header value for these parameters."""
    return hashlib.md5(  # MD5 is what the scheme specifies
        signing_string(params, app_secret).encode("utf-8"), usedforsecurity=False
    ).hexdigest()


def timestamp_seconds(value: str) -> int:
    """A timestamp in seconds or milliseconds, as whole seconds.

    Raises MalformedCredential when it is not a non-negative integer.
    """
    text = value.strip()
    if not is_number(text) or len(text) > 16:
        raise MalformedCredential("timestamp is not a Unix time in seconds or milliseconds")
    number = int(text)
    return number // 1000 if number > MILLISECONDS_ABOVE else number


def verify(
    headers: Mapping[str, str],
    *,
    app_secret: str,
    now_s: int,
    nonces: NonceStore | None = None,
    window_s: int = DEFAULT_WINDOW_S,
) -> dict[str, str]:
    """Verify the `sign` header of a request and return the signed parameters.

    Header names are case-insensitive. With a nonce store, a signature seen before is refused
    (the scheme has no nonce; the signature of a (parameters, timestamp) pair stands in for it).
    Raises MalformedCredential (missing parameters or sign), StaleCredential, BadSignature,
    ReplayedNonce.
    """
    params: dict[str, str] = {}
    for name in SIGN_PARAMS:
        value = header(headers, name)
        if value is not None and value != "":
            params[name] = value
    missing = [name for name in REQUIRED_PARAMS if name not in params]
    if missing:
        raise MalformedCredential(f"missing signed header(s): {', '.join(missing)}")
    if ("aid" in params or "uid" in params) and "token" not in params:
        raise MalformedCredential("token is required when aid or uid is present")
    given = (header(headers, "sign") or "").strip().lower()
    if len(given) != 32:
        raise MalformedCredential("sign is not a 32-digit MD5 hex")
    timestamp_s = timestamp_seconds(params["timestamp"])
    if abs(now_s - timestamp_s) > window_s:
        raise StaleCredential(f"timestamp is {now_s - timestamp_s} s from now")
    if not hmac.compare_digest(given.encode(), sign(params, app_secret).encode()):
        raise BadSignature("sign does not match the signed headers")
    if nonces is not None and not nonces.remember(params["appId"], given, timestamp_s + window_s):
        raise ReplayedNonce("this signed request was already used")
    return params
