"""The Jogos user-token public key: fetched from the configured URL, kept for a bounded time.

Rules: the spec says to "always retrieve the public key when verifying the token, as it may
change at any time"; we keep a fetched key for at most `ttl_s` (less when the key server's
`Cache-Control: max-age`, minus its `Age`, says less; `no-cache` / `no-store` count as 0), so a
rotated-out key stops verifying within `ttl_s`. A key is kept at least `min_refetch_s`, even
when the server says less. A token whose signature fails is retried once against a refetched
key (Jogos tokens name no key id: a failed signature is how a new key shows), but such
refetches happen at most once per `min_refetch_s`, so replayed bad tokens cannot make us hammer
the key server; after a failed fetch, no fetch at all is tried for `min_refetch_s`. The key
server thus sees at most two requests per `min_refetch_s`. Concurrent verifications share one
fetch. Time comes from the injected `clock`; verification itself is auth/user_token, pure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from reconciler.auth.user_token import (
    CLOCK_LEEWAY_S,
    JogosUser,
    load_public_key,
    verify_user_token,
)
from reconciler.clients.retry import TransientError
from reconciler.core.jsontext import is_number
from reconciler.errors import BadSignature, ConfigError, CredentialMismatch

log = logging.getLogger("reconciler.public_key")
DEFAULT_TTL_S = 300.0
DEFAULT_MIN_REFETCH_S = 30.0


def server_max_age_s(cache_control: str | None, age: str | None = None) -> float | None:
    """How long the key server lets us keep its answer: `max-age` minus `Age`, 0 for
    `no-cache` or `no-store`, None when it says nothing usable. Never raises."""
    if not cache_control:
        return None
    max_age: float | None = None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-cache", "no-store"):
            return 0.0
        value = value.strip().strip('"')
        if name == "max-age" and is_number(value) and len(value) <= 12:
            max_age = float(int(value))
    if max_age is None:
        return None
    if age and is_number(age.strip()) and len(age.strip()) <= 12:
        max_age -= int(age.strip())
    return max(max_age, 0.0)


class PublicKeyCache:
    """Fetches `{"data": "<base64 DER or PEM>"}` from `url` and verifies tokens with it."""

    def __init__(self, session: aiohttp.ClientSession, url: str, *,
                 ttl_s: float = DEFAULT_TTL_S, min_refetch_s: float = DEFAULT_MIN_REFETCH_S,
                 leeway_s: int = CLOCK_LEEWAY_S, timeout_s: float = 10,
                 clock: Callable[[], float] = time.time) -> None:
        """Raises ConfigError when `min_refetch_s` is not positive or exceeds `ttl_s`."""
        if not 0 < min_refetch_s <= ttl_s:
            raise ConfigError("public key: min_refetch_s must be > 0 and at most ttl_s")
        self.session = session
        self.url = url
        self.ttl_s = ttl_s
        self.min_refetch_s = min_refetch_s
        self.leeway_s = leeway_s
        self.timeout_s = timeout_s
        self.clock = clock
        self.fetches = 0
        self._key: RSAPublicKey | None = None
        self._key_text = ""
        self._expires_at = 0.0
        self._failed_at: float | None = None  # the last fetch, when it failed
        self._refetched_at: float | None = None  # the last refetch after a failed signature
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PublicKeyCache(url={self.url!r}, ttl_s={self.ttl_s}, fetches={self.fetches})"

    def _recent(self, moment: float | None, now: float) -> bool:
        return moment is not None and now - moment < self.min_refetch_s

    def _fresh_key(self, now: float) -> RSAPublicKey | None:
        return self._key if self._key is not None and now < self._expires_at else None

    async def _fetch(self, now: float) -> RSAPublicKey:
        """Fetch, parse and keep the key. Call with the lock held.

        Raises TransientError when it cannot be fetched, ConfigError when it is not a key.
        """
        self.fetches += 1
        self._failed_at = now  # until it succeeds
        try:
            async with self.session.get(
                    self.url, timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as response:
                if response.status != 200:
                    raise TransientError(f"public key: HTTP {response.status}")
                doc = await response.json(content_type=None)
                server_s = server_max_age_s(response.headers.get("Cache-Control"),
                                            response.headers.get("Age"))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TransientError(f"public key: {type(exc).__name__}") from exc
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, str):
            raise ConfigError("public key answer has no data string")
        key = load_public_key(data)
        self._failed_at = None
        lifetime_s = max(min(self.ttl_s, self.ttl_s if server_s is None else server_s),
                         self.min_refetch_s)
        changed = bool(self._key_text) and data.strip() != self._key_text
        self._key, self._key_text, self._expires_at = key, data.strip(), now + lifetime_s
        log.info("Jogos public key fetched%s; kept %.0f s", " (it changed)" if changed else "",
                 lifetime_s)
        return key

    async def current(self) -> RSAPublicKey:
        """The key to verify with now: the kept one while fresh, else a fetched one.

        Raises TransientError when no fresh key can be had (the fetch failed, now or less than
        `min_refetch_s` ago), ConfigError when the answer is not a key.
        """
        key = self._fresh_key(self.clock())
        if key is not None:
            return key
        async with self._lock:
            now = self.clock()
            key = self._fresh_key(now)
            if key is not None:
                return key
            if self._recent(self._failed_at, now):
                raise TransientError("public key: unavailable since the last fetch failed")
            return await self._fetch(now)

    async def _refetched(self, tried: RSAPublicKey) -> RSAPublicKey | None:
        """A key other than `tried`, refetched unless a refetch (or a failed fetch) happened
        less than `min_refetch_s` ago; None when there is no other key to try.

        Raises TransientError or ConfigError when the fetch fails.
        """
        async with self._lock:
            now = self.clock()
            if self._key is not tried:  # another verification refetched meanwhile
                return self._fresh_key(now)
            if self._recent(self._refetched_at, now) or self._recent(self._failed_at, now):
                return None
            self._refetched_at = now
            before = self._key_text
            key = await self._fetch(now)
            return None if self._key_text == before else key

    async def verify(self, token: str, game_ids: list[int]) -> JogosUser:
        """Verify a user token for one of `game_ids`; a failed signature is retried once with
        a refetched key, at most one refetch per `min_refetch_s`.

        Raises the AuthError subclasses of verify_user_token (CredentialMismatch for a game
        not served), TransientError, ConfigError.
        """
        key = await self.current()
        try:
            user = verify_user_token(token, key, now_s=int(self.clock()), leeway_s=self.leeway_s)
        except BadSignature:
            fresh = await self._refetched(key)
            if fresh is None:
                raise
            user = verify_user_token(token, fresh, now_s=int(self.clock()),
                                     leeway_s=self.leeway_s)
        if user.game_id not in {str(g) for g in game_ids}:
            raise CredentialMismatch("user token is for a game not served here")
        return user
