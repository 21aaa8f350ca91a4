"""Routes of the daemon: notifications, /link, /ops/, /healthz, /metrics.

Rules: every failed service-to-service authentication gets the same 401 (unauthorized()), its
reason logged at INFO without credentials; a player id is checked before anything is written;
/link never moves a linked user to another player unless the operator allows it; every answer
carries `Server: reconciler` and no version.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any

from aiohttp import web, web_response

from reconciler.auth import jogos as jogos_auth
from reconciler.auth import s2s
from reconciler.core import jsontext
from reconciler.core.jsontext import is_number
from reconciler.core.models import (
    MAX_DIGITS,
    MalformedOrder,
    notification_kind,
    parse_order,
)
from reconciler.errors import AuthError, ConfigError, LedgerError, UpstreamError
from reconciler.ledger.links import LinkOutcome
from reconciler.runtime import Runtime
from reconciler.server import metrics as server_metrics
from reconciler.server.guard import GuardFigures

log = logging.getLogger("reconciler.server")
PLAYER_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")  # ASCII: at most 128 bytes
SERVER_NAME = "reconciler"
STATE: web.AppKey[Runtime] = web.AppKey("state", Runtime)
COUNTS: web.AppKey[server_metrics.CountsCache] = web.AppKey("counts",
                                                            server_metrics.CountsCache)
CONNECTIONS: web.AppKey[GuardFigures] = web.AppKey("connections", GuardFigures)


def jogos_answer(code: str, msg: str, status: int) -> web.Response:
    """An answer in the spec's shape: `{"code", "msg"}`."""
    return web.json_response({"code": code, "msg": msg}, status=status)


SUCCESS_TEXT = json.dumps({"code": "200", "msg": "Success"})  # what jogos_answer would say


async def notification(request: web.Request) -> web.Response:
    """POST <notify_path>: a Jogos payment or refund notification.

    Verified over the raw body, then taken in by the runtime (recorded durably; what follows
    runs after the answer): with `notify.trust = store` (the default) nothing moves until
    getOrders shows the order (runtime.confirmer); with `signature` the order is applied and
    settled at once, unless it would change the user or product of a known order (a
    conflict). Without `paytype` the kind follows `refundStatus` (see notification_kind);
    malformed values get 305; a ledger failure gets 500.
    """
    state = request.app[STATE]
    raw = await request.read()
    try:
        body = jsontext.loads(raw)
    except ValueError:
        state.count("malformed")
        return jogos_answer("305", "Body is not JSON", 400)
    if not isinstance(body, dict) or body.get("gameId") in (None, ""):
        state.count("malformed")
        return jogos_answer("305", "gameId is missing", 400)
    game_id = str(body["gameId"]).strip()
    known_id = is_number(game_id) and len(game_id) <= MAX_DIGITS  # never int() a huge text
    game = state.config.game(int(game_id)) if known_id else None
    if game is None:
        state.count("unknown_game")
        return jogos_answer("40001", "Game not found", 404)
    try:
        jogos_auth.verify(raw, game.jogos.shared_key.reveal(),
                          request.headers.get("Authorization"))
    except AuthError:
        state.count("bad_signature")
        return jogos_answer("41007", "Verification failed", 401)
    try:
        paytype = notification_kind(body)
        told = parse_order(game.jogos.game_id, body)
    except MalformedOrder as exc:
        state.count("malformed")
        return jogos_answer("305", f"Required parameter is missing: {exc.reason}", 400)
    try:
        with state.engine.foreground.busy():  # a pass's effects wait while answers are due
            await state.take_in_notification(told, paytype, raw)  # returns once committed
    except LedgerError:
        log.exception("notification for %s not recorded", told.order_id)
        return jogos_answer("500", "System error", 500)
    # A duplicate too: it changed nothing. The text is made once (the same bytes each time).
    return web.Response(text=SUCCESS_TEXT, content_type="application/json")


class PeekNonces:
    """A NonceStore that only checks: the nonce is spent later, once the request is known to
    be acceptable, so that a rejected request writes nothing."""

    def __init__(self, state: Runtime) -> None:
        self.state = state

    def remember(self, client_id: str, nonce: str, expires_at_s: int) -> bool:
        """True when the nonce was not used yet (nothing is written)."""
        return not self.state.nonce_seen(client_id, nonce)


def unauthorized() -> web.Response:
    """The one answer to every failed service-to-service authentication (no client configured,
    unknown client, missing or bad credential, stale time, replayed nonce): byte for byte the
    same, so that nothing (a client id, say) can be learnt from it."""
    return web.json_response({"error": "unauthorized"}, status=401)


