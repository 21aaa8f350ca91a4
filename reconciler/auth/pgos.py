"""PGOS authentication: the server key, the ServerTicket and the title-wide signature.

Rules: AES-CBC with PKCS#7 and the constant IV of the spec; the AES key is the secret key
with its dashes removed. Tickets are made from an explicit `time_s`; validation takes `now_s`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from Crypto.Cipher import AES
from Crypto.Util.Padding import pad, unpad

from reconciler.core import jsontext
from reconciler.errors import (
    ConfigError,
    CredentialMismatch,
    MalformedCredential,
    StaleCredential,
)

TICKET_IV = b"$3,.'/&^rgnjkl!#"
TICKET_MAX_AGE_S = 2 * 60 * 60
TICKET_MAX_FUTURE_SKEW_S = 300
AES_KEY_SIZES = (16, 24, 32)


@dataclass(frozen=True, slots=True)
class ServerKey:
    """A PGOS server key split at its first dash: `LTRN-NANI-...` -> ("LTRN", "NANI-...")."""

    secret_id: str
    secret_key: str

    def __repr__(self) -> str:
        return f"ServerKey(secret_id={self.secret_id!r}, secret_key='**********')"

    @property
    def aes_key(self) -> bytes:
        """The AES key: the secret key without dashes."""
        return self.secret_key.replace("-", "").encode("utf-8")


def split_server_key(server_key: str) -> ServerKey:
    """Split a server key at its first `-`.

    Raises ConfigError when there is no dash, either part is empty, or the secret key without
    dashes is not a valid AES key length (16, 24 or 32 bytes).
    """
    secret_id, dash, secret_key = server_key.strip().partition("-")
    if not dash or not secret_id or not secret_key:
        raise ConfigError("server key must look like SECRETID-XXXX-XXXX-XXXX-XXXX (no '-' found)")
    key = ServerKey(secret_id, secret_key)
    if len(key.aes_key) not in AES_KEY_SIZES:
        raise ConfigError(
            f"server key: the part after the secret id has {len(key.aes_key)} characters "
            "without dashes; AES needs 16, 24 or 32"
        )
    return key


@dataclass(frozen=True, slots=True)
class TicketClaims:
    """What a ServerTicket says once decrypted."""

    title_region_id: str
    secret_id: str
    time_s: int
    title_id: str | None = None


def ticket_plaintext(claims: TicketClaims) -> bytes:
    """The JSON a ticket encrypts: the CLI form carries `title_id`, the backend form does not.

    Byte for byte what the SDK's `GenerateServerTicket` encrypts: `json.dumps` with its default
    separators, fields in the order title_id, title_region_id, secret_id, time (also the order
    of the CLI spec's example).
    """
    doc: dict[str, Any] = {}
    if claims.title_id is not None:
        doc["title_id"] = claims.title_id
    doc.update(
        title_region_id=claims.title_region_id, secret_id=claims.secret_id, time=claims.time_s
    )
    return json.dumps(doc).encode("utf-8")


def make_ticket(key: ServerKey, claims: TicketClaims) -> str:
    """Encrypt `claims` into a base64 ServerTicket with AES-CBC, PKCS#7 and the constant IV.

    Raises ValueError if the key's AES length is invalid (split_server_key prevents that).
    """
    cipher = AES.new(key.aes_key, AES.MODE_CBC, TICKET_IV)
    return base64.b64encode(cipher.encrypt(pad(ticket_plaintext(claims), AES.block_size))).decode()


def decrypt_ticket(key: ServerKey, ticket: str) -> TicketClaims:
    """Decrypt and parse a ServerTicket.

    Raises MalformedCredential when the ticket is not base64, not a whole number of blocks,
    badly padded (which is also what a wrong key usually gives), not JSON, or lacks fields.
    """
    try:
        raw = base64.b64decode(ticket.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedCredential("ServerTicket is not base64") from exc
    if not raw or len(raw) % AES.block_size:
        raise MalformedCredential("ServerTicket is not a whole number of AES blocks")
    cipher = AES.new(key.aes_key, AES.MODE_CBC, TICKET_IV)
    try:
        plain = unpad(cipher.decrypt(raw), AES.block_size)
        doc = jsontext.loads(plain)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedCredential("ServerTicket does not decrypt with this server key") from exc
    if not isinstance(doc, dict):
        raise MalformedCredential("ServerTicket does not hold a JSON object")
    region, secret_id, time_s = doc.get("title_region_id"), doc.get("secret_id"), doc.get("time")
    title_id = doc.get("title_id")
    if not isinstance(region, str) or not isinstance(secret_id, str):
        raise MalformedCredential("ServerTicket lacks title_region_id or secret_id")
    if not isinstance(time_s, int) or isinstance(time_s, bool):
        raise MalformedCredential("ServerTicket lacks an integer time")
    if title_id is not None and not isinstance(title_id, str | int):
        raise MalformedCredential("ServerTicket title_id is not a string")
    return TicketClaims(region, secret_id, time_s, None if title_id is None else str(title_id))


def validate_ticket(
    claims: TicketClaims,
    *,
    secret_id: str,
    title_region_id: str | None,
    title_id: str | None,
    now_s: int,
    max_age_s: int = TICKET_MAX_AGE_S,
    max_future_skew_s: int = TICKET_MAX_FUTURE_SKEW_S,
) -> None:
    """Check a decrypted ticket against the request's headers and the clock.

    `title_region_id`/`title_id` of None mean "not checked" (title commands omit the region).
    Raises CredentialMismatch when an id differs, StaleCredential when the ticket is older than
    `max_age_s` or more than `max_future_skew_s` ahead of `now_s`.
    """
    if claims.secret_id != secret_id:
        raise CredentialMismatch("ServerTicket secret_id does not match SecretID")
    if title_region_id is not None and claims.title_region_id != title_region_id:
        raise CredentialMismatch("ServerTicket title_region_id does not match TitleRegionID")
    if title_id is not None and claims.title_id is not None and claims.title_id != title_id:
        raise CredentialMismatch("ServerTicket title_id does not match TitleID")
    age_s = now_s - claims.time_s
    if age_s > max_age_s:
        raise StaleCredential(f"ServerTicket is {age_s} s old; at most {max_age_s} s accepted")
    if -age_s > max_future_skew_s:
        raise StaleCredential(f"ServerTicket is {-age_s} s in the future")


def _flatten(value: object) -> str:
    if isinstance(value, Mapping):
        return params_string(value)
    return str(value)


def params_string(params: Mapping[str, object]) -> str:
    """`k=v` pairs sorted by key and joined by `&`; a nested object becomes its own such string.

    This is `reqParamToStr` of the spec's Postman script.
    """
    return "&".join(f"{k}={_flatten(params[k])}" for k in sorted(params))


def title_signature(*, title_id: str, key: ServerKey, timestamp_s: int) -> str:
    """The title-wide `Signature` header: sha256 hex of the sorted parameter string."""
    params = {
        "title_id": title_id,
        "secret_id": key.secret_id,
        "secret_key": key.secret_key,
        "timestamp": timestamp_s,
    }
    return hashlib.sha256(params_string(params).encode("utf-8")).hexdigest()


def cli_headers(
    key: ServerKey, *, title_id: str, title_region_id: str | None, time_s: int,
    verification_type: str | None = "SecretKey",
) -> dict[str, str]:
    """Headers of a CLI HTTP API request, in the SDK's names and order.

    `title_region_id` None for a title command in the spec's form (empty `TitleRegionID`);
    `verification_type` None leaves out the SDK's `CLIVerificationType` header (spec form).
    """
    claims = TicketClaims(title_region_id or "", key.secret_id, time_s, title_id)
    headers = {
        "Content-Type": "application/json",
        "SecretID": key.secret_id,
        "TitleID": title_id,
        "TitleRegionID": title_region_id or "",
        "ServerTicket": make_ticket(key, claims),
    }
    if verification_type is not None:
        headers["CLIVerificationType"] = verification_type
    return headers


def backend_headers(
    key: ServerKey, *, title_id: str, title_region_id: str, time_s: int
) -> dict[str, str]:
    """Headers of a title-region-wide Backend HTTP API request (spec 2.5.1: the ticket has no
    `title_id`)."""
    claims = TicketClaims(title_region_id, key.secret_id, time_s)
    return {
        "Content-Type": "application/json",
        "Secretid": key.secret_id,
        "Serverticket": make_ticket(key, claims),
        "Titleid": title_id,
        "Titleregionid": title_region_id,
    }


def title_headers(key: ServerKey, *, title_id: str, timestamp_s: int) -> dict[str, str]:
    """Headers of a title-wide Backend HTTP API request (spec 2.5.2)."""
    return {
        "Content-Type": "application/json",
        "Titleid": title_id,
        "Secretid": key.secret_id,
        "Timestamp": str(timestamp_s),
        "Signature": title_signature(title_id=title_id, key=key, timestamp_s=timestamp_s),
    }


def backend_url_for_region(title_region_id: str) -> str:
    """The Backend HTTP API base URL derived from a title region id, as the spec's samples do."""
    location = title_region_id.split("_")[0] or "euff"
    suffix = "cn" if location in ("t", "d") or location.startswith("cn") else "com"
    return f"https://{location}.server.pgos.intlgame.{suffix}"
