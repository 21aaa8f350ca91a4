"""Jogos user tokens: RS256 JWTs whose `sub` claim is a JSON string describing the user.

Rules: only RS256 is accepted; the public key is an argument (PEM or base64 DER, as Jogos
publishes it); the clock is an argument (`now_s`). Every failure is a distinct AuthError.
`exp` is required; `nbf` and `iat` are optional but, when present, must be integers: a token
is refused before `nbf`, and when issued (`iat`) in the future. One leeway (`leeway_s`) absorbs
clock skew for all three.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from reconciler.core import jsontext
from reconciler.errors import (
    BadSignature,
    ConfigError,
    CredentialMismatch,
    MalformedCredential,
    TokenExpired,
    TokenNotYetValid,
    WrongAlgorithm,
)

ALGORITHM = "RS256"
CLOCK_LEEWAY_S = 60  # the skew the daemon tolerates between Jogos's clock and ours


@dataclass(frozen=True, slots=True)
class JogosUser:
    """The user a verified token speaks for."""

    user_id: str
    game_id: str
    username: str


def load_public_key(text: str) -> RSAPublicKey:
    """Load an RSA public key given as PEM or as base64 DER (X.509 SubjectPublicKeyInfo).

    Raises ConfigError when it is neither, or not RSA.
    """
    stripped = text.strip()
    try:
        if stripped.startswith("-----BEGIN"):
            key = load_pem_public_key(stripped.encode())
        else:
            key = load_der_public_key(base64.b64decode("".join(stripped.split()), validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ConfigError("Jogos public key is not a PEM or base64 DER public key") from exc
    if not isinstance(key, RSAPublicKey):
        raise ConfigError("Jogos public key is not an RSA key")
    return key


def verify_user_token(
    token: str,
    public_key: RSAPublicKey,
    *,
    now_s: int,
    game_id: str | int | None = None,
    leeway_s: int = 0,
) -> JogosUser:
    """Verify a Jogos user token and return its user.

    Raises MalformedCredential (not a JWT, `sub` not the expected JSON, or `exp`, `nbf`,
    `iat` not integers), WrongAlgorithm (anything but RS256), BadSignature, TokenExpired
    (`exp` + leeway before `now_s`), TokenNotYetValid (`nbf` or `iat` more than the leeway
    after `now_s`) and CredentialMismatch (its game is not `game_id`).
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise MalformedCredential("user token is not a JWT") from exc
    if header.get("alg") != ALGORITHM:
        raise WrongAlgorithm(f"user token alg is {header.get('alg')!r}; RS256 is required")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise BadSignature("user token signature does not verify") from exc
    except jwt.InvalidTokenError as exc:
        raise MalformedCredential("user token cannot be decoded") from exc
    exp = _time_claim(claims, "exp")
    if exp is None:
        raise MalformedCredential("user token has no integer exp claim")
    if exp + leeway_s < now_s:
        raise TokenExpired(f"user token expired {now_s - exp} s ago")
    for name, meaning in (("nbf", "valid"), ("iat", "issued")):
        moment = _time_claim(claims, name)
        if moment is not None and moment - leeway_s > now_s:
            raise TokenNotYetValid(f"user token is {meaning} only in {moment - now_s} s ({name})")
    user = _parse_subject(claims.get("sub"))
    if game_id is not None and user.game_id != str(game_id):
        raise CredentialMismatch("user token is for another game")
    return user


def _time_claim(claims: dict[str, Any], name: str) -> int | None:
    """The integer time claim `name`, or None when absent. Raises MalformedCredential when
    it is present but not an integer."""
    if name not in claims:
        return None
    value = claims[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedCredential(f"user token {name} claim is not an integer")
    return value


def _parse_subject(sub: object) -> JogosUser:
    if not isinstance(sub, str):
        raise MalformedCredential("user token sub is not a string")
    try:
        doc = jsontext.loads(sub)
    except ValueError as exc:
        raise MalformedCredential("user token sub is not JSON") from exc
    if not isinstance(doc, dict):
        raise MalformedCredential("user token sub is not a JSON object")
    fields = {}
    for name in ("userId", "gameId"):
        value = doc.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
            raise MalformedCredential(f"user token sub lacks {name}")
        fields[name] = str(value)
    username = doc.get("username")
    return JogosUser(
        fields["userId"], fields["gameId"], username if isinstance(username, str) else ""
    )


def sign_user_token(claims: dict[str, Any], private_key_pem: str) -> str:
    """Issue an RS256 token (the sandbox and tests stand in for Jogos with this).

    Raises ValueError when the key is not a usable RSA private key.
    """
    return jwt.encode(claims, private_key_pem, algorithm=ALGORITHM, headers={"alg": ALGORITHM})
