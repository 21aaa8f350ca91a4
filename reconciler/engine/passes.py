"""A full pass over every game, and the wiring that owns the HTTP session.

Rules: `open_engine` is the start-up/shut-down hook: it owns the aiohttp session and the
ledger and closes both. `run_pass` reads the store, records what changed, plans, and acts;
with `dry_run` it writes nothing anywhere and only returns the plan.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from reconciler.clients.game_server import GameServerClient
from reconciler.clients.jogos import JogosClient
from reconciler.clients.pgos import PgosClient, PgosEndpoint
from reconciler.clients.retry import RequestStats, RetryPolicy
from reconciler.concurrency import Foreground, run_bounded
from reconciler.config import Config, GameConfig
from reconciler.core.catalog import Catalog
from reconciler.core.models import Order
from reconciler.core.plan import (
    ORDER_KEY,
    Action,
    ActionKind,
    ClawbackPolicy,
    Identity,
    Plan,
    Policy,
    make_plan,
)
from reconciler.engine.effects import (
    Executor,
    Fulfilment,
    GameServerFulfilment,
    KeyedLocks,
    PgosFulfilment,
)
from reconciler.engine.grouping import GroupCommit
from reconciler.engine.scan import Scope, stream_games
from reconciler.engine.stream import Streamed, peaks
from reconciler.errors import ConfigError
from reconciler.ledger import Ledger

log = logging.getLogger("reconciler.engine")


class Progress(Protocol):
    """Receives progress of a pass (a terminal bar, log lines, nothing)."""

    def pages(self, done: int, known: int) -> None: ...

    def effects(self, done: int, total: int) -> None: ...


@dataclass
class GameRuntime:
    """One game served by the engine."""

    game_id: int
    jogos: JogosClient
    catalog: Catalog
    fulfilment: Fulfilment


@dataclass
class Engine:
    """Everything a pass needs, wired."""

    ledger: Ledger
    games: list[GameRuntime]
    policy: Policy
    page_size: int
    concurrency: int
    effect_concurrency: int
    stats: RequestStats
    chunk_orders: int = 2000  # rows a streaming pass holds at most
    head_quiet_pages: int = 2  # a head scan stops after this many pages with nothing new
    clock: Callable[[], float] = time.time
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    pass_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one scheduled pass at once
    foreground: Foreground = field(default_factory=Foreground)  # answers go before effects
    group: GroupCommit | None = None  # the executors' group commit (made with the first)
    session: aiohttp.ClientSession | None = None  # the one HTTP session, for other clients

    @property
    def game_ids(self) -> list[int]:
        """Ids of the games served."""
        return [g.game_id for g in self.games]

    def executor(self) -> Executor:
        """An executor sharing this engine's per-order locks and group commit."""
        if self.group is None:
            self.group = GroupCommit(self.ledger)
        return Executor(self.ledger, {g.game_id: g.jogos for g in self.games},
                        {g.game_id: g.fulfilment for g in self.games}, self.policy.clawback,
                        self.clock, self.locks, self.stopping, self.foreground, self.group)

    def plan_for(self, orders: list[Order]) -> list[Action]:
        """The actions for these orders against the ledger as it is now (read for their
        games only). Raises LedgerError, InvariantError."""
        return self.plan_batch(orders).actions()

    def plan_batch(self, orders: list[Order]) -> Plan:
        """The plan for these orders against the ledger as it is now (read for these orders
        only). Raises LedgerError, InvariantError (an order given twice)."""
        if not orders:
            return Plan([])
        keys = list(map(ORDER_KEY, orders))
        links = ({} if self.policy.identity is Identity.SAME
                 else self.ledger.links_of({(o.game_id, o.user_id) for o in orders}))
        return make_plan(orders, self.ledger.view(sorted({k[0] for k in keys}), keys),
                         {g.game_id: g.catalog for g in self.games}, links, self.policy)


@dataclass
class PassReport:
    """What a pass saw, planned and did."""

    figures: dict[str, Any]
    actions: list[Action] = field(default_factory=list)
    pending: dict[str, int] = field(default_factory=dict)

    @property
    def settled(self) -> bool:
        """True when nothing is failed, in flight, waiting for attention or quarantined."""
        return not any(self.pending.values())


def _fulfilment(config: Config, game: GameConfig, session: aiohttp.ClientSession,
                retry: RetryPolicy, stats: RequestStats,
                clock: Callable[[], float]) -> Fulfilment:
    """Where this game's items live. Raises ConfigError when no target is configured."""
    if config.sink is not None:
        return GameServerFulfilment(GameServerClient(
            session, url=config.sink.url, client_id=config.sink.client_id,
            secret=config.sink.secret.reveal(), retry=retry,
            timeout_s=config.engine.timeout_s, stats=stats, clock=clock))
    if game.pgos is None:
        raise ConfigError("no fulfilment target: configure pgos or fulfilment.url")
    return PgosFulfilment(PgosClient(
        session, PgosEndpoint.of(game.pgos), api=config.pgos_api, retry=retry,
        timeout_s=config.engine.timeout_s, stats=stats,
        clock=clock))


