"""Jogos API client: getOrders and arrivedorder, signed, retried at this edge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from reconciler.auth import jogos as jogos_auth
from reconciler.clients.http import post_json
from reconciler.clients.retry import PermanentError, RequestStats, RetryPolicy, TransientError

GET_ORDERS = "/api/gamepay/getOrders"
ARRIVED = "/api/gamepay/webhook/arrivedorder"
SUCCESS_CODES = frozenset({"200", "SUCCESS"})
SYSTEM_ERROR = "500"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of getOrders; `content` rows are unparsed (the engine parses them)."""

    total: int
    total_pages: int
    current_page: int
    page_size: int
    content: list[Any]


def _code(answer: Any) -> str:
    if not isinstance(answer, dict):
        raise TransientError("Jogos answer is not a JSON object")
    return str(answer.get("code", "")).strip().upper()


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TransientError(f"Jogos page.{name} is missing")
    try:
        return int(value)
    except ValueError as exc:
        raise TransientError(f"Jogos page.{name} is not a number") from exc


class JogosClient:
    """Speaks to one game's Jogos API."""

    def __init__(self, session: aiohttp.ClientSession, *, base_url: str, game_id: int,
                 shared_key: str, retry: RetryPolicy, timeout_s: float,
                 stats: RequestStats) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.game_id = game_id
        self._shared_key = shared_key
        self.retry = retry
        self.timeout_s = timeout_s
        self.stats = stats

    def __repr__(self) -> str:
        return f"JogosClient(base_url={self.base_url!r}, game_id={self.game_id})"

    async def _once(self, path: str, payload: dict[str, Any], name: str) -> dict[str, Any]:
        body = jogos_auth.encode_body(payload)
        answer = await post_json(
            self.session, self.base_url + path, body,
            jogos_auth.signed_headers(body, self._shared_key), timeout_s=self.timeout_s,
            stats=self.stats, name=name,
        )
        code = _code(answer)
        if code in SUCCESS_CODES:
            return dict(answer)
        message = str(answer.get("msg") or answer.get("message") or "")
        if code == SYSTEM_ERROR:
            self.stats.failures[f"{name}:code500"] += 1
            raise TransientError(f"Jogos {name}: system error")
        self.stats.failures[f"{name}:code{code}"] += 1
        raise PermanentError(code, f"Jogos {name} refused: {message}")

    async def get_orders(self, page_no: int, page_size: int) -> Page:
        """One page of orders (1-based, newest first).

        Raises PermanentError (305, 40001, 41007 ...) or TransientError once retries ran out.
        """
        async def attempt() -> Page:
            answer = await self._once(
                GET_ORDERS, {"gameId": self.game_id, "pageNo": page_no, "pageSize": page_size},
                "jogos.getOrders")
            page = answer.get("page")
            if not isinstance(page, dict) or not isinstance(page.get("content"), list):
                self.stats.failures["jogos.getOrders:shape"] += 1
                raise TransientError("Jogos getOrders answer has no page.content list")
            return Page(
                total=_int(page.get("total"), "total"),
                total_pages=_int(page.get("totalPage"), "totalPage"),
                current_page=_int(page.get("currentPage", page_no), "currentPage"),
                page_size=_int(page.get("pageSize", page_size), "pageSize"),
                content=page["content"],
            )

        return await self.retry.run(attempt)

    async def mark_delivered(self, order_id: str) -> None:
        """arrivedorder: tell Jogos the order was delivered (idempotent on their side).

        Raises PermanentError or TransientError once retries ran out.
        """
        payload = {"gameId": self.game_id, "orderId": order_id}
        await self.retry.run(lambda: self._once(ARRIVED, payload, "jogos.arrivedorder"))
