"""The floor under every secret: known placeholders and values weaker than their kind allows.

Rules: pure; a finding names the rule broken and never echoes the value. The spec's own rules
where it has them (service-to-service auth: a client secret of Base64 characters, an API key
of 22 to 36 hex characters; PGOS: a server key `ID-XXXX-XXXX-XXXX-XXXX`), a minimum length and
some variety of characters elsewhere. Values printed in the shipped examples and in the specs
are refused everywhere: they are public.
"""

from __future__ import annotations

import re
from enum import StrEnum


class SecretKind(StrEnum):
    """What a secret is for, which decides its floor."""

    SHARED_KEY = "shared_key"  # Jogos shared key: no format in the spec; long and varied
    SERVER_KEY = "server_key"  # PGOS server key
    CLIENT_SECRET = "client_secret"  # noqa: S105 (a name) yac-* HMAC or Basic client secret
    API_KEY = "api_key"  # yac-* api key


MIN_LENGTH = 16
MIN_DISTINCT = 8
# Public values: the shipped examples (deploy/reconciler.env.example) and the specs' samples.
KNOWN_PUBLIC = frozenset({
    "change-me", "change-me-too", "ltrn-xxxx-xxxx-xxxx-xxxx", "ltrn-nani-d3tk-yqbm-moux",
    "gr3y-l8v7-8xa5-09yr-yt3m", "fug7podyd+z48olcamltdduqdah8cabxooc7q5eixgm=",
    "590746ceb2a7b943ab123bdcc0105c3e296ef1d12b6a",
    "bf6bcfba6cd20a2f0ba80208c3de9e1604358ba813b48cdfe7fd",
})
PLACEHOLDER_WORDS = ("changeme", "placeholder", "example", "yoursecret", "yourkey", "secret",
                     "password", "replaceme", "todo", "dummy", "xxxx")
SERVER_KEY = re.compile(r"[A-Za-z0-9]{2,16}(-[A-Za-z0-9]{4}){4}")
BASE64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")  # standard or URL-safe alphabet (RFC 4648)
HEX = re.compile(r"[0-9a-fA-F]{22,36}")


def _placeholder(value: str) -> bool:
    folded = value.lower()
    squeezed = re.sub(r"[-_\s.]", "", folded)
    return folded in KNOWN_PUBLIC or any(word in squeezed for word in PLACEHOLDER_WORDS)


def weakness(kind: SecretKind, value: str) -> str | None:
    """Why `value` may not be used as a secret of `kind`, or None when it may."""
    if _placeholder(value):
        return "is a placeholder or a published example; generate a real secret"
    if kind is SecretKind.SERVER_KEY:
        if not SERVER_KEY.fullmatch(value):
            return "must have the shape SECRETID-XXXX-XXXX-XXXX-XXXX (letters and digits)"
        groups = value.split("-")[1:]
        if len(set(groups)) < len(groups) or len(set("".join(groups))) < MIN_DISTINCT:
            return "repeats itself; use the server key the PGOS portal issued"
        return None
    if kind is SecretKind.API_KEY:
        if not HEX.fullmatch(value):
            return "must be 22 to 36 hex characters (service-to-service spec)"
    elif kind is SecretKind.CLIENT_SECRET and not BASE64.fullmatch(value):
        return "must consist of Base64 characters (service-to-service spec)"
    if len(value) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    if len(set(value)) < MIN_DISTINCT:
        return f"has fewer than {MIN_DISTINCT} distinct characters"
    return None
