"""The validated configuration, as the rest of the program reads it.

Rules: frozen values with no defaults (the defaults are in `schema`, once); secrets are
`Secret`s, never plain strings; every game is a `GameConfig` like every other (the game the
environment describes is `games[0]` only because it is listed first): no part of `Config`
stands for "the" game.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.auth.pgos import ServerKey, split_server_key
from reconciler.core.catalog import Catalog
from reconciler.core.notify import Trust
from reconciler.core.pgos_api import PgosApi
from reconciler.core.plan import Policy
from reconciler.secret import Secret


@dataclass(frozen=True, slots=True)
class JogosConfig:
    """Where and how to reach Jogos for one game."""

    base_url: str
    game_id: int
    shared_key: Secret


@dataclass(frozen=True, slots=True)
class PgosConfig:
    """Where and how to reach PGOS for one title region."""

    cli_url: str
    backend_url: str
    title_backend_url: str
    title_id: str
    title_region_id: str
    server_key: Secret

    @property
    def key(self) -> ServerKey:
        """The server key split into secret id and secret key.

        Raises ConfigError when the key does not have the server key's shape (checked when
        the configuration is built, so never for a loaded configuration).
        """
        return split_server_key(self.server_key.reveal())


@dataclass(frozen=True, slots=True)
class GameConfig:
    """One game served: its Jogos keys, its PGOS title region and its catalog."""

    jogos: JogosConfig
    pgos: PgosConfig | None
    catalog_path: Path
    catalog: Catalog


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How hard the engine pushes the remote systems."""

    page_size: int
    concurrency: int
    effect_concurrency: int
    chunk_orders: int  # rows a streaming pass holds at most (read, planned, acting)
    head_quiet_pages: int  # a head scan stops after this many pages with nothing new
    timeout_s: float
    max_attempts: int
    backoff_s: float
    backoff_max_s: float


@dataclass(frozen=True, slots=True)
class SinkConfig:
    """A studio game server receiving grants and revocations (fulfilment target `http`)."""

    url: str
    client_id: str
    secret: Secret


@dataclass(frozen=True, slots=True)
class OpsClient:
    """The client allowed on /ops/ and /link (service-to-service credentials)."""

    client_id: str
    hmac_secret: Secret | None
    basic_secret: Secret | None
    api_key: Secret | None
    ecdsa_public_key_pem: str | None


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """`reconciler run`: where it listens, how often it works, how it trusts callers."""

    host: str
    port: int
    notify_path: str
    pass_interval_s: int  # head scans (the newest end of the list until nothing is new)
    sweep_interval_s: int  # full passes over the whole list
    drain_interval_s: int
    audit_cron: str
    max_body_bytes: int
    stop_timeout_s: float
    healthy_age_s: int
    ops_window_s: int
    ops_client: OpsClient | None
    public_key_url: str  # the Jogos user-token key (one for every game)
    public_key_ttl_s: int  # the user-token key is kept at most this long
    public_key_min_refetch_s: int  # at most one refetch per this, after failures
    max_connections: int  # lowered below the descriptor limit at start
    header_timeout_s: float  # a request head must be complete within this
    body_timeout_s: float  # a request body must be read within this
    keepalive_s: float  # idle keep-alive connections close after this
    metrics_token: Secret | None  # bearer token for /metrics (none: open)
    metrics_cache_s: float  # ledger counts for /metrics are at most this old
    notify_trust: Trust  # store: nothing moves before getOrders confirms
    allow_query_api_key: bool  # accept `?api_key=` (the spec strongly discourages it)
    link_allow_relink: bool  # /link may move a linked user to another player
    leader_check_s: float  # a shared ledger: the leader's lock is tried or checked this often


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration: every game served, and what they share."""

    games: tuple[GameConfig, ...]
    db_path: Path | str  # a SQLite file, or a postgresql:// URL (libpq's; no password in it)
    db_password: Secret | None  # the PostgreSQL password, unless libpq finds one itself
    engine: EngineSettings
    policy: Policy
    clawback: str  # policy.clawback, for the engine until it reads the policy
    pgos_api: PgosApi
    sink: SinkConfig | None
    daemon: DaemonSettings

    @property
    def ledger_password(self) -> str | None:
        """The PostgreSQL password as text, for the connection only (None: libpq's own)."""
        return None if self.db_password is None else self.db_password.reveal()

    def game(self, game_id: int) -> GameConfig | None:
        """The configuration of a served game, or None."""
        return next((g for g in self.games if g.jogos.game_id == game_id), None)

    def secrets(self) -> list[str]:
        """Every configured secret value (for scanners that prove none leaked)."""
        found = [g.jogos.shared_key.reveal() for g in self.games]
        found += [g.pgos.server_key.reveal() for g in self.games if g.pgos is not None]
        client = self.daemon.ops_client
        if client is not None:
            found += [s.reveal() for s in (client.hmac_secret, client.basic_secret,
                                           client.api_key) if s is not None]
        if self.sink is not None:
            found.append(self.sink.secret.reveal())
        if self.daemon.metrics_token is not None:
            found.append(self.daemon.metrics_token.reveal())
        if self.db_password is not None:
            found.append(self.db_password.reveal())
        return found