def refused(request: web.Request, reason: str) -> web.Response:
    """Log why a request was refused (INFO; the claimed client id, never a credential) and
    answer unauthorized()."""
    claimed = (s2s.header(request.headers, "yac-client-id") or "")[:64]
    log.info("s2s refused on %s (client %r): %s", request.path, claimed, reason)
    return unauthorized()


def authenticate(request: web.Request, state: Runtime) -> s2s.Verified | web.Response:
    """Service-to-service authentication of /link and /ops/ (nonce checked, not yet spent).

    Any failure is unauthorized(). `api_key` in the query string counts only when the operator
    allows it (OPS_ALLOW_QUERY_API_KEY); the spec strongly discourages it.
    """
    if not state.clients:
        return refused(request, "no ops client configured")
    query = dict(request.query) if state.config.daemon.allow_query_api_key else None
    try:
        return s2s.verify_request(
            dict(request.headers), pathname=request.path, clients=state.clients,
            now_s=int(state.engine.clock()), nonces=PeekNonces(state),
            query=query, window_s=state.config.daemon.ops_window_s)
    except AuthError as exc:
        return refused(request, f"{type(exc).__name__}: {exc}")


def spend_nonce(request: web.Request, state: Runtime,
                verified: s2s.Verified) -> web.Response | None:
    """Record the request's nonce (in the ledger, so it survives restarts) just before a
    successful answer; a 401 answer when a concurrent twin spent it first. Refused requests
    never spend their nonce, so they write nothing."""
    nonce = s2s.header(request.headers, "yac-nonce") or ""
    timestamp = int(s2s.header(request.headers, "yac-timestamp") or 0)
    if state.spend_nonce(verified.client_id, nonce, timestamp + state.config.daemon.ops_window_s):
        return None
    return refused(request, "ReplayedNonce: spent by a concurrent twin")


async def json_body(request: web.Request) -> dict[str, Any] | web.Response:
    """The request's JSON object, or a 400 answer."""
    try:
        body = jsontext.loads(await request.read())
    except ValueError:
        return web.json_response({"error": "body is not JSON"}, status=400)
    if not isinstance(body, dict):
        return web.json_response({"error": "body is not a JSON object"}, status=400)
    return body


async def link(request: web.Request) -> web.Response:
    """POST /link {token, player_id}: link a verified Jogos user to a PGOS player.

    400 for a player id outside PLAYER_ID (nothing written); 409 when the user is linked to
    another player and re-linking is not allowed (RECONCILER_LINK_ALLOW_RELINK); the same
    link again is an idempotent 200.
    """
    state = request.app[STATE]
    verified = authenticate(request, state)
    if isinstance(verified, web.Response):
        return verified
    body = await json_body(request)
    if isinstance(body, web.Response):
        return body
    token, player_id = body.get("token"), body.get("player_id")
    if not isinstance(token, str) or not isinstance(player_id, str):
        return web.json_response({"error": "token and player_id (strings) are required"},
                                 status=400)
    if not PLAYER_ID.fullmatch(player_id):
        return web.json_response({"error": "player_id must be 1 to 128 characters among "
                                  "A-Z a-z 0-9 - _ . : @"}, status=400)
    try:
        user = await state.public_keys.verify(token, [g.jogos.game_id for g in state.config.games])
    except AuthError as exc:
        return web.json_response({"error": f"user token refused: {type(exc).__name__}"},
                                 status=401)
    except (UpstreamError, ConfigError):
        log.exception("public key unavailable")
        return web.json_response({"error": "public key unavailable"}, status=503)
    game_id = int(user.game_id)
    replayed = spend_nonce(request, state, verified)
    if replayed is not None:
        return replayed
    outcome, waiting = state.link_user(game_id, user.user_id, player_id,
                                       source=f"token:{verified.client_id}")
    if outcome is LinkOutcome.CONFLICT:
        log.info("link refused: user %s of game %s is linked to another player",
                 user.user_id, game_id)
        return web.json_response({"error": "user is linked to another player"}, status=409)
    return web.json_response({"linked": True, "user_id": user.user_id, "game_id": game_id,
                              "outcome": outcome.value, "orders_waiting": waiting})


async def ops_order(request: web.Request) -> web.Response:
    """GET /ops/orders/{game_id}/{order_id}: an order's story."""
    state = request.app[STATE]
    verified = authenticate(request, state)
    if isinstance(verified, web.Response):
        return verified
    game_id = request.match_info["game_id"]
    if not is_number(game_id):
        return web.json_response({"error": "game_id must be a number"}, status=400)
    story = state.engine.ledger.story(int(game_id), request.match_info["order_id"])
    if story is None:
        return web.json_response({"error": "order not in the ledger"}, status=404)
    return spend_nonce(request, state, verified) or web.json_response(story)


