"""High-availability campaign: two daemons share one PostgreSQL ledger and the sandbox; the
leader is SIGKILLed at random (seeded) moments while passes run and notifications arrive; the
other must take over within twice its lock-check interval; afterwards the books must show no
double grant, no double revocation, no lost order and no acknowledgement left unrecorded.

Rules: used by the quick test in CI and by bench/ha.py with more kills. The daemons are real
`reconciler run` processes (testing.daemon); the store and the game are the sandbox in this
process. Notifications go to either daemon; one that gets no answer (its daemon was killed)
is sent again to the other, as Jogos retries. Every wait is a bounded poll for a state (a
role on /healthz, a grant in the game), or a process exit bounded by the random moment.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from reconciler.core.catalog import Catalog
from reconciler.sandbox.runner import Sandbox
from reconciler.testing.books import check_books
from reconciler.testing.daemon import Daemon

GAME = 9943
POLL_S = 0.02


@dataclass
class HaFigures:
    """What a campaign did and found."""

    kills: int = 0
    takeovers_s: list[float] = field(default_factory=list)
    notifications: int = 0
    acknowledged: int = 0
    resent: int = 0  # sent again to the other daemon after no answer (a killed daemon)
    answered_5xx: int = 0
    orders_added: int = 0
    refunded: int = 0
    double_grants: int = 0
    double_revocations: int = 0
    lost_orders: int = 0
    unrecorded_acks: int = 0
    violations: list[str] = field(default_factory=list)
    settle_s: float = 0.0

    def summary(self) -> dict[str, object]:
        """The figures for a report line."""
        ordered = sorted(self.takeovers_s) or [0.0]
        return {"kills": self.kills, "takeover_max_s": round(ordered[-1], 2),
                "takeover_median_s": round(ordered[len(ordered) // 2], 2),
                "notifications": self.notifications, "acknowledged": self.acknowledged,
                "resent": self.resent, "answered_5xx": self.answered_5xx,
                "orders_added": self.orders_added, "refunded": self.refunded,
                "double_grants": self.double_grants,
                "double_revocations": self.double_revocations,
                "lost_orders": self.lost_orders, "unrecorded_acks": self.unrecorded_acks,
                "violations": len(self.violations), "settle_s": round(self.settle_s, 1)}


async def role(http: aiohttp.ClientSession, daemon: Daemon) -> str | None:
    """The daemon's role on /healthz ("leader", "follower"), None when it does not answer."""
    try:
        async with http.get(f"{daemon.url}/healthz",
                            timeout=aiohttp.ClientTimeout(total=2)) as response:
            return str((await response.json())["role"])
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
        return None


async def wait_for_leader(http: aiohttp.ClientSession, daemons: list[Daemon],
                          timeout_s: float) -> Daemon:
    """The daemon that says it leads. Raises AssertionError when none does in time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for daemon in daemons:
            if await role(http, daemon) == "leader":
                return daemon
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"no leader within {timeout_s}s")


class Notifier:
    """Sends pay notifications to either daemon; one without an answer goes to the other."""

    def __init__(self, sandbox: Sandbox, daemons: list[Daemon], http: aiohttp.ClientSession,
                 rng: random.Random, figures: HaFigures) -> None:
        self.sandbox, self.daemons, self.http = sandbox, daemons, http
        self.rng, self.figures = rng, figures
        self.acked: list[str] = []

    async def one(self, order_id: str) -> None:
        """Notify until a daemon acknowledges (at most 50 tries)."""
        self.figures.notifications += 1
        for attempt in range(50):
            daemon = self.rng.choice(self.daemons)
            try:
                status, answer = await self.sandbox.jogos.notify(
                    self.http, f"{daemon.url}/jogos/notify", GAME, order_id)
            except (aiohttp.ClientError, TimeoutError):
                self.figures.resent += 1
                await asyncio.sleep(POLL_S * attempt)
                continue
            if status == 200 and isinstance(answer, dict) and answer.get("code") == "200":
                self.figures.acknowledged += 1
                self.acked.append(order_id)
                return
            self.figures.answered_5xx += status >= 500
            await asyncio.sleep(POLL_S * attempt)

    async def burst(self, count: int) -> None:
        """`count` new paid orders, each notified."""
        orders = self.sandbox.jogos.add_orders(GAME, count)
        self.figures.orders_added += count
        await asyncio.gather(*(self.one(str(o["orderId"])) for o in orders))

    async def until(self, stop: asyncio.Event, size: int) -> None:
        """Bursts of `size` new paid orders, one after the other, until `stop` is set."""
        while not stop.is_set():
            await self.burst(size)


def _tally(sandbox: Sandbox, figures: HaFigures, found: list[str]) -> None:
    """Double grants and revocations from the game's own log; lost orders from the books."""
    applied = Counter(e.token for e in sandbox.pgos.log if e.token and not e.replayed)
    figures.double_grants = sum(1 for t, n in applied.items() if n > 1 and t.startswith("grant:"))
    figures.double_revocations = sum(1 for t, n in applied.items()
                                     if n > 1 and t.startswith("revoke:"))
    figures.double_revocations += sum(1 for line in found if "exactly once" in line)
    figures.lost_orders = sum(1 for line in found if "paid but not granted" in line)
    figures.violations = found


