"""Deterministic Jogos orders for the simulator: same seed, same orders.

Rules: an order is the dict Jogos sends (spec field names); generation depends only on the
OrderMix, never on the clock.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Any

ALPHABET = string.ascii_letters + string.digits
ORDER_ID_LEN = 30

# Refund statuses of the spec.
REFUNDING, REFUNDED, REFUND_FAILED, REFUND_REJECTED = 0, 1, 2, 3

DEFAULT_PRODUCTS = ("1001", "1002", "1003")


@dataclass(frozen=True)
class OrderMix:
    """How many orders, and which shares are delivered or in each refund state."""

    count: int = 1000
    delivered_share: float = 0.3
    refunding_share: float = 0.02
    refunded_share: float = 0.05
    refund_failed_share: float = 0.01
    refund_rejected_share: float = 0.01
    products: tuple[str, ...] = DEFAULT_PRODUCTS
    users: int = 200
    seed: int = 1
    start_time_s: int = 1_760_000_000
    spacing_s: int = 7

    def validate(self) -> None:
        """Raises ValueError when a count or share is out of range."""
        refund = (self.refunding_share + self.refunded_share + self.refund_failed_share
                  + self.refund_rejected_share)
        if self.count < 0 or self.users < 1 or not self.products:
            raise ValueError("count >= 0, users >= 1 and at least one product are required")
        if not 0 <= self.delivered_share <= 1 or not 0 <= refund <= 1:
            raise ValueError("shares must be within 0..1 (refund shares together too)")


class OrderFactory:
    """Makes orders one at a time from a seeded generator (used for drift as well)."""

    def __init__(self, mix: OrderMix, game_id: int) -> None:
        mix.validate()
        self.mix = mix
        self.game_id = game_id
        self._rng = random.Random(mix.seed)
        self._next_time_s = mix.start_time_s

    def order_id(self) -> str:
        """A fresh 30-character order id like the spec's."""
        return "".join(self._rng.choices(ALPHABET, k=ORDER_ID_LEN))

    def make(self, *, pay_time_s: int | None = None) -> dict[str, Any]:
        """One order drawn from the mix."""
        mix, rng = self.mix, self._rng
        if pay_time_s is None:
            pay_time_s = self._next_time_s
            self._next_time_s += mix.spacing_s
        refund_status: int | None = None
        roll = rng.random()
        for status, share in (
            (REFUNDING, mix.refunding_share), (REFUNDED, mix.refunded_share),
            (REFUND_FAILED, mix.refund_failed_share), (REFUND_REJECTED, mix.refund_rejected_share),
        ):
            if roll < share:
                refund_status = status
                break
            roll -= share
        delivered = rng.random() < mix.delivered_share
        return {
            "gameId": self.game_id,
            "orderId": self.order_id(),
            "arrivedStatus": 1 if delivered else 0,
            "productId": rng.choice(mix.products),
            "createTime": pay_time_s - rng.randint(1, 30),
            "payTime": pay_time_s,
            "userId": rng.randint(1, mix.users),
            "refundStatus": refund_status,
            "refundTime": None if refund_status is None else pay_time_s + rng.randint(60, 86400),
        }

    def make_many(self, count: int) -> list[dict[str, Any]]:
        """`count` orders, oldest first."""
        return [self.make() for _ in range(count)]
