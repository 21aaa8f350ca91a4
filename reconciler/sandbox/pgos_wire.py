"""How the PGOS simulator reads a request, written from the specs alone (no reconciler client code).

Rules: every function takes the request's headers (case-insensitive, as HTTP says) and body and
returns the parsed pieces or raises WireError with the simulator's errno and a message. Spec
references: CLI HTTP API 2.3-2.6 (headers, ServerTicket with title_id, Command/Params) and
Backend HTTP API 2.4-2.5 (ServerTicket without title_id; title-wide sha256 Signature). What the
specs leave open is marked ASSUMPTION.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from Crypto.Cipher import AES

IV = b"$3,.'/&^rgnjkl!#"  # both specs, 2.4
TICKET_LIFETIME_S = 2 * 60 * 60  # CLI spec 2.4: "valid for 2 hours"
FUTURE_SKEW_S = 300  # ASSUMPTION: clocks may differ by up to five minutes
TITLE_WIDE_WINDOW_S = 300  # ASSUMPTION: the Backend spec sets no window for Timestamp

E_PARAM = 1001  # ASSUMPTION (no PGOS errno table is public): bad parameters
E_COMMAND = 1002  # unknown command
E_AUTH = 1003  # authentication refused
SDK_VERIFICATION = "SecretKey"  # the SDK's CLIVerificationType for server keys


class WireError(Exception):
    """A request the simulator refuses, with the errno it answers."""

    def __init__(self, errno: int, message: str) -> None:
        super().__init__(message)
        self.errno = errno


@dataclass(frozen=True)
class Title:
    """The identity the simulator serves: ids and the server key `SECRETID-XXXX-XXXX-...`."""

    title_id: str
    title_region_id: str
    server_key: str

    @property
    def secret_id(self) -> str:
        """The part before the first dash (spec 2.2)."""
        return self.server_key.split("-", 1)[0]

    @property
    def secret_key(self) -> str:
        """The part after the first dash (spec 2.2)."""
        return self.server_key.split("-", 1)[1]


def _ticket_claims(title: Title, ticket: str) -> dict[str, Any]:
    """Decrypt a ServerTicket with the key the spec describes. Raises WireError."""
    try:
        raw = base64.b64decode(ticket, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WireError(E_AUTH, "ServerTicket is not base64") from exc
    if not raw or len(raw) % 16:
        raise WireError(E_AUTH, "ServerTicket is not whole AES blocks")
    aes_key = title.secret_key.replace("-", "").encode()
    plain = AES.new(aes_key, AES.MODE_CBC, IV).decrypt(raw)
    pad = plain[-1]
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        raise WireError(E_AUTH, "ServerTicket does not decrypt with this server key")
    try:
        claims = json.loads(plain[:-pad].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(E_AUTH, "ServerTicket does not hold JSON") from exc
    if not isinstance(claims, dict):
        raise WireError(E_AUTH, "ServerTicket does not hold a JSON object")
    return claims


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise WireError(E_AUTH, f"header {name} is required")
    return value


def _check_claims(title: Title, claims: dict[str, Any], *, now_s: int, region: bool,
                  with_title_id: bool) -> None:
    if claims.get("secret_id") != title.secret_id:
        raise WireError(E_AUTH, "ServerTicket secret_id does not match")
    when = claims.get("time")
    if not isinstance(when, int) or isinstance(when, bool):
        raise WireError(E_AUTH, "ServerTicket time must be an integer (seconds)")
    if now_s - when > TICKET_LIFETIME_S:
        raise WireError(E_AUTH, "ServerTicket expired (2 hours)")
    if when - now_s > FUTURE_SKEW_S:
        raise WireError(E_AUTH, "ServerTicket is from the future")
    if region and claims.get("title_region_id") != title.title_region_id:
        raise WireError(E_AUTH, "ServerTicket title_region_id does not match")
    if with_title_id:
        if claims.get("title_id") != title.title_id:
            raise WireError(E_AUTH, "ServerTicket must carry this title's title_id (a string)")
    elif "title_id" in claims and claims["title_id"] != title.title_id:
        raise WireError(E_AUTH, "ServerTicket title_id does not match")


def check_cli_auth(title: Title, headers: Mapping[str, str], *, region: bool, sdk: bool,
                   now_s: int) -> None:
    """Check the headers of a CLI request (CLI spec 2.3-2.6).

    A title-region command needs TitleRegionID; a title command may omit it (spec 2.3). The
    ticket must carry title_id (spec 2.4). With `sdk`, `CLIVerificationType: SecretKey` is
    required too, as the SDK always sends it. Raises WireError.
    """
    if _header(headers, "SecretID") != title.secret_id:
        raise WireError(E_AUTH, "unknown SecretID")
    if _header(headers, "TitleID") != title.title_id:
        raise WireError(E_AUTH, "unknown TitleID")
    if region and _header(headers, "TitleRegionID") != title.title_region_id:
        raise WireError(E_AUTH, "unknown TitleRegionID")
    if sdk and headers.get("CLIVerificationType") != SDK_VERIFICATION:
        raise WireError(E_AUTH, "CLIVerificationType must be SecretKey")
    claims = _ticket_claims(title, _header(headers, "ServerTicket"))
    _check_claims(title, claims, now_s=now_s, region=region, with_title_id=True)


def check_backend_auth(title: Title, headers: Mapping[str, str], *, now_s: int) -> None:
    """Check a title-region-wide Backend request (Backend spec 2.4.1, 2.5.1). Raises WireError."""
    if _header(headers, "Secretid") != title.secret_id:
        raise WireError(E_AUTH, "unknown Secretid")
    if _header(headers, "Titleid") != title.title_id:
        raise WireError(E_AUTH, "unknown Titleid")
    if _header(headers, "Titleregionid") != title.title_region_id:
        raise WireError(E_AUTH, "unknown Titleregionid")
    claims = _ticket_claims(title, _header(headers, "Serverticket"))
    _check_claims(title, claims, now_s=now_s, region=True, with_title_id=False)


def title_wide_signature(title_id: str, secret_id: str, secret_key: str, timestamp: str) -> str:
    """Backend spec 2.4.2: sha256 hex of `k=v` joined by `&` in ascending key order."""
    fields = {"secret_id": secret_id, "secret_key": secret_key, "timestamp": timestamp,
              "title_id": title_id}
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields))
    return hashlib.sha256(text.encode()).hexdigest()


def check_title_wide_auth(title: Title, headers: Mapping[str, str], *, now_s: int) -> None:
    """Check a title-wide Backend request (Backend spec 2.4.2, 2.5.2). Raises WireError."""
    if _header(headers, "Titleid") != title.title_id:
        raise WireError(E_AUTH, "unknown Titleid")
    if _header(headers, "Secretid") != title.secret_id:
        raise WireError(E_AUTH, "unknown Secretid")
    stamp = _header(headers, "Timestamp")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise WireError(E_AUTH, "Timestamp must be an integer (seconds)")
    if abs(now_s - int(stamp)) > TITLE_WIDE_WINDOW_S:
        raise WireError(E_AUTH, "Timestamp outside the accepted window")
    expected = title_wide_signature(title.title_id, title.secret_id, title.secret_key, stamp)
    if not hmac.compare_digest(_header(headers, "Signature").lower().encode(), expected.encode()):
        raise WireError(E_AUTH, "Signature does not match")


def read_envelope(body: bytes, *, sdk: bool) -> tuple[str, dict[str, Any]]:
    """(command, params) of a CLI body, in the configured envelope only.

    SDK form: exactly `{"command", "params", "version"}` (what `MakeBusinessRequest` sends);
    spec form: exactly `{"Command", "Params"}` (CLI spec 2.5). Raises WireError.
    """
    doc = read_object(body)
    keys = ("command", "params", "version") if sdk else ("Command", "Params")
    if sorted(doc) != sorted(keys):
        raise WireError(E_PARAM, f"missing {'/'.join(keys)}; got keys {sorted(doc)}")
    command, params = doc[keys[0]], doc[keys[1]]
    if not isinstance(command, str) or not command or not isinstance(params, dict):
        raise WireError(E_PARAM, f"{keys[0]} must be a string and {keys[1]} an object")
    if sdk and not isinstance(doc["version"], str):
        raise WireError(E_PARAM, "version must be a string")
    return command, params


def read_object(body: bytes) -> dict[str, Any]:
    """A Backend request body: a JSON object. Raises WireError."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(E_PARAM, "body is not JSON") from exc
    if not isinstance(doc, dict):
        raise WireError(E_PARAM, "body is not a JSON object")
    return doc
