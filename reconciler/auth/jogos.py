"""Jogos request signing: `Authorization = sha1(body + shared_key)`, lowercase hex.

Rules: the signature covers the exact bytes sent, so a body is serialized once
(`encode_body`) and those bytes are both signed and sent. Verification is constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from reconciler.errors import BadSignature, MalformedCredential


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """Serialize a JSON body once, compactly, as UTF-8; the bytes to sign and to send.

    Raises TypeError or ValueError when the payload is not JSON-serializable.
    """
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(body: bytes, shared_key: str) -> str:
    """Return the Authorization value for `body`: sha1(body + shared_key) as lowercase hex."""
    # SHA-1 is what the Jogos protocol mandates; the flag only tells FIPS builds so.
    return hashlib.sha1(body + shared_key.encode("utf-8"), usedforsecurity=False).hexdigest()


def verify(body: bytes, shared_key: str, authorization: str | None) -> None:
    """Check the Authorization header of a Jogos request or notification over its raw body.

    Raises MalformedCredential when the header is missing or not 40 hex digits, and
    BadSignature when it does not match.
    """
    if authorization is None or not authorization.strip():
        raise MalformedCredential("missing Authorization header")
    given = authorization.strip().lower()
    if len(given) != 40 or any(c not in "0123456789abcdef" for c in given):
        raise MalformedCredential("Authorization is not a 40-digit hex sha1")
    if not hmac.compare_digest(given.encode("ascii"), sign(body, shared_key).encode("ascii")):
        raise BadSignature("Authorization does not match the body")


def signed_headers(body: bytes, shared_key: str) -> dict[str, str]:
    """Headers for a signed Jogos POST whose body is exactly `body`."""
    return {"Content-Type": "application/json", "Authorization": sign(body, shared_key)}