@asynccontextmanager
async def open_engine(config: Config, *, clock: Callable[[], float] = time.time,
                      dry_run: bool = False) -> AsyncIterator[Engine]:
    """Wire clients, fulfilment and ledger from `config`; close them on exit.

    With `dry_run` and no ledger file yet, an in-memory ledger is used (nothing is created).
    The clawback setting (a string in the configuration) becomes a ClawbackPolicy here, once.
    Raises ConfigError when the ledger cannot be opened or a fulfilment target is incomplete.
    """
    settings = config.engine
    retry = RetryPolicy(settings.max_attempts, settings.backoff_s, settings.backoff_max_s)
    stats = RequestStats()
    path = config.db_path
    fresh = dry_run and isinstance(path, Path) and not path.exists()
    ledger = Ledger.open(":memory:" if fresh else path, password=config.ledger_password)
    connector = aiohttp.TCPConnector(limit=settings.concurrency + settings.effect_concurrency + 4)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            games = [GameRuntime(
                game.jogos.game_id,
                JogosClient(session, base_url=game.jogos.base_url, game_id=game.jogos.game_id,
                            shared_key=game.jogos.shared_key.reveal(), retry=retry,
                            timeout_s=settings.timeout_s, stats=stats),
                game.catalog,
                _fulfilment(config, game, session, retry, stats, clock),
            ) for game in config.games]
            engine = Engine(
                ledger=ledger, games=games,
                policy=replace(config.policy, clawback=ClawbackPolicy(config.clawback)),
                page_size=settings.page_size, concurrency=settings.concurrency,
                effect_concurrency=settings.effect_concurrency, stats=stats,
                chunk_orders=settings.chunk_orders, head_quiet_pages=settings.head_quiet_pages,
                clock=clock,
                session=session,
            )
            yield engine
    finally:
        ledger.close()


async def run_pass(engine: Engine, *, dry_run: bool = False,
                   progress: Progress | None = None, kind: str = "catch-up",
                   scope: Scope | None = None, keep_actions: int = 1000) -> PassReport:
    """One pass over every game, streamed (engine.scan): the whole list by default, or the
    `scope` given (a head scan, or back to a date). The report keeps the first `keep_actions`
    actions; figures count them all (`planned`, `planned_<kind>`).

    Raises PermanentError when a store refuses us (the pass stops, recorded as failed),
    TransientError when retries ran out, UpstreamError when paging cannot cover the list.
    """
    started = time.perf_counter()
    ledger, now = engine.ledger, int(engine.clock())
    run_id = None if dry_run else ledger.start_run(kind, now)
    requests_before, retries_before = engine.stats.total(), engine.stats.retried()
    counted: Counter[str] = Counter()
    figures: dict[str, Any] = counted  # the stream counts into it; durations are floats
    try:
        scope = scope or Scope.full()
        streamed = Streamed(figures=counted, keep_actions=keep_actions)
        outcomes = await stream_games(engine, streamed, scope, dry_run=dry_run, now_s=now,
                                      progress=progress)
        figures["scope"] = scope.kind
        figures.update(peaks(streamed))  # (`figures` is the stream's own: it counted)
        if dry_run:
            figures["duration_s"] = round(time.perf_counter() - started, 3)
            return PassReport(dict(figures), streamed.first_actions, {})
        game_ids = engine.game_ids
        ledger.decide_notes_from_orders(game_ids, now)
        figures.update({f"effect_{k}": v for k, v in outcomes.items()})
        pending = ledger.pending_counts(game_ids)
        figures["requests"] = engine.stats.total() - requests_before
        figures["retries"] = engine.stats.retried() - retries_before
        figures["duration_s"] = round(time.perf_counter() - started, 3)
        status = "interrupted" if engine.stopping.is_set() else \
            "settled" if not any(pending.values()) else "pending"
        ledger.finish_run(run_id or 0, status, {**figures, "pending": pending},
                          int(engine.clock()))
        log.info("pass %s: %s", status, summary_line(dict(figures), pending))
        return PassReport(dict(figures), streamed.first_actions, pending)
    except BaseException as exc:
        if run_id is not None:
            stopped = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
            ledger.finish_run(run_id, "interrupted" if stopped else "error",
                              {**figures, "error": type(exc).__name__}, int(engine.clock()))
        raise


async def execute(engine: Engine, actions: list[Action],
                  progress: Progress | None = None) -> Counter[str]:
    """Run actions, orders in parallel (bounded), each order's actions in sequence."""
    executor = engine.executor()
    by_order: dict[tuple[int, str], list[Action]] = {}
    for action in actions:
        by_order.setdefault(action.order.key, []).append(action)
    done = [0]

    async def settle(order_actions: list[Action]) -> None:
        await executor.run_order(order_actions)
        done[0] += len(order_actions)
        if progress:
            progress.effects(done[0], len(actions))

    await run_bounded(list(by_order.values()), settle, engine.effect_concurrency)
    return executor.outcomes


async def settle_orders(engine: Engine, orders: list[Order]) -> Counter[str]:
    """Plan and act for these orders only (a notification, a new link, a drain)."""
    return await execute(engine, engine.plan_for(orders))


async def run_drain(engine: Engine) -> Counter[str]:
    """Retry what is pending (failed, in flight, waiting for attention) from the ledger's own
    record of the orders, without reading the store."""
    keys = engine.ledger.unsettled_keys(engine.game_ids)
    return await settle_orders(engine, engine.ledger.orders(keys))


def summary_line(figures: dict[str, Any], pending: dict[str, int]) -> str:
    """One line with a pass's figures, for logs and terminals."""
    keys = ("orders", "new", "changed", "malformed", "pages", "rereads", "requests",
            "retries", "duration_s")
    parts = [f"{k}={figures.get(k, 0)}" for k in keys]
    parts += [f"{k}={v}" for k, v in sorted(figures.items()) if k.startswith("effect_")]
    parts += [f"{k}={v}" for k, v in pending.items() if v]
    return " ".join(parts)


def describe(action: Action) -> str:
    """A row of the dry-run table."""
    o = action.order
    extra = action.reason or (action.product.product_id if action.product else "")
    if action.kind is ActionKind.GRANT and action.player_id:
        extra = f"{extra} -> player {action.player_id}"
    return f"{action.kind.value:<10} {o.game_id:<8} {o.order_id:<32} {extra}"
