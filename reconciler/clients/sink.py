"""A studio's own game server as the fulfilment target: POST /grant and /revoke, signed with
the service-to-service HMAC scheme."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import aiohttp

from reconciler.auth import s2s
from reconciler.clients.http import post_json
from reconciler.clients.retry import PermanentError, RequestStats, RetryPolicy, TransientError


class SinkClient:
    """Sends grants and revocations to a game server."""

    def __init__(self, session: aiohttp.ClientSession, *, url: str, client_id: str,
                 secret: str, retry: RetryPolicy, timeout_s: float, stats: RequestStats,
                 clock: Callable[[], float]) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.client_id = client_id
        self._secret = secret
        self.retry = retry
        self.timeout_s = timeout_s
        self.stats = stats
        self.clock = clock

    def __repr__(self) -> str:
        return f"SinkClient(url={self.url!r}, client_id={self.client_id!r})"

    async def _once(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        headers = s2s.request_headers(
            s2s.Scheme.HMAC, client_id=self.client_id, timestamp_s=int(self.clock()),
            nonce=secrets.token_hex(12), pathname=path, secret=self._secret,
        )
        headers["Content-Type"] = "application/json"
        answer = await post_json(self.session, self.url + path, json.dumps(payload).encode(),
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
        return await self.retry.run(lambda: self._once(path, payload))