async def campaign(sandbox: Sandbox, folder: Path, url: str, catalog: Catalog,
                   elsewhere: set[str], *, kills: int, seed: int, check_s: float = 1.0,
                   max_kill_s: float = 2.0, notifications_per_round: int = 5,
                   orders_per_round: int = 40, refund_share: float = 0.05,
                   settle_timeout_s: float = 120) -> HaFigures:
    """Run two daemons on `url`, kill the leader `kills` times, settle, check the books."""
    rng = random.Random(seed)
    figures = HaFigures()
    env = {"RECONCILER_DB": url, "RECONCILER_LEADER_CHECK_S": str(check_s),
           "RECONCILER_PASS_INTERVAL_S": "1", "RECONCILER_DRAIN_INTERVAL_S": "1",
           "RECONCILER_SWEEP_INTERVAL_S": "2",
           "RECONCILER_TIMEOUT_S": "3"}
    daemons = []
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        daemons.append(Daemon(sandbox, folder / name, **env))
    async with aiohttp.ClientSession() as http:
        notifier = Notifier(sandbox, daemons, http, rng, figures)
        for daemon in daemons:
            await daemon.start()
        try:
            for index in range(kills):
                leader = await wait_for_leader(http, daemons, 30)
                sandbox.jogos.add_orders(GAME, orders_per_round)
                figures.orders_added += orders_per_round
                if index == kills // 2:
                    figures.refunded += _refund(sandbox, rng, refund_share)
                stop = asyncio.Event()
                load = asyncio.ensure_future(notifier.until(stop, notifications_per_round))
                await _kill_at_random(leader, rng.uniform(0.1, max_kill_s))
                figures.kills += 1
                killed_at = time.monotonic()
                other = next(d for d in daemons if d is not leader)
                while await role(http, other) != "leader":
                    assert time.monotonic() - killed_at < 10 * check_s + 10, "no takeover"
                    await asyncio.sleep(POLL_S)
                figures.takeovers_s.append(time.monotonic() - killed_at)
                await leader.start()  # back as a follower
                stop.set()
                await load
            started = time.monotonic()
            await _settle(sandbox, catalog, elsewhere, notifier, settle_timeout_s)
            figures.settle_s = time.monotonic() - started
        finally:
            for daemon in daemons:
                if daemon.proc is not None and daemon.proc.returncode is None:
                    await daemon.stop()
                daemon.close()
        _tally(sandbox, figures, check_books(sandbox, catalog, elsewhere).lines)
        figures.unrecorded_acks = _unrecorded(daemons[0], notifier.acked)
    return figures


def _refund(sandbox: Sandbox, rng: random.Random, share: float) -> int:
    count = 0
    for order in sandbox.jogos.books[GAME].orders:
        if order["refundStatus"] is None and rng.random() < share:
            sandbox.jogos.refund(GAME, order["orderId"])
            count += 1
    return count


async def _kill_at_random(daemon: Daemon, after_s: float) -> None:
    """SIGKILL the daemon `after_s` from now (sooner if it exits by itself)."""
    assert daemon.proc is not None
    try:
        await asyncio.wait_for(asyncio.shield(daemon.proc.wait()), after_s)
    except TimeoutError:
        daemon.proc.kill()
    await daemon.proc.wait()


async def _settle(sandbox: Sandbox, catalog: Catalog, elsewhere: set[str], notifier: Notifier,
                  timeout_s: float) -> None:
    """Wait until the books agree (the leader's passes and drains settle what is left)."""
    deadline = time.monotonic() + timeout_s
    while check_books(sandbox, catalog, elsewhere):
        if time.monotonic() > deadline:
            return  # the caller reports what is left
        await asyncio.sleep(0.5)


def _unrecorded(daemon: Daemon, acked: list[str]) -> int:
    """Acknowledged notifications whose order has no notification row in the ledger."""
    ledger = daemon.ledger()
    try:
        noted = {str(o) for (o,) in ledger.db.execute("SELECT order_id FROM notifications")}
    finally:
        ledger.close()
    return sum(1 for order_id in acked if order_id not in noted)
