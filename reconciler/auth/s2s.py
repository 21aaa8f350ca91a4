"""Service-to-service authentication (`yac-*` headers), both directions.

Rules: the signed string is `{client-id};{timestamp};{nonce};{pathname}`. ECDSA is P-256 over
SHA-256, DER-encoded, base64; signing uses RFC 6979 deterministic nonces so it needs no
randomness. HMAC keys are the client secret's characters as given (as `openssl -hmac` does).
Verification checks the timestamp window, then the credential, then remembers the nonce in
the store passed in: a nonce is spent only by a request that was otherwise valid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from Crypto.Hash import SHA256
from Crypto.PublicKey import ECC
from Crypto.Signature import DSS

from reconciler.core.jsontext import is_number
from reconciler.errors import (
    BadSignature,
    ConfigError,
    CredentialMismatch,
    MalformedCredential,
    ReplayedNonce,
    StaleCredential,
    UnknownClient,
)
from reconciler.secret import Secret

DEFAULT_WINDOW_S = 300
MAX_NONCE_LEN = 128


class Scheme(StrEnum):
    """The authentication methods of the spec."""

    ECDSA = "ECDSA-SHA256"
    HMAC = "HMAC-SHA256"
    BASIC = "Basic"
    API_KEY = "api-key"


def string_to_sign(client_id: str, timestamp_s: int, nonce: str, pathname: str) -> bytes:
    """The bytes an ECDSA or HMAC signature covers."""
    return f"{client_id};{timestamp_s};{nonce};{pathname}".encode()


def load_ec_key(pem_or_b64: str) -> ECC.EccKey:
    """Import a P-256 key from PEM or base64 DER.

    Raises ConfigError when it is not an EC key on P-256.
    """
    text = pem_or_b64.strip()
    try:
        key = ECC.import_key(text if text.startswith("-----") else base64.b64decode(text))
    except (ValueError, IndexError, TypeError, binascii.Error) as exc:
        raise ConfigError("ECDSA key is not a valid PEM or base64 DER EC key") from exc
    if key.curve not in ("NIST P-256", "p256", "P-256", "prime256v1", "secp256r1"):
        raise ConfigError(f"ECDSA key is on {key.curve}; P-256 is required")
    return key


def sign_hmac(secret: str, message: bytes) -> str:
    """HMAC-SHA256 of `message` keyed with the secret's characters, base64."""
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def sign_ecdsa(private_key: ECC.EccKey, message: bytes) -> str:
    """ECDSA-SHA256 (RFC 6979 deterministic) DER signature of `message`, base64.

    Raises TypeError when the key has no private part.
    """
    signer = DSS.new(private_key, "deterministic-rfc6979", encoding="der")
    return base64.b64encode(signer.sign(SHA256.new(message))).decode()


def basic_credential(client_id: str, client_secret: str) -> str:
    """`base64(client_id:client_secret)` for `authorization: Basic ...`."""
    return base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


def request_headers(
    scheme: Scheme,
    *,
    client_id: str,
    timestamp_s: int,
    nonce: str,
    pathname: str,
    secret: str | None = None,
    private_key: ECC.EccKey | None = None,
) -> dict[str, str]:
    """All headers of a request signed with `scheme`.

    `secret` is the HMAC or Basic client secret or the api key; `private_key` is for ECDSA.
    Raises ConfigError when the credential the scheme needs is missing.
    """
    headers = {
        "yac-client-id": client_id,
        "yac-timestamp": str(timestamp_s),
        "yac-nonce": nonce,
    }
    message = string_to_sign(client_id, timestamp_s, nonce, pathname)
    if scheme is Scheme.ECDSA:
        if private_key is None:
            raise ConfigError("s2s ECDSA signing needs a private key")
        headers["authorization"] = f"{Scheme.ECDSA} {sign_ecdsa(private_key, message)}"
    elif secret is None:
        raise ConfigError(f"s2s {scheme} needs a secret")
    elif scheme is Scheme.HMAC:
        headers["authorization"] = f"{Scheme.HMAC} {sign_hmac(secret, message)}"
    elif scheme is Scheme.BASIC:
        headers["authorization"] = f"Basic {basic_credential(client_id, secret)}"
    else:
        headers["api-key"] = secret
    return headers


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What the receiving side knows of one client; a scheme is allowed when its key is set."""

    client_id: str
    hmac_secret: Secret | None = None
    basic_secret: Secret | None = None
    api_key: Secret | None = None
    ecdsa_public_key: ECC.EccKey | None = field(default=None, repr=False)


class NonceStore(Protocol):
    """Remembers nonces; `remember` is atomic and returns False when the nonce was seen."""

    def remember(self, client_id: str, nonce: str, expires_at_s: int) -> bool: ...


class MemoryNonceStore:
    """A NonceStore in a dict (tests, sandbox). It reads no clock: a nonce is kept until
    `prune(now_s)` is called with a time past its window (the daemon keeps its nonces in the
    ledger and prunes them on every drain)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}

    def remember(self, client_id: str, nonce: str, expires_at_s: int) -> bool:
        """Record (client_id, nonce); False when it is recorded already (until pruned)."""
        key = (client_id, nonce)
        if key in self._seen:
            return False
        self._seen[key] = expires_at_s
        return True

    def prune(self, now_s: int) -> None:
        """Forget nonces whose window has passed."""
        self._seen = {k: v for k, v in self._seen.items() if v >= now_s}