async def ops_pass(request: web.Request) -> web.Response:
    """POST /ops/pass: run a reconcile pass now (one at a time)."""
    state = request.app[STATE]
    verified = authenticate(request, state)
    if isinstance(verified, web.Response):
        return verified
    if state.trigger_pass is None or state.stopping:
        return web.json_response({"error": "not accepting work"}, status=503)
    replayed = spend_nonce(request, state, verified)
    if replayed is not None:
        return replayed
    state.trigger_pass()
    return web.json_response({"triggered": True}, status=202)


async def ops_audit(request: web.Request) -> web.Response:
    """GET /ops/audit/latest: the latest audit report's summary."""
    state = request.app[STATE]
    verified = authenticate(request, state)
    if isinstance(verified, web.Response):
        return verified
    run = state.engine.ledger.last_run_of_kind("audit")
    if run is None:
        return web.json_response({"error": "no audit yet"}, status=404)
    return spend_nonce(request, state, verified) or web.json_response(run)


def health(state: Runtime) -> dict[str, Any]:
    """Liveness with the age of the last successful pass, and this daemon's role (a follower
    of a shared ledger runs no pass: it is healthy while it serves)."""
    now = time.time()
    age = None if state.last_pass_ok_s is None else round(now - state.last_pass_ok_s, 1)
    limit = state.config.daemon.healthy_age_s
    fresh = age is not None and age <= limit
    starting = state.last_pass_ok_s is None and now - state.started_s <= limit
    follower = not state.leading  # serves requests; the passes are the leader's
    return {"status": "ok" if fresh or starting or follower else "stale",
            "last_pass_age_s": age, "uptime_s": round(now - state.started_s, 1),
            "stopping": state.stopping, "role": "follower" if follower else "leader"}


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: 200 while healthy, 503 when the last good pass is too old."""
    doc = health(request.app[STATE])
    return web.json_response(doc, status=200 if doc["status"] == "ok" else 503)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: prometheus_client's exposition (text or OpenMetrics, by `Accept`, with
    its own Content-Type); ledger counts cached and read off the event loop."""
    state = request.app[STATE]
    if not server_metrics.authorised(request, state):
        return web.json_response({"error": "unauthorized"}, status=401,
                                 headers={"WWW-Authenticate": "Bearer"})
    body, content_type = await server_metrics.render(
        state, request.app[COUNTS], request.app[CONNECTIONS], request.headers.get("Accept"))
    return web.Response(body=body, headers={"Content-Type": content_type,
                                            "X-Content-Type-Options": "nosniff"})


async def server_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every answer says `Server: reconciler`, no Python or aiohttp
    version."""
    response.headers["Server"] = SERVER_NAME


@web.middleware
async def body_deadline(request: web.Request, handler: Any) -> web.StreamResponse:
    """A request body must arrive within `body_timeout_s` (a slow body is a 408). A body
    already whole (a notification's, most often in the packet of its head) waits for
    nothing, so no timer is set for it."""
    if request.body_exists and request.content.is_eof():
        await request.read()  # from the buffer
    elif request.body_exists:
        try:
            async with asyncio.timeout(request.app[STATE].config.daemon.body_timeout_s):
                await request.read()  # cached: handlers read it again for free
        except TimeoutError:
            return web.json_response({"error": "request body too slow"}, status=408)
    response: web.StreamResponse = await handler(request)
    return response


@web.middleware
async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """A request our code cannot handle gets a 4xx for its input, never a traceback."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unhandled error on %s", request.path)
        return web.json_response({"error": "internal error"}, status=500)


def build_app(state: Runtime) -> web.Application:
    """The daemon's aiohttp application (its connection figures under CONNECTIONS, for the
    listener to count into)."""
    app = web.Application(client_max_size=state.config.daemon.max_body_bytes,
                          middlewares=[errors, body_deadline])
    app[STATE] = state
    app.on_response_prepare.append(server_header)
    # An answer aiohttp makes before routing (a request it cannot parse) skips the signal and
    # takes aiohttp's default, which names Python's and aiohttp's versions: replace it. This is
    # process-wide, and the daemon's process serves nothing else.
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]
    app[COUNTS] = server_metrics.CountsCache(state.config.daemon.metrics_cache_s)
    app[CONNECTIONS] = GuardFigures()
    app.router.add_post(state.config.daemon.notify_path, notification)
    app.router.add_post("/link", link)
    app.router.add_get("/ops/orders/{game_id}/{order_id}", ops_order)
    app.router.add_post("/ops/pass", ops_pass)
    app.router.add_get("/ops/audit/latest", ops_audit)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
