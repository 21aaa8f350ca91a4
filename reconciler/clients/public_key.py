"""The Jogos user-token public key, fetched from the configured URL and cached.

Rules: the spec says the key may change at any time, so a token that fails verification
against the cached key is tried once more against a freshly fetched key.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from reconciler.auth.user_token import JogosUser, load_public_key, verify_user_token
from reconciler.clients.retry import TransientError
from reconciler.errors import BadSignature, ConfigError, CredentialMismatch


class PublicKeyCache:
    """Fetches `{"data": "<base64 DER or PEM>"}` from `url` and verifies tokens with it."""

    def __init__(self, session: aiohttp.ClientSession, url: str, *, timeout_s: float = 10,
                 clock: Callable[[], float] = time.time) -> None:
        self.session = session
        self.url = url
        self.timeout_s = timeout_s
        self.clock = clock
        self._key: RSAPublicKey | None = None
        self.fetches = 0

    async def fetch(self) -> RSAPublicKey:
        """Fetch and parse the key.

        Raises TransientError when it cannot be fetched, ConfigError when it is not a key.
        """
        self.fetches += 1
        try:
            async with self.session.get(
                    self.url, timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as response:
                if response.status != 200:
                    raise TransientError(f"public key: HTTP {response.status}")
                doc = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TransientError(f"public key: {type(exc).__name__}") from exc
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, str):
            raise ConfigError("public key answer has no data string")
        self._key = load_public_key(data)
        return self._key

    async def verify(self, token: str, game_ids: list[int]) -> JogosUser:
        """Verify a user token for one of `game_ids`, refetching the key once if the
        signature does not verify.

        Raises the AuthError subclasses of verify_user_token (CredentialMismatch for a game
        not served), TransientError, ConfigError.
        """
        key = self._key or await self.fetch()
        try:
            user = verify_user_token(token, key, now_s=int(self.clock()))
        except BadSignature:
            key = await self.fetch()
            user = verify_user_token(token, key, now_s=int(self.clock()))
        if user.game_id not in {str(g) for g in game_ids}:
            raise CredentialMismatch("user token is for a game not served here")
        return user