@dataclass(frozen=True, slots=True)
class Verified:
    """The outcome of a successful verification."""

    client_id: str
    scheme: Scheme


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header `name`, matched case-insensitively, or None."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedCredential(f"{what} is not base64") from exc


def _equal(given: str, expected: Secret) -> bool:
    return hmac.compare_digest(given.encode(), expected.reveal().encode())


def verify_request(
    headers: Mapping[str, str],
    *,
    pathname: str,
    clients: Mapping[str, ClientCredentials],
    now_s: int,
    nonces: NonceStore,
    query: Mapping[str, str] | None = None,
    window_s: int = DEFAULT_WINDOW_S,
) -> Verified:
    """Authenticate an incoming request by its `yac-*` headers.

    Header names are case-insensitive. An api key in the header wins over `api_key` in the
    query string; `query` is read only when given, so a receiver that does not allow keys in
    URLs (the spec strongly discourages it) passes None. Raises MalformedCredential (missing
    or unparsable headers), UnknownClient, StaleCredential (timestamp outside +/- `window_s`),
    BadSignature, CredentialMismatch (a credential of another client) or ReplayedNonce.
    """
    client_id = header(headers, "yac-client-id")
    ts_text = header(headers, "yac-timestamp")
    nonce = header(headers, "yac-nonce")
    if not client_id or not ts_text or not nonce:
        raise MalformedCredential("yac-client-id, yac-timestamp and yac-nonce are required")
    if not is_number(ts_text) or len(ts_text) > 12:
        raise MalformedCredential("yac-timestamp is not a Unix time in seconds")
    if len(nonce) > MAX_NONCE_LEN:
        raise MalformedCredential(f"yac-nonce is longer than {MAX_NONCE_LEN} characters")
    timestamp_s = int(ts_text)
    if abs(now_s - timestamp_s) > window_s:
        raise StaleCredential(f"yac-timestamp is {now_s - timestamp_s} s from now")
    client = clients.get(client_id)
    if client is None:
        raise UnknownClient("yac-client-id is not a configured client")
    scheme = _check_credential(headers, query or {}, client, timestamp_s, nonce, pathname)
    if not nonces.remember(client_id, nonce, timestamp_s + window_s):
        raise ReplayedNonce("yac-nonce was already used")
    return Verified(client_id, scheme)


def _check_credential(
    headers: Mapping[str, str],
    query: Mapping[str, str],
    client: ClientCredentials,
    timestamp_s: int,
    nonce: str,
    pathname: str,
) -> Scheme:
    authorization = header(headers, "authorization")
    api_key = header(headers, "api-key")
    if authorization is None and api_key is None:
        api_key = query.get("api_key")
    if authorization is None:
        if api_key is None:
            raise MalformedCredential("no authorization or api-key credential")
        if client.api_key is None or not _equal(api_key, client.api_key):
            raise BadSignature("api-key is not this client's")
        return Scheme.API_KEY
    kind, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if not value:
        raise MalformedCredential("authorization has no credential after its scheme")
    message = string_to_sign(client.client_id, timestamp_s, nonce, pathname)
    kind_lower = kind.lower()
    if kind_lower == Scheme.HMAC.lower():
        if client.hmac_secret is None:
            raise BadSignature("HMAC-SHA256 is not enabled for this client")
        _b64(value, "HMAC signature")
        expected = sign_hmac(client.hmac_secret.reveal(), message)
        if not hmac.compare_digest(value.encode(), expected.encode()):
            raise BadSignature("HMAC-SHA256 signature does not match")
        return Scheme.HMAC
    if kind_lower == Scheme.ECDSA.lower():
        if client.ecdsa_public_key is None:
            raise BadSignature("ECDSA-SHA256 is not enabled for this client")
        signature = _b64(value, "ECDSA signature")
        try:
            DSS.new(client.ecdsa_public_key, "fips-186-3", encoding="der").verify(
                SHA256.new(message), signature
            )
        except ValueError as exc:
            raise BadSignature("ECDSA-SHA256 signature does not verify") from exc
        return Scheme.ECDSA
    if kind_lower == "basic":
        decoded = _b64(value, "Basic credential")
        given_id, colon, given_secret = decoded.decode("utf-8", "replace").partition(":")
        if not colon:
            raise MalformedCredential("Basic credential is not client_id:client_secret")
        if given_id != client.client_id:
            raise CredentialMismatch("Basic credential names another client")
        if client.basic_secret is None or not _equal(given_secret, client.basic_secret):
            raise BadSignature("Basic client secret does not match")
        return Scheme.BASIC
    raise MalformedCredential("authorization scheme is not ECDSA-SHA256, HMAC-SHA256 or Basic")
