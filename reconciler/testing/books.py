"""Three-way check for tests and benchmarks: does the game agree with the store?

Given the sandbox's store (Jogos orders) and game (PGOS state), every paid order not delivered
elsewhere is granted exactly once and marked delivered; every refunded order that was granted
is revoked; balances and available items equal what the unrefunded grants give.

Rules: reads the simulators' own state only, never the ledger: the verdict comes from the
store and the game, not from what the reconciler believes it did.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from reconciler.core.catalog import Catalog
from reconciler.sandbox.runner import Sandbox


@dataclass
class Violations:
    """Every disagreement found, as readable lines."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        """Record one disagreement."""
        self.lines.append(line)

    def __bool__(self) -> bool:
        return bool(self.lines)


def check_books(sandbox: Sandbox, catalog: Catalog, delivered_elsewhere: set[str],
                *, game_id: int = 9943) -> Violations:
    """All violations of the exactly-once rules (empty when the books agree)."""
    found = Violations()
    applied: Counter[str] = Counter(e.token for e in sandbox.pgos.log
                                    if e.token and not e.replayed)
    if any(n > 1 for n in applied.values()):
        found.add(f"token applied twice: {[t for t, n in applied.items() if n > 1][:5]}")
    instances: dict[str, list[tuple[str, str, str]]] = {}
    for player_id, player in sandbox.pgos.players.items():
        for inst in player.instances.values():
            instances.setdefault(inst.IdempotencyToken, []).append(
                (player_id, inst.ItemID, inst.Status))
    want_balance: Counter[tuple[str, str]] = Counter()
    want_items: Counter[tuple[str, str]] = Counter()
    for order in sandbox.jogos.books[game_id].orders:
        oid = order["orderId"]
        token = f"grant:{game_id}:{oid}"
        product = catalog.get(order["productId"])
        if product is None:
            continue
        tokens = ([token] if product.items else []) + [f"{token}:{c.code}"
                                                         for c in product.currency]
        granted = [t for t in tokens if applied[t]]
        refund = order["refundStatus"]
        owner = str(order["userId"])
        if granted and len(granted) != len(tokens):
            found.add(f"{oid}: partly granted {granted}")
        if refund == 1:
            for _, _, status in instances.get(token, []):
                if status != "Revoked":
                    found.add(f"{oid}: refunded but an instance is {status}")
            for c in product.currency if granted else ():
                if applied[f"revoke:{game_id}:{oid}:{c.code}"] != 1:
                    found.add(f"{oid}: refunded but {c.code} not subtracted exactly once")
            continue
        if refund == 0:
            if granted:
                found.add(f"{oid}: granted while refunding")
            continue
        if oid in delivered_elsewhere:
            if granted:
                found.add(f"{oid}: delivered elsewhere yet granted")
            continue
        if not granted:
            found.add(f"{oid}: paid but not granted")
            continue
        if order["arrivedStatus"] != 1:
            found.add(f"{oid}: granted but not marked delivered")
        for c in product.currency:
            want_balance[(owner, c.code)] += c.amount
        for item in product.items:
            want_items[(owner, item.item_id)] += 1
    have_balance: Counter[tuple[str, str]] = Counter()
    have_items: Counter[tuple[str, str]] = Counter()
    for player_id, player in sandbox.pgos.players.items():
        for code, amount in player.currency.items():
            if amount:
                have_balance[(player_id, code)] = amount
        for inst in player.instances.values():
            if inst.Status == "Available":
                have_items[(player_id, inst.ItemID)] += 1
    if +want_balance != +have_balance:
        diff = (want_balance - have_balance) + (have_balance - want_balance)
        found.add(f"balances differ: {dict(list(diff.items())[:5])}")
    if +want_items != +have_items:
        diff = (want_items - have_items) + (have_items - want_items)
        found.add(f"available items differ: {dict(list(diff.items())[:5])}")
    return found


def delivered_at_start(sandbox: Sandbox, game_id: int = 9943) -> set[str]:
    """Orders the store already says are delivered (history from before the reconciler)."""
    return {o["orderId"] for o in sandbox.jogos.books[game_id].orders if o["arrivedStatus"] == 1}
