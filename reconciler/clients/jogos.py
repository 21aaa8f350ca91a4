"""Jogos API client: getOrders and arrivedorder, signed, retried at this edge.

Rules: every reading of the spec is accepted: getOrders answers nested (`page` object, as the
spec's example) or flat (the page fields beside `code`, as its field table), rows listed newest
or oldest first (the engine copes with both). Page fields are bounded integers or the answer is
refused (transient); rows are handed on unparsed, with over-long integer literals kept as text,
so a bad row is the engine's to quarantine and never fails the page.
"""

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
MAX_PAGE_FIELD = 10**9  # total, currentPage, pageSize beyond this are nonsense
# The flat reading names no list for the rows: `content` as in the example, or a usual name.
ROW_LISTS = ("content", "list", "records", "rows", "data")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of getOrders; `content` rows are unparsed (the engine parses them)."""

    total: int  # `totalPage` is not read: the engine counts pages from `total`
    current_page: int
    page_size: int
    content: list[Any]


def _code(answer: Any) -> str:
    if not isinstance(answer, dict):
        raise TransientError("Jogos answer is not a JSON object")
    return str(answer.get("code", "")).strip().upper()


def _int(value: Any, name: str) -> int:
    """A page field as an int. Raises TransientError when missing, not a number or absurd."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TransientError(f"Jogos page.{name} is missing")
    if isinstance(value, str) and len(value.strip()) > len(str(MAX_PAGE_FIELD)):
        raise TransientError(f"Jogos page.{name} is out of range")
    try:
        number = int(value)
    except ValueError as exc:
        raise TransientError(f"Jogos page.{name} is not a number") from exc
    if not 0 <= number <= MAX_PAGE_FIELD:
        raise TransientError(f"Jogos page.{name} is out of range")
    return number


def page_of(answer: dict[str, Any], page_no: int, page_size: int) -> Page:
    """The page in a getOrders answer, nested (`page`: {...}) or flat (fields at the top).

    Raises TransientError when neither shape holds a list of rows or a page field is bad.
    """
    nested = answer.get("page")
    holder = nested if isinstance(nested, dict) else answer
    rows = next((holder[k] for k in ROW_LISTS if isinstance(holder.get(k), list)), None)
    if rows is None:
        raise TransientError("Jogos getOrders answer has no list of rows (page.content)")
    return Page(
        total=_int(holder.get("total"), "total"),
        current_page=_int(holder.get("currentPage", page_no), "currentPage"),
        page_size=_int(holder.get("pageSize", page_size), "pageSize"),
        content=rows,
    )


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
            stats=self.stats, name=name, keep_long_numbers=True,
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
        """One page of orders (1-based, in the store's order: newest or oldest first).

        Raises PermanentError (305, 40001, 41007 ...) or TransientError once retries ran out.
        """
        async def attempt() -> Page:
            answer = await self._once(
                GET_ORDERS, {"gameId": self.game_id, "pageNo": page_no, "pageSize": page_size},
                "jogos.getOrders")
            try:
                return page_of(answer, page_no, page_size)
            except TransientError:
                self.stats.failures["jogos.getOrders:shape"] += 1
                raise

        return await self.retry.run(attempt, stats=self.stats, name="jogos.getOrders")

    async def mark_delivered(self, order_id: str) -> None:
        """arrivedorder: tell Jogos the order was delivered (idempotent on their side).

        Raises PermanentError or TransientError once retries ran out.
        """
        payload = {"gameId": self.game_id, "orderId": order_id}
        await self.retry.run(lambda: self._once(ARRIVED, payload, "jogos.arrivedorder"),
                             stats=self.stats, name="jogos.arrivedorder")
