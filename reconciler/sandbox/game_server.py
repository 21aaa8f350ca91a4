"""A studio's own game server: `POST /grant` and `POST /revoke`, signed requests only.

Rules: a request is accepted when it carries valid `yac-*` service-to-service credentials of a
configured client or valid signed-request headers; stale timestamps and replayed nonces are
refused (401). A signature must cover the path this server received, percent-encoded as it
arrived and including the mount `prefix` (`/studio/grant`), never the query. Grants are
idempotent by `idempotency_token`. Only auth/, core/ and errors are imported: nothing of the
client side it checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from reconciler.auth import s2s, signed_headers
from reconciler.core import jsontext
from reconciler.errors import AuthError
from reconciler.sandbox.faults import FaultInjector


@dataclass
class GameServerSim:
    """State and HTTP app of the simulated game server."""

    clients: dict[str, s2s.ClientCredentials]
    app_secret: str | None = None
    prefix: str = ""  # mount point: "/studio" serves /studio/grant and /studio/revoke
    clock: Callable[[], float] = time.time
    nonces: s2s.MemoryNonceStore = field(default_factory=s2s.MemoryNonceStore)
    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    revokes: list[dict[str, Any]] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    injector: FaultInjector = field(
        default_factory=lambda: FaultInjector(lambda: {"ok": False, "error": "system error"})
    )

    def __post_init__(self) -> None:
        """Raises ValueError when `prefix` is neither empty nor `/name` without a final /."""
        if self.prefix and (not self.prefix.startswith("/") or self.prefix.endswith("/")):
            raise ValueError("prefix must start with / and not end with /")

    def _authenticate(self, request: web.Request) -> str | None:
        now_s = int(self.clock())
        headers = dict(request.headers)
        try:
            if any(k.lower() == "yac-client-id" for k in headers):
                s2s.verify_request(headers, pathname=request.rel_url.raw_path,
                                   clients=self.clients, now_s=now_s, nonces=self.nonces,
                                   query=dict(request.query))
            elif self.app_secret is not None:
                signed_headers.verify(headers, app_secret=self.app_secret, now_s=now_s,
                                      nonces=self.nonces)
            else:
                return "MalformedCredential"
        except AuthError as exc:
            return type(exc).__name__
        return None

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        reason = self._authenticate(request)
        if reason is not None:
            self.rejected[reason] = self.rejected.get(reason, 0) + 1
            return web.json_response({"ok": False, "error": reason}, status=401)
        try:
            body = jsontext.loads(await request.read())
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("player_id") or not body.get("order_id"):
            self.rejected["bad_body"] = self.rejected.get("bad_body", 0) + 1
            return web.json_response({"ok": False, "error": "player_id and order_id required"},
                                     status=400)
        return body

    async def grant(self, request: web.Request) -> web.Response:
        """POST /grant {player_id, order_id, items, currency, idempotency_token}."""
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        token = str(body.get("idempotency_token") or body["order_id"])
        replayed = token in self.grants
        if not replayed:
            self.grants[token] = body
        return web.json_response({"ok": True, "replayed": replayed})

    async def revoke(self, request: web.Request) -> web.Response:
        """POST /revoke {player_id, order_id}."""
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        self.revokes.append(body)
        return web.json_response({"ok": True})

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(middlewares=[self.injector.middleware])
        app.router.add_post(self.prefix + "/grant", self.grant)
        app.router.add_post(self.prefix + "/revoke", self.revoke)
        return app
