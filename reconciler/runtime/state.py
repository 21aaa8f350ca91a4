"""What a running daemon owns and shares: the engine, its settings, its figures, the work under
way, and the daemon's verbs (take in a notification, link a user) that handlers call.

Rules: opened once per process by `open_runtime`, which owns the engine and with it the one HTTP
session (the user-token key cache borrows it). Handlers and scheduled jobs reach the engine
through a Runtime, never through each other. Work that follows an answer runs in the
background with `spawn`, tracked so that shutdown waits for it; nothing new starts once
`stopping` is set. The ledger is written by engine functions, except the single-use nonces of
service-to-service requests, spent here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from reconciler.auth import s2s
from reconciler.clients.public_key import PublicKeyCache
from reconciler.config import Config
from reconciler.core.models import Order
from reconciler.core.notify import NoteStatus
from reconciler.engine.grouping import GroupCommit
from reconciler.engine.intake import link_user, take_in_notification
from reconciler.engine.passes import Engine, open_engine, settle_orders
from reconciler.errors import InvariantError, LedgerError
from reconciler.ledger.links import LinkOutcome
from reconciler.runtime.confirmer import Confirmer
from reconciler.runtime.figures import PASS_OUTCOMES, DurationHistogram, pass_outcome

log = logging.getLogger("reconciler.daemon")
server_log = logging.getLogger("reconciler.server")  # the name its log lines always had


def ops_clients(config: Config) -> dict[str, s2s.ClientCredentials]:
    """The service-to-service clients allowed on /ops/ and /link.

    Raises ConfigError when the configured ECDSA public key is not a P-256 key.
    """
    client = config.daemon.ops_client
    if client is None:
        return {}
    key = s2s.load_ec_key(client.ecdsa_public_key_pem) if client.ecdsa_public_key_pem else None
    return {client.client_id: s2s.ClientCredentials(
        client.client_id, hmac_secret=client.hmac_secret, basic_secret=client.basic_secret,
        api_key=client.api_key, ecdsa_public_key=key)}


@dataclass
class Runtime:
    """Shared by handlers and scheduled jobs."""

    config: Config
    engine: Engine
    public_keys: PublicKeyCache
    clients: dict[str, s2s.ClientCredentials]
    started_s: float = field(default_factory=time.time)
    last_pass_ok_s: float | None = None
    last_pass_s: float | None = None
    last_pass_duration_s: float = 0.0
    passes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PASS_OUTCOMES, 0))
    pass_durations: DurationHistogram = field(default_factory=DurationHistogram)
    notifications: dict[str, int] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    trigger_pass: Callable[[], None] | None = None  # set by the schedule
    leading: bool = True  # runs the schedule (a shared ledger: holds the leader's lock)
    confirmer: Confirmer = field(init=False)

    def __post_init__(self) -> None:
        self.confirmer = Confirmer(self.engine)

    @property
    def stopping(self) -> bool:
        """True once shutdown began: no new work is started."""
        return self.engine.stopping.is_set()

    def stop(self) -> None:
        """Begin shutdown: no new work starts; work under way goes on."""
        self.engine.stopping.set()

    def spawn(self, work: Awaitable[Any], name: str) -> None:
        """Run `work` in the background, tracked so that shutdown can wait for it; its
        failure is logged, not raised."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("%s failed", name)

        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @contextmanager
    def tracked(self) -> Iterator[None]:
        """Mark the current task as work shutdown must wait for (scheduled jobs)."""
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self.tasks.discard(task)

    async def wait_for_tasks(self, timeout_s: float) -> None:
        """Let background work finish for at most `timeout_s`, then cancel what is left (its
        effects stay in flight in the ledger, settled at the next start)."""
        running = [t for t in self.tasks if not t.done()]
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=timeout_s)
        for task in late:
            task.cancel()
        if late:
            log.warning("%d tasks cut short; their effects stay in flight for next start",
                        len(late))

    def count(self, outcome: str) -> None:
        """Count a notification outcome for /metrics."""
        self.notifications[outcome] = self.notifications.get(outcome, 0) + 1

    def record_pass(self, started_s: float, *, ok: bool, attention: bool = False) -> None:
        """Count a scheduled pass that began at `started_s` for /healthz and /metrics: its
        outcome (`error` unless `ok`; `attention` when it finished with something waiting)
        and its duration. A finished pass, settled or not, is the last successful one."""
        now = time.time()
        self.passes[pass_outcome(ok=ok, attention=attention)] += 1
        if ok:
            self.last_pass_ok_s = now
        self.last_pass_s = now
        self.last_pass_duration_s = now - started_s
        self.pass_durations.observe(max(0.0, now - started_s))

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        """True when this client's nonce was spent already (nothing is written)."""
        return self.engine.ledger.nonce_seen(client_id, nonce)

    def spend_nonce(self, client_id: str, nonce: str, expires_at_s: int) -> bool:
        """Spend a nonce in the ledger (so it survives restarts); False when it was spent
        already. Raises LedgerError."""
        return self.engine.ledger.remember(client_id, nonce, expires_at_s)

    def prune_nonces(self) -> None:
        """Forget nonces whose window has passed. Raises LedgerError."""
        self.engine.ledger.prune_nonces(int(self.engine.clock()))

    def group(self) -> GroupCommit:
        """The engine's group commit (made here when no executor made it yet): ledger writes
        that fall due in one event-loop turn commit in one transaction."""
        if self.engine.group is None:
            self.engine.group = GroupCommit(self.engine.ledger)
        return self.engine.group

    async def take_in_notification(self, told: Order, kind: str,
                                   body: bytes) -> NoteStatus | None:
        """Record a verified notification (engine.intake) and start what follows it: the
        store's confirmation, or the settling of an order applied at once; count the outcome.
        Returns the notification's status, None for a duplicate.

        The record commits with the other ledger writes of its event-loop turn (the group
        commit: one COMMIT for the notifications that arrive together, not one each) and this
        returns only once it is durable; what follows starts only then.
        Raises LedgerError when it cannot be recorded or the group's COMMIT fails (counted as
        an error; nothing of it is written).
        """
        engine, trust = self.engine, self.config.daemon.notify_trust
        try:
            intake = await self.group().run(
                lambda: take_in_notification(engine, told, kind, body, trust))
        except LedgerError:
            self.count("error")
            raise
        if intake.status is None:
            self.count("duplicate")
            return None
        self.count(kind)
        if self.stopping:
            return intake.status  # recorded: the next start settles it
        if intake.note is not None:
            self.confirmer.submit(intake.note)
        elif intake.status is NoteStatus.CONFLICT:
            self.count("conflict")
            server_log.warning("notification for %s/%s would rewrite the order: recorded as a "
                               "conflict, not applied", told.game_id, told.order_id)
        elif intake.settle:
            self.spawn(settle_orders(self.engine, intake.settle), f"settle {told.order_id}")
        return intake.status

    def link_user(self, game_id: int, user_id: str, player_id: str, *,
                  source: str) -> tuple[LinkOutcome, int]:
        """Link a verified user to a player (engine.intake) and settle the orders that waited
        for it in the background. Returns the outcome and how many orders waited.

        Raises LedgerError when the link cannot be recorded (nothing is written).
        """
        outcome, waiting = link_user(self.engine, game_id, user_id, player_id, source=source,
                                     allow_relink=self.config.daemon.link_allow_relink)
        if waiting and not self.stopping:
            self.spawn(settle_orders(self.engine, waiting), f"settle user {user_id}")
        return outcome, len(waiting)


@asynccontextmanager
async def open_runtime(config: Config) -> AsyncIterator[Runtime]:
    """Open the engine (the ledger and the one HTTP session) and what the daemon shares; the
    user-token key cache fetches through the engine's session. Closes them on exit.

    Raises ConfigError when the ledger cannot be opened or a setting is incomplete, and
    InvariantError when the engine opened no HTTP session.
    """
    settings = config.daemon
    async with open_engine(config) as engine:
        if engine.session is None:
            raise InvariantError("the engine owns no HTTP session")
        keys = PublicKeyCache(engine.session, settings.public_key_url,
                              ttl_s=settings.public_key_ttl_s,
                              min_refetch_s=settings.public_key_min_refetch_s,
                              timeout_s=config.engine.timeout_s)
        yield Runtime(config, engine, keys, ops_clients(config))
