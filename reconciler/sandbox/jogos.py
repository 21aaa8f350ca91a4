"""The Jogos simulator: getOrders, arrivedorder, and payment/refund notifications.

Rules: built from the spec alone: imports nothing from the reconciler's clients, engine,
server or config; paths and codes are declared here. Every request is checked as the spec
says, in this order: JSON body and `gameId` (305), known game (40001), `Authorization` over the
raw body (41007), other parameters (305). Pages are 1-based, newest or oldest first and nested
or flat as `readings` say (see jogos_pages); `pageSize` is capped at `max_page_size`.
Inspection and controls live under /_sandbox/ and in the attributes of JogosSim.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reconciler.auth import jogos as jogos_auth
from reconciler.auth.user_token import sign_user_token
from reconciler.core import jsontext
from reconciler.errors import AuthError
from reconciler.sandbox.faults import FaultInjector, Faults
from reconciler.sandbox.jogos_pages import GameBook, Readings, notification_doc, page_body
from reconciler.sandbox.orders import REFUNDED, OrderFactory, OrderMix

# Paths and error codes of the spec (sections 2 and 3, "Error codes").
GET_ORDERS = "/api/gamepay/getOrders"
ARRIVED = "/api/gamepay/webhook/arrivedorder"
CODE_MISSING, CODE_NO_GAME, CODE_BAD_SIGNATURE, CODE_SYSTEM = "305", "40001", "41007", "500"
CODE_NO_ORDER = "40004"  # not in the spec: the sandbox's answer for an unknown order id
MESSAGES = {
    CODE_MISSING: "Required parameter is missing",
    CODE_NO_GAME: "Game not found",
    CODE_BAD_SIGNATURE: "Verification failed",
    CODE_SYSTEM: "System error",
    CODE_NO_ORDER: "Order not found",
}


@dataclass
class Drift:
    """Changes applied on every getOrders request, before it is answered."""

    new_orders_per_request: int = 0
    refunds_per_request: int = 0
    short_page_every: int = 0  # every Nth answer lists only the first half of its rows




class JogosSim:
    """State and HTTP app of the simulated Jogos API."""

    def __init__(
        self,
        games: dict[int, str],
        mix: OrderMix | None = None,
        *,
        max_page_size: int = 100,
        success_code: str | int = "200",
        clock: Callable[[], float] = time.time,
        readings: Readings | None = None,
    ) -> None:
        self.readings = readings or Readings()
        self.readings.validate()
        self.mix = mix or OrderMix()
        self.books: dict[int, GameBook] = {}
        for offset, (game_id, key) in enumerate(sorted(games.items())):
            game_mix = OrderMix(**{**self.mix.__dict__, "seed": self.mix.seed + offset})
            book = GameBook(key, OrderFactory(game_mix, game_id))
            for order in book.factory.make_many(game_mix.count):
                book.add(order)
            self.books[game_id] = book
        self.max_page_size = max_page_size
        self.success_code = success_code
        self.clock = clock
        self.drift = Drift()
        self._drift_rng = random.Random(self.mix.seed ^ 0x5EED)
        self.arrived_calls: list[tuple[int, str]] = []
        self.get_orders_calls = 0
        self.rejected: Counter[str] = Counter()
        self.injector = FaultInjector(lambda: {"code": CODE_SYSTEM, "msg": MESSAGES[CODE_SYSTEM]})
        self._rsa: rsa.RSAPrivateKey | None = None
        self.public_key_calls = 0
        self.public_key_cache_control: str | None = None  # sent with publicKey.json when set

    # -- state changes a test or the drift makes -------------------------------------------
    def add_orders(self, game_id: int, count: int) -> list[dict[str, Any]]:
        """Append `count` new orders (newest), paid now, not yet delivered nor refunded."""
        book = self.books[game_id]
        made = [book.factory.make(pay_time_s=int(self.clock())) for _ in range(count)]
        for order in made:
            order["refundStatus"] = order["refundTime"] = None
            order["arrivedStatus"] = 0
            book.add(order)
        return made

    def refund(self, game_id: int, order_id: str, status: int = REFUNDED) -> dict[str, Any]:
        """Set an order's refund status (1 refunded by default) and time.

        Raises KeyError for an unknown order.
        """
        order = self.books[game_id].get(order_id)
        if order is None:
            raise KeyError(order_id)
        order["refundStatus"] = status
        order["refundTime"] = int(self.clock())
        return order

    def inject_raw(self, row: object, game_id: int | None = None) -> None:
        """Append a raw row to a game's getOrders list (the first game by default), served
        verbatim: a value is written as JSON, a `str` is taken as JSON text (so a 5,000-digit
        number, which Python cannot write, can be served). It is no order: notifications,
        arrivedorder and the books ignore it.

        Raises KeyError for an unknown game, ValueError when the row is not JSON.
        """
        book = self.books[min(self.books) if game_id is None else game_id]
        book.add_raw(row if isinstance(row, str) else json.dumps(row))

    def _apply_drift(self, book: GameBook) -> None:
        if self.drift.new_orders_per_request:
            self.add_orders(book.factory.game_id, self.drift.new_orders_per_request)
        for _ in range(self.drift.refunds_per_request):
            order = self._drift_rng.choice(book.orders)
            if order["refundStatus"] is None:
                self.refund(book.factory.game_id, order["orderId"])

    # -- HTTP ---------------------------------------------------------------------------------
    def _answer(self, code: str, **extra: Any) -> web.Response:
        extra.setdefault("msg", MESSAGES.get(code, "Success"))
        if code != "200":
            self.rejected[code] += 1
        return web.json_response({"code": code, **extra})

    async def _authenticate(
        self, request: web.Request, required: tuple[str, ...]
    ) -> tuple[GameBook, dict[str, Any]] | web.Response:
        raw = await request.read()
        try:
            body = jsontext.loads(raw)
        except ValueError:
            return self._answer(CODE_MISSING, msg="Body is not JSON")
        if not isinstance(body, dict) or body.get("gameId") in (None, ""):
            return self._answer(CODE_MISSING, msg="gameId is missing")
        try:
            game_id = int(body["gameId"])
        except (TypeError, ValueError):
            return self._answer(CODE_MISSING, msg="gameId is not a number")
        book = self.books.get(game_id)
        if book is None:
            return self._answer(CODE_NO_GAME)
        try:
            jogos_auth.verify(raw, book.shared_key, request.headers.get("Authorization"))
        except AuthError:
            return self._answer(CODE_BAD_SIGNATURE)
        missing = [name for name in required if body.get(name) in (None, "")]
        if missing:
            return self._answer(CODE_MISSING, msg=f"missing {', '.join(missing)}")
        return book, body

    async def get_orders(self, request: web.Request) -> web.Response:
        """POST /api/gamepay/getOrders."""
        checked = await self._authenticate(request, ("pageNo", "pageSize"))
        if isinstance(checked, web.Response):
            return checked
        book, body = checked
        try:
            page_no, page_size = int(body["pageNo"]), int(body["pageSize"])
        except (TypeError, ValueError):
            return self._answer(CODE_MISSING, msg="pageNo and pageSize must be numbers")
        if page_no < 1 or page_size < 1:
            return self._answer(CODE_MISSING, msg="pageNo and pageSize must be >= 1")
        self.get_orders_calls += 1
        self._apply_drift(book)
        page_size = min(page_size, self.max_page_size)
        entries = book.page(page_no, page_size, self.readings.listing)
        every = self.drift.short_page_every
        if every and self.get_orders_calls % every == 0:
            entries = entries[: len(entries) // 2]
        return web.Response(text=page_body(
            entries, total=book.total(), page_no=page_no, page_size=page_size,
            code=self.success_code, readings=self.readings), content_type="application/json")

    async def arrived(self, request: web.Request) -> web.Response:
        """POST /api/gamepay/webhook/arrivedorder."""
        checked = await self._authenticate(request, ("orderId",))
        if isinstance(checked, web.Response):
            return checked
        book, body = checked
        order = book.get(str(body["orderId"]))
        if order is None:
            return self._answer(CODE_NO_ORDER)
        order["arrivedStatus"] = 1
        self.arrived_calls.append((book.factory.game_id, order["orderId"]))
        return web.json_response({"code": self.success_code, "msg": "Success"})

    async def inspect(self, request: web.Request) -> web.Response:
        """GET /_sandbox/jogos: counts, for people and subprocess tests."""
        return web.json_response(self.stats())

    async def set_faults(self, request: web.Request) -> web.Response:
        """POST /_sandbox/jogos/faults with the fields of Faults (and drift)."""
        doc = await request.json()
        try:
            self.drift = Drift(**doc.pop("drift", {}))
            self.injector.configure(Faults(**doc))
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def set_readings(self, request: web.Request) -> web.Response:
        """POST /_sandbox/jogos/readings with fields of Readings (the others are kept)."""
        try:
            doc = jsontext.loads(await request.read())
            readings = Readings(**{**self.readings.__dict__, **doc})
            readings.validate()
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        self.readings = readings
        return web.json_response({"ok": True, "readings": readings.__dict__})

    async def add_raw(self, request: web.Request) -> web.Response:
        """POST /_sandbox/jogos/raw `{"row": <any JSON>}` or `{"text": "<JSON text>"}`, with an
        optional `game_id`: see inject_raw."""
        try:
            doc = jsontext.loads(await request.read())
            if not isinstance(doc, dict) or ("row" in doc) == ("text" in doc):
                raise ValueError("send an object with `row` or `text`")
            if "text" in doc and not isinstance(doc["text"], str):
                raise ValueError("`text` must be a string of JSON")
            game_id = doc.get("game_id")
            if game_id is not None and (isinstance(game_id, bool) or not isinstance(game_id, int)
                                        or game_id not in self.books):
                raise ValueError("unknown game_id")
            self.inject_raw(doc["text"] if "text" in doc else doc["row"], game_id)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    def stats(self) -> dict[str, Any]:
        """Orders by game with delivered/refund counts, calls received, rejections."""
        games = {}
        for game_id, book in self.books.items():
            games[str(game_id)] = {
                "orders": len(book.orders),
                "delivered": sum(o["arrivedStatus"] for o in book.orders),
                "refund_status": dict(Counter(str(o["refundStatus"]) for o in book.orders)),
                "raw_rows": len(book.raw),
            }
        return {
            "games": games,
            "get_orders_calls": self.get_orders_calls,
            "arrived_calls": len(self.arrived_calls),
            "rejected": dict(self.rejected),
            "faults": self.injector.counters.__dict__,
        }

    # -- user tokens ----------------------------------------------------------------------------
    def _user_key(self) -> rsa.RSAPrivateKey:
        if self._rsa is None:
            self._rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._rsa

    def public_key_b64(self) -> str:
        """The user-token public key as Jogos publishes it: base64 DER."""
        der = self._user_key().public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    def rotate_user_key(self) -> None:
        """Jogos changes its key (the spec says it may at any time)."""
        self._rsa = None

    def issue_user_token(self, user_id: str, game_id: int, *, ttl_s: int = 3600,
                         username: str = "", claims: dict[str, Any] | None = None) -> str:
        """A user token as the Jogos SDK hands it to a game client (`claims` override or add
        claims, e.g. `nbf`)."""
        now = int(self.clock())
        sub = json.dumps({"gameId": str(game_id), "userId": str(user_id),
                          "username": username or f"Player{user_id}"})
        pem = self._user_key().private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode()
        return sign_user_token({"sub": sub, "iss": "com:jogos:sdk", "iat": now,
                                "exp": now + ttl_s, **(claims or {})}, pem)

    async def public_key(self, request: web.Request) -> web.Response:
        """GET /publicKey.json: `{"code": 200, "data": "<base64 DER>"}`."""
        self.public_key_calls += 1
        headers = ({"Cache-Control": self.public_key_cache_control}
                   if self.public_key_cache_control else None)
        return web.json_response({"code": 200, "data": self.public_key_b64()}, headers=headers)

    def app(self) -> web.Application:
        """The aiohttp application serving this simulator."""
        app = web.Application(middlewares=[self.injector.middleware])
        app.router.add_get("/publicKey.json", self.public_key)
        app.router.add_post(GET_ORDERS, self.get_orders)
        app.router.add_post(ARRIVED, self.arrived)
        app.router.add_get("/_sandbox/jogos", self.inspect)
        app.router.add_post("/_sandbox/jogos/faults", self.set_faults)
        app.router.add_post("/_sandbox/jogos/readings", self.set_readings)
        app.router.add_post("/_sandbox/jogos/raw", self.add_raw)
        return app

    # -- notifications ------------------------------------------------------------------------
    def notification_body(self, game_id: int, order_id: str, paytype: str) -> bytes:
        """The exact bytes of a payment (`pay`) or refund (`refund`) notification, with or
        without `paytype` and in the time unit the readings say.

        Raises KeyError for an unknown order.
        """
        order = self.books[game_id].get(order_id)
        if order is None:
            raise KeyError(order_id)
        return jogos_auth.encode_body(notification_doc(order, paytype, self.readings))

    async def notify(
        self, session: aiohttp.ClientSession, url: str, game_id: int, order_id: str,
        paytype: str = "pay",
    ) -> tuple[int, Any]:
        """Send a signed notification to `url`; returns (HTTP status, parsed JSON or text).

        Raises KeyError for an unknown order and aiohttp.ClientError on network failure.
        """
        body = self.notification_body(game_id, order_id, paytype)
        headers = jogos_auth.signed_headers(body, self.books[game_id].shared_key)
        async with session.post(url, data=body, headers=headers) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text
