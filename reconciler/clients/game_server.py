"""The game server (a studio's own server that keeps its players' items) as the fulfilment
target: POST /grant and /revoke, signed with the service-to-service HMAC scheme.

Rules: the configured URL may carry a path prefix (`https://game.example/studio`); an endpoint
is appended to that path and any query of the URL is kept. The signed PATHNAME is the whole
path of the URL actually requested, percent-encoded as sent (`/studio/grant`), computed from
the very URL object that is sent; as the spec's PATHNAME, it excludes the query string.
"Game server" is this target's one name in code; the operator's settings (`SINK_URL`,
`SINK_CLIENT_ID`, `SINK_SECRET`, `RECONCILER_FULFILMENT=http`) and the metrics labels
(`sink/grant`, `sink/revoke`) keep their published names.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp
from yarl import URL

from reconciler.auth import s2s
from reconciler.clients.http import post_json
from reconciler.clients.retry import PermanentError, RequestStats, RetryPolicy, TransientError


class GameServerClient:
    """Sends grants and revocations to a game server."""

    def __init__(self, session: aiohttp.ClientSession, *, url: str, client_id: str,
                 secret: str, retry: RetryPolicy, timeout_s: float, stats: RequestStats,
                 clock: Callable[[], float]) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self._base = URL(url)
        self.client_id = client_id
        self._secret = secret
        self.retry = retry
        self.timeout_s = timeout_s
        self.stats = stats
        self.clock = clock

    def __repr__(self) -> str:
        return f"GameServerClient(url={self.url!r}, client_id={self.client_id!r})"

    def target(self, path: str) -> URL:
        """The URL of endpoint `path` (`/grant`) under the configured URL: its path prefix
        and query kept byte for byte (as encoded), its fragment dropped."""
        base = self._base
        joined = base.with_path(base.raw_path.rstrip("/") + path, encoded=True)
        query = base.raw_query_string
        return URL(f"{joined}?{query}", encoded=True) if query else joined

    async def _once(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        target = self.target(path)
        headers = s2s.request_headers(
            s2s.Scheme.HMAC, client_id=self.client_id, timestamp_s=int(self.clock()),
            nonce=secrets.token_hex(12), pathname=target.raw_path, secret=self._secret,
        )
        headers["Content-Type"] = "application/json"
        answer = await post_json(self.session, str(target), json.dumps(payload).encode(),
                                 headers, timeout_s=self.timeout_s, stats=self.stats,
                                 name=f"sink{path}")
        if not isinstance(answer, dict):
            raise TransientError(f"game server {path}: answer is not an object")
        if answer.get("ok") is True:
            return answer
        raise PermanentError("refused", f"game server {path}: {answer.get('error')}")

    async def send(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a signed request (a fresh nonce each attempt).

        Raises PermanentError, or TransientError once retries ran out.
        """
        return await self.retry.run(lambda: self._once(path, payload), stats=self.stats,
                                    name=f"sink{path}")
