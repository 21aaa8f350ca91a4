"""Configuration: a TOML file plus environment variables, the environment winning.

Rules: every environment name in SETTINGS is a contract with operators (systemd EnvironmentFile).
Every secret may come from `<NAME>_FILE` instead, or, when both are unset, from the systemd
credential `$CREDENTIALS_DIRECTORY/<NAME>` (LoadCredential=). Validation collects all problems
and raises one ConfigError naming each key; secret values are wrapped in `Secret` from the
moment they are read and never appear in a message.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.auth.pgos import ServerKey, backend_url_for_region, split_server_key
from reconciler.core.catalog import Catalog, parse_catalog
from reconciler.core.jsontext import is_number
from reconciler.core.notify import Trust
from reconciler.core.pgos_api import TITLE_BACKEND_URL, Envelope, InventoryVia, PgosApi
from reconciler.core.plan import AdoptPolicy, Identity, Policy
from reconciler.core.secret_floor import SecretKind, weakness
from reconciler.errors import ConfigError
from reconciler.secret import Secret

DEFAULT_JOGOS_BASE_URL = "https://api.jogos.com"
DEFAULT_JOGOS_PUBLIC_KEY_URL = "https://www.jogos.com/publicKey.json"
DEFAULT_DB_PATH = "state/ledger.db"


@dataclass(frozen=True, slots=True)
class Setting:
    """One configuration key: its TOML place, its environment name, its kind."""

    env: str
    section: str
    key: str
    kind: str = "str"  # str | int | float | bool | choice | url | path | secret
    required: bool = True
    default: object = None
    choices: tuple[str, ...] = ()


PGOS_REQUIRED = ("PGOS_CLI_URL", "PGOS_TITLE_ID", "PGOS_TITLE_REGION_ID", "PGOS_SERVER_KEY")
_API = PgosApi()

SETTINGS: tuple[Setting, ...] = (
    Setting("JOGOS_BASE_URL", "jogos", "base_url", "url", default=DEFAULT_JOGOS_BASE_URL),
    Setting("JOGOS_GAME_ID", "jogos", "game_id", "int"),
    Setting("JOGOS_SHARED_KEY", "jogos", "shared_key", "secret"),
    Setting(
        "JOGOS_PUBLIC_KEY_URL", "jogos", "public_key_url", "url",
        default=DEFAULT_JOGOS_PUBLIC_KEY_URL,
    ),
    Setting("PGOS_CLI_URL", "pgos", "cli_url", "url", required=False),
    Setting("PGOS_BACKEND_URL", "pgos", "backend_url", "url", required=False),
    Setting("PGOS_TITLE_BACKEND_URL", "pgos", "title_backend_url", "url",
            default=TITLE_BACKEND_URL),
    Setting("PGOS_TITLE_ID", "pgos", "title_id", required=False),
    Setting("PGOS_TITLE_REGION_ID", "pgos", "title_region_id", required=False),
    Setting("PGOS_SERVER_KEY", "pgos", "server_key", "secret", required=False),
    Setting("RECONCILER_DB", "ledger", "path", "path", default=DEFAULT_DB_PATH),
    Setting("RECONCILER_CATALOG", "catalog", "path", "path"),
    Setting("RECONCILER_PAGE_SIZE", "engine", "page_size", "int", default=100),
    Setting("RECONCILER_CONCURRENCY", "engine", "concurrency", "int", default=8),
    Setting("RECONCILER_EFFECT_CONCURRENCY", "engine", "effect_concurrency", "int", default=16),
    Setting("RECONCILER_TIMEOUT_S", "engine", "timeout_s", "float", default=10.0),
    Setting("RECONCILER_MAX_ATTEMPTS", "engine", "max_attempts", "int", default=5),
    Setting("RECONCILER_BACKOFF_S", "engine", "backoff_s", "float", default=0.2),
    Setting("RECONCILER_BACKOFF_MAX_S", "engine", "backoff_max_s", "float", default=5.0),
    Setting("RECONCILER_IDENTITY", "policy", "identity", "choice", default="linked",
            choices=tuple(Identity)),
    Setting("RECONCILER_ADOPT", "policy", "adopt", "choice", default="record",
            choices=tuple(AdoptPolicy)),
    Setting("RECONCILER_CLAWBACK", "policy", "clawback", "choice", default="fail",
            choices=("fail", "negative", "debt")),
    Setting("PGOS_CMD_GRANT_ITEMS", "pgos_api", "grant_items", default=_API.grant_items),
    Setting("PGOS_CMD_REVOKE_INSTANCES", "pgos_api", "revoke_instances",
            default=_API.revoke_instances),
    Setting("PGOS_CMD_INVENTORY", "pgos_api", "inventory", default=_API.inventory),
    Setting("PGOS_CMD_GRANT_CURRENCY", "pgos_api", "grant_currency",
            default=_API.grant_currency),
    Setting("PGOS_CMD_SUBTRACT_CURRENCY", "pgos_api", "subtract_currency",
            default=_API.subtract_currency),
    Setting("PGOS_CMD_HELP", "pgos_api", "help", default=_API.help),
    Setting("PGOS_ERRNO_INSUFFICIENT_BALANCE", "pgos_api", "insufficient_balance_errno", "int",
            default=_API.insufficient_balance_errno),
    Setting("PGOS_ERRNO_INSTANCE_STATE", "pgos_api", "instance_state_errno", "int",
            default=_API.instance_state_errno),
    Setting("PGOS_ENVELOPE", "pgos_api", "envelope", "choice", default=_API.envelope.value,
            choices=tuple(Envelope)),
    Setting("PGOS_CLI_VERSION", "pgos_api", "cli_version", default=_API.cli_version),
    Setting("PGOS_REGION_PATH", "pgos_api", "region_path", "urlpath", default=_API.region_path),
    Setting("PGOS_TITLE_PATH", "pgos_api", "title_path", "urlpath", default=_API.title_path),
    Setting("PGOS_INVENTORY_VIA", "pgos_api", "inventory_via", "choice",
            default=_API.inventory_via.value, choices=tuple(InventoryVia)),
    Setting("PGOS_BACKEND_INVENTORY_PATH", "pgos_api", "backend_inventory_path", "urlpath",
            default=_API.backend_inventory_path),
    Setting("RECONCILER_FULFILMENT", "fulfilment", "target", "choice", default="pgos",
            choices=("pgos", "http")),
    Setting("SINK_URL", "fulfilment", "url", "url", required=False),
    Setting("SINK_CLIENT_ID", "fulfilment", "client_id", required=False),
    Setting("SINK_SECRET", "fulfilment", "secret", "secret", required=False),
    Setting("RECONCILER_LISTEN", "daemon", "listen", default="127.0.0.1:8080"),
    Setting("RECONCILER_NOTIFY_PATH", "daemon", "notify_path", default="/jogos/notify"),
    Setting("RECONCILER_PASS_INTERVAL_S", "daemon", "pass_interval_s", "int", default=300),
    Setting("RECONCILER_DRAIN_INTERVAL_S", "daemon", "drain_interval_s", "int", default=60),
    Setting("RECONCILER_AUDIT_CRON", "daemon", "audit_cron", "cron", default="0 6 * * *"),
    Setting("RECONCILER_MAX_BODY_BYTES", "daemon", "max_body_bytes", "int", default=65536),
    Setting("RECONCILER_STOP_TIMEOUT_S", "daemon", "stop_timeout_s", "float", default=30.0),
    Setting("RECONCILER_HEALTHY_AGE_S", "daemon", "healthy_age_s", "int", default=1800),
    Setting("JOGOS_PUBLIC_KEY_TTL_S", "daemon", "public_key_ttl_s", "int", default=300),
    Setting("RECONCILER_MAX_CONNECTIONS", "daemon", "max_connections", "int", default=900),
    Setting("RECONCILER_HEADER_TIMEOUT_S", "daemon", "header_timeout_s", "float", default=10.0),
    Setting("RECONCILER_BODY_TIMEOUT_S", "daemon", "body_timeout_s", "float", default=10.0),
    Setting("RECONCILER_KEEPALIVE_S", "daemon", "keepalive_s", "float", default=15.0),
    Setting("RECONCILER_METRICS_TOKEN", "daemon", "metrics_token", "secret", required=False),
    Setting("RECONCILER_METRICS_CACHE_S", "daemon", "metrics_cache_s", "float", default=5.0),
    Setting("RECONCILER_NOTIFY_TRUST", "notify", "trust", "choice", default="store",
            choices=tuple(Trust)),
    Setting("JOGOS_PUBLIC_KEY_MIN_REFETCH_S", "daemon", "public_key_min_refetch_s", "int",
            default=30),
    Setting("OPS_CLIENT_ID", "ops", "client_id", required=False),
    Setting("OPS_HMAC_SECRET", "ops", "hmac_secret", "secret", required=False),
    Setting("OPS_BASIC_SECRET", "ops", "basic_secret", "secret", required=False),
    Setting("OPS_API_KEY", "ops", "api_key", "secret", required=False),
    Setting("OPS_ECDSA_PUBLIC_KEY", "ops", "ecdsa_public_key", "path", required=False),
    Setting("OPS_WINDOW_S", "ops", "window_s", "int", default=300),
    Setting("OPS_ALLOW_QUERY_API_KEY", "ops", "allow_query_api_key", "bool", default=False),
    Setting("RECONCILER_LINK_ALLOW_RELINK", "daemon", "link_allow_relink", "bool",
            default=False),
)


@dataclass(frozen=True, slots=True)
class JogosConfig:
    """Where and how to reach Jogos for one game."""

    base_url: str
    game_id: int
    shared_key: Secret
    public_key_url: str


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
        """The server key split into secret id and secret key."""
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

    page_size: int = 100
    concurrency: int = 8
    effect_concurrency: int = 16
    timeout_s: float = 10.0
    max_attempts: int = 5
    backoff_s: float = 0.2
    backoff_max_s: float = 5.0


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
    """`reconciler run`: where it listens and how often it works."""

    host: str = "127.0.0.1"
    port: int = 8080
    notify_path: str = "/jogos/notify"
    pass_interval_s: int = 300
    drain_interval_s: int = 60
    audit_cron: str = "0 6 * * *"
    max_body_bytes: int = 65536
    stop_timeout_s: float = 30.0
    healthy_age_s: int = 1800
    ops_window_s: int = 300
    ops_client: OpsClient | None = None
    public_key_ttl_s: int = 300  # the user-token key is kept at most this long
    public_key_min_refetch_s: int = 30  # at most one refetch per this, after failures
    max_connections: int = 900  # lowered below the descriptor limit at start
    header_timeout_s: float = 10.0  # a request head must be complete within this
    body_timeout_s: float = 10.0  # a request body must be read within this
    keepalive_s: float = 15.0  # idle keep-alive connections close after this
    metrics_token: Secret | None = None  # bearer token for /metrics (none: open)
    metrics_cache_s: float = 5.0  # ledger counts for /metrics are at most this old
    notify_trust: Trust = Trust.STORE  # store: nothing moves before getOrders confirms
    allow_query_api_key: bool = False  # accept `?api_key=` (the spec strongly discourages it)
    link_allow_relink: bool = False  # /link may move a linked user to another player


@dataclass(frozen=True, slots=True)
class Config:
    """The whole validated configuration. `games[0]` is the game the environment describes;
    `jogos`, `pgos`, `catalog` and `catalog_path` are its parts."""

    games: tuple[GameConfig, ...]
    db_path: Path
    engine: EngineSettings
    policy: Policy
    clawback: str
    pgos_api: PgosApi
    sink: SinkConfig | None
    daemon: DaemonSettings

    @property
    def jogos(self) -> JogosConfig:
        """The first game's Jogos settings."""
        return self.games[0].jogos

    @property
    def pgos(self) -> PgosConfig | None:
        """The first game's PGOS title region."""
        return self.games[0].pgos

    @property
    def catalog(self) -> Catalog:
        """The first game's catalog."""
        return self.games[0].catalog

    @property
    def catalog_path(self) -> Path:
        """Where the first game's catalog was read from."""
        return self.games[0].catalog_path

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
        return found


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _credential(env: Mapping[str, str], name: str, read_file: Callable[[Path], str],
                problems: list[str]) -> str | None:
    """The systemd credential `name` (LoadCredential=) when $CREDENTIALS_DIRECTORY holds it."""
    folder = env.get("CREDENTIALS_DIRECTORY")
    if not folder:
        return None
    try:
        return read_file(Path(folder) / name).rstrip("\r\n") or None
    except FileNotFoundError:
        return None
    except OSError as exc:
        problems.append(f"{name}: cannot read credential $CREDENTIALS_DIRECTORY/{name}: "
                        f"{exc.strerror}")
        return None


def _raw_values(
    doc: Mapping[str, Any],
    env: Mapping[str, str],
    read_file: Callable[[Path], str],
    problems: list[str],
) -> dict[str, object]:
    values: dict[str, object] = {}
    for s in SETTINGS:
        name = f"{s.section}.{s.key} / {s.env}"
        section = doc.get(s.section, {})
        value: object = section.get(s.key) if isinstance(section, dict) else None
        if s.env in env and env[s.env] != "":
            value = env[s.env]
        file_var = f"{s.env}_FILE"
        if s.kind == "secret" and not env.get(s.env) and not env.get(file_var):
            value = _credential(env, s.env, read_file, problems) or value
        if s.kind == "secret" and env.get(file_var):
            if s.env in env and env[s.env] != "":
                problems.append(f"{s.env}: set either {s.env} or {file_var}, not both")
                continue
            try:
                value = read_file(Path(env[file_var])).rstrip("\r\n")
            except OSError as exc:
                problems.append(f"{file_var}: cannot read {env[file_var]}: {exc.strerror}")
                continue
        if value is None or value == "":
            if s.required and s.default is None:
                problems.append(f"{name}: is required")
                continue
            value = s.default
        if value is not None:
            values[s.env] = value
    return values


def _check(s: Setting, value: object, problems: list[str]) -> object:
    name = f"{s.section}.{s.key} / {s.env}"
    if s.kind == "int":
        text = str(value).strip()
        if isinstance(value, bool) or not is_number(text) or int(text) <= 0:
            problems.append(f"{name}: must be a positive integer, got {text!r}")
            return None
        return int(text)
    if s.kind == "float":
        try:
            number = float(str(value).strip())
        except ValueError:
            number = -1.0
        if isinstance(value, bool) or not number > 0:
            problems.append(f"{name}: must be a positive number, got {value!r}")
            return None
        return number
    if s.kind == "bool":
        flag = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if isinstance(value, bool) or str(value).strip().lower() in flag:
            return value if isinstance(value, bool) else flag[str(value).strip().lower()]
        problems.append(f"{name}: must be true or false, got {value!r}")
        return None
    if s.kind == "cron":
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(str(value))
        except ValueError as exc:
            problems.append(f"{name}: not a crontab expression ({exc})")
            return None
        return str(value)
    if s.kind == "choice":
        if value not in s.choices:
            problems.append(f"{name}: must be one of {', '.join(s.choices)}, got {value!r}")
            return None
        return str(value)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name}: must be a non-empty string")
        return None
    text = value.strip()
    if s.kind == "url":
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(f"{name}: must be an http(s) URL with a host, got {text!r}")
            return None
        return text.rstrip("/")
    if s.kind == "urlpath" and (not text.startswith("/") or any(
            c.isspace() or c in "?#" for c in text)):
        problems.append(f"{name}: must be a URL path starting with '/', got {text!r}")
        return None
    if s.kind == "secret":
        kind = SECRET_KINDS.get(s.env)
        problem = weakness(kind, text) if kind is not None else None
        if problem is not None:
            problems.append(f"{name}: {problem}")
            return None
        return Secret(text)
    if s.kind == "str" and any(c.isspace() for c in text):
        problems.append(f"{name}: must not contain white space")
        return None
    return text


def build_config(
    doc: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    read_file: Callable[[Path], str] = _read_text,
    base_dir: Path | None = None,
) -> Config:
    """Validate a parsed TOML document and the environment into a Config.

    Relative paths in the file are taken from `base_dir` (the file's folder). Raises
    ConfigError with one message per problem.
    """
    problems: list[str] = []
    for unknown in sorted(set(doc) - {s.section for s in SETTINGS} - {"games"}):
        problems.append(f"{unknown}: unknown section in the configuration file")
    for section in {s.section for s in SETTINGS}:
        table = doc.get(section, {})
        known = {s.key for s in SETTINGS if s.section == section}
        if not isinstance(table, dict):
            problems.append(f"{section}: must be a table")
            continue
        problems.extend(f"{section}.{k}: unknown key" for k in sorted(set(table) - known))
    raw = _raw_values(doc, env, read_file, problems)
    v: dict[str, Any] = {}
    for s in SETTINGS:
        if s.env in raw:
            v[s.env] = _check(s, raw[s.env], problems)
    target = v.get("RECONCILER_FULFILMENT")
    if target == "pgos":
        problems.extend(f"{s.section}.{s.key} / {s.env}: is required (fulfilment target pgos)"
                        for s in SETTINGS if s.env in PGOS_REQUIRED and s.env not in raw)
    if target == "http":
        problems.extend(f"{s.section}.{s.key} / {s.env}: is required (fulfilment target http)"
                        for s in SETTINGS if s.section == "fulfilment" and s.env not in raw)
    server_key: Secret | None = v.get("PGOS_SERVER_KEY")
    if server_key is not None:
        try:
            split_server_key(server_key.reveal())
        except ConfigError as exc:
            problems.append(f"pgos.server_key / PGOS_SERVER_KEY: {exc.problems[0]}")
    catalog = Catalog({})
    catalog_path = v.get("RECONCILER_CATALOG")
    if catalog_path:
        path = Path(catalog_path)
        if base_dir is not None and not path.is_absolute() and "RECONCILER_CATALOG" not in env:
            path = base_dir / path
        v["RECONCILER_CATALOG"] = path
        catalog = _load_catalog(path, read_file, problems)
    if problems:
        raise ConfigError(problems)
    pgos = None
    if all(name in v for name in PGOS_REQUIRED):
        region = v["PGOS_TITLE_REGION_ID"]
        pgos = PgosConfig(
            v["PGOS_CLI_URL"], v.get("PGOS_BACKEND_URL") or backend_url_for_region(region),
            v["PGOS_TITLE_BACKEND_URL"], v["PGOS_TITLE_ID"], region, v["PGOS_SERVER_KEY"],
        )
    daemon = _daemon_settings(v, read_file, problems)
    if problems:
        raise ConfigError(problems)
    sink = None
    if target == "http":
        sink = SinkConfig(v["SINK_URL"], v["SINK_CLIENT_ID"], v["SINK_SECRET"])
    jogos = JogosConfig(v["JOGOS_BASE_URL"], v["JOGOS_GAME_ID"], v["JOGOS_SHARED_KEY"],
                        v["JOGOS_PUBLIC_KEY_URL"])
    games = [GameConfig(jogos, pgos, v["RECONCILER_CATALOG"], catalog)]
    games += _more_games(doc.get("games", []), jogos, pgos, env, read_file, base_dir,
                         target == "pgos", problems)
    ids = [g.jogos.game_id for g in games]
    if len(set(ids)) != len(ids):
        problems.append(f"games: a game id is configured twice ({ids})")
    if problems:
        raise ConfigError(problems)
    return Config(
        games=tuple(games),
        db_path=Path(v["RECONCILER_DB"]),
        engine=EngineSettings(
            v["RECONCILER_PAGE_SIZE"], v["RECONCILER_CONCURRENCY"],
            v["RECONCILER_EFFECT_CONCURRENCY"], v["RECONCILER_TIMEOUT_S"],
            v["RECONCILER_MAX_ATTEMPTS"], v["RECONCILER_BACKOFF_S"],
            v["RECONCILER_BACKOFF_MAX_S"],
        ),
        policy=Policy(AdoptPolicy(v["RECONCILER_ADOPT"]), Identity(v["RECONCILER_IDENTITY"])),
        clawback=v["RECONCILER_CLAWBACK"],
        pgos_api=PgosApi(
            grant_items=v["PGOS_CMD_GRANT_ITEMS"], revoke_instances=v["PGOS_CMD_REVOKE_INSTANCES"],
            inventory=v["PGOS_CMD_INVENTORY"], grant_currency=v["PGOS_CMD_GRANT_CURRENCY"],
            subtract_currency=v["PGOS_CMD_SUBTRACT_CURRENCY"], help=v["PGOS_CMD_HELP"],
            insufficient_balance_errno=v["PGOS_ERRNO_INSUFFICIENT_BALANCE"],
            instance_state_errno=v["PGOS_ERRNO_INSTANCE_STATE"],
            envelope=Envelope(v["PGOS_ENVELOPE"]), cli_version=v["PGOS_CLI_VERSION"],
            region_path=v["PGOS_REGION_PATH"], title_path=v["PGOS_TITLE_PATH"],
            inventory_via=InventoryVia(v["PGOS_INVENTORY_VIA"]),
            backend_inventory_path=v["PGOS_BACKEND_INVENTORY_PATH"],
        ),
        sink=sink,
        daemon=daemon,
    )


SECRET_KINDS = {
    "JOGOS_SHARED_KEY": SecretKind.SHARED_KEY, "PGOS_SERVER_KEY": SecretKind.SERVER_KEY,
    "SINK_SECRET": SecretKind.CLIENT_SECRET, "OPS_HMAC_SECRET": SecretKind.CLIENT_SECRET,
    "OPS_BASIC_SECRET": SecretKind.CLIENT_SECRET, "OPS_API_KEY": SecretKind.API_KEY,
    "RECONCILER_METRICS_TOKEN": SecretKind.SHARED_KEY,
}
GAME_SECRET_KINDS = {"shared_key": SecretKind.SHARED_KEY,
                     "pgos_server_key": SecretKind.SERVER_KEY}

GAME_KEYS = {"game_id", "shared_key_env", "shared_key_file", "catalog", "pgos_title_id",
             "pgos_title_region_id", "pgos_server_key_env", "pgos_server_key_file",
             "pgos_cli_url", "pgos_backend_url"}


def _game_secret(entry: dict[str, Any], name: str, env: Mapping[str, str],
                 read_file: Callable[[Path], str], where: str, base_dir: Path | None,
                 problems: list[str]) -> Secret | None:
    """A secret of a [[games]] entry: from the environment variable it names, or a file
    (relative to the configuration file); held to its kind's floor."""
    env_name, file_name = entry.get(f"{name}_env"), entry.get(f"{name}_file")
    value, source = "", ""
    if env_name:
        value, source = env.get(str(env_name), ""), f"{where}.{name}_env"
        value = value or _credential(env, str(env_name), read_file, problems) or ""
        if not value:
            problems.append(f"{source}: environment variable (or credential) {env_name} is "
                            "not set")
            return None
    elif file_name:
        path = Path(str(file_name))
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        source = f"{where}.{name}_file"
        try:
            value = read_file(path).rstrip("\r\n")
        except OSError as exc:
            problems.append(f"{source}: cannot read: {exc.strerror}")
            return None
    if source:
        problem = weakness(GAME_SECRET_KINDS[name], value.strip())
        if problem is not None:
            problems.append(f"{source}: {problem}")
            return None
        return Secret(value.strip())
    return None


def _more_games(entries: object, first: JogosConfig, first_pgos: PgosConfig | None,
                env: Mapping[str, str], read_file: Callable[[Path], str],
                base_dir: Path | None, needs_pgos: bool,
                problems: list[str]) -> list[GameConfig]:
    """Games beyond the first, from `[[games]]` tables. A game shares the Jogos base URL and,
    unless it names its own, the PGOS title region of the first game. Secrets are never in the
    file: each entry names the environment variable (or file) that holds them."""
    if not isinstance(entries, list):
        problems.append("games: must be an array of tables ([[games]])")
        return []
    games = []
    for index, entry in enumerate(entries):
        where = f"games[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table")
            continue
        problems.extend(f"{where}.{k}: unknown key" for k in sorted(set(entry) - GAME_KEYS))
        game_id = entry.get("game_id")
        if isinstance(game_id, bool) or not isinstance(game_id, int) or game_id <= 0:
            problems.append(f"{where}.game_id: must be a positive integer")
            continue
        shared = _game_secret(entry, "shared_key", env, read_file, where, base_dir, problems)
        if shared is None:
            if not entry.get("shared_key_env") and not entry.get("shared_key_file"):
                problems.append(f"{where}: shared_key_env or shared_key_file is required")
            continue
        pgos = first_pgos
        if "pgos_title_region_id" in entry or "pgos_server_key_env" in entry \
                or "pgos_server_key_file" in entry:
            key = _game_secret(entry, "pgos_server_key", env, read_file, where, base_dir,
                               problems)
            region = entry.get("pgos_title_region_id") or (first_pgos and
                                                           first_pgos.title_region_id)
            if key is None and first_pgos is not None:
                key = first_pgos.server_key
            cli_url = entry.get("pgos_cli_url") or (first_pgos and first_pgos.cli_url)
            title_id = entry.get("pgos_title_id") or (first_pgos and first_pgos.title_id)
            if key is None or not region or not cli_url or not title_id:
                problems.append(f"{where}: PGOS needs a title id, region, CLI URL and key")
                continue
            try:
                split_server_key(key.reveal())
            except ConfigError as exc:
                problems.append(f"{where}.pgos_server_key: {exc.problems[0]}")
                continue
            backend_url = entry.get("pgos_backend_url") or backend_url_for_region(str(region))
            title_backend = first_pgos.title_backend_url if first_pgos else TITLE_BACKEND_URL
            pgos = PgosConfig(str(cli_url), str(backend_url).rstrip("/"), title_backend,
                              str(title_id), str(region), key)
        elif needs_pgos and pgos is None:
            problems.append(f"{where}: no PGOS title region configured")
            continue
        catalog_path = Path(str(entry.get("catalog", "")))
        if not entry.get("catalog"):
            problems.append(f"{where}.catalog: is required")
            continue
        if base_dir is not None and not catalog_path.is_absolute():
            catalog_path = base_dir / catalog_path
        catalog = _load_catalog(catalog_path, read_file, problems)
        games.append(GameConfig(JogosConfig(first.base_url, game_id, shared,
                                            first.public_key_url), pgos, catalog_path, catalog))
    return games


def _daemon_settings(v: dict[str, Any], read_file: Callable[[Path], str],
                     problems: list[str]) -> DaemonSettings:
    host, colon, port = str(v.get("RECONCILER_LISTEN") or "").rpartition(":")
    if not colon or not is_number(port) or not 0 < int(port) < 65536 or not host:
        problems.append("daemon.listen / RECONCILER_LISTEN: must be HOST:PORT")
        host, port = "127.0.0.1", "8080"
    notify_path = str(v.get("RECONCILER_NOTIFY_PATH") or "")
    if not notify_path.startswith("/") or notify_path.startswith(("/ops", "/link", "/healthz",
                                                                  "/metrics")):
        problems.append("daemon.notify_path / RECONCILER_NOTIFY_PATH: must start with / and "
                        "not clash with /ops, /link, /healthz or /metrics")
    client = None
    if v.get("OPS_CLIENT_ID"):
        pem = None
        if v.get("OPS_ECDSA_PUBLIC_KEY"):
            try:
                pem = read_file(Path(v["OPS_ECDSA_PUBLIC_KEY"]))
            except OSError as exc:
                problems.append(f"ops.ecdsa_public_key / OPS_ECDSA_PUBLIC_KEY: cannot read: "
                                f"{exc.strerror}")
        client = OpsClient(v["OPS_CLIENT_ID"], v.get("OPS_HMAC_SECRET"),
                           v.get("OPS_BASIC_SECRET"), v.get("OPS_API_KEY"), pem)
        if not any((client.hmac_secret, client.basic_secret, client.api_key, pem)):
            problems.append("ops: OPS_CLIENT_ID needs at least one credential (OPS_HMAC_SECRET,"
                            " OPS_BASIC_SECRET, OPS_API_KEY, OPS_ECDSA_PUBLIC_KEY)")
    ttl_s = v.get("JOGOS_PUBLIC_KEY_TTL_S") or 300
    min_refetch_s = v.get("JOGOS_PUBLIC_KEY_MIN_REFETCH_S") or 30
    if min_refetch_s > ttl_s:
        problems.append("daemon.public_key_min_refetch_s / JOGOS_PUBLIC_KEY_MIN_REFETCH_S: must "
                        "not exceed daemon.public_key_ttl_s / JOGOS_PUBLIC_KEY_TTL_S")
        min_refetch_s = ttl_s
    return DaemonSettings(
        host=host, port=int(port), notify_path=notify_path,
        public_key_ttl_s=ttl_s, public_key_min_refetch_s=min_refetch_s,
        pass_interval_s=v.get("RECONCILER_PASS_INTERVAL_S") or 300,
        drain_interval_s=v.get("RECONCILER_DRAIN_INTERVAL_S") or 60,
        audit_cron=v.get("RECONCILER_AUDIT_CRON") or "0 6 * * *",
        max_body_bytes=v.get("RECONCILER_MAX_BODY_BYTES") or 65536,
        stop_timeout_s=v.get("RECONCILER_STOP_TIMEOUT_S") or 30.0,
        healthy_age_s=v.get("RECONCILER_HEALTHY_AGE_S") or 1800,
        ops_window_s=v.get("OPS_WINDOW_S") or 300,
        ops_client=client,
        max_connections=v.get("RECONCILER_MAX_CONNECTIONS") or 900,
        header_timeout_s=v.get("RECONCILER_HEADER_TIMEOUT_S") or 10.0,
        body_timeout_s=v.get("RECONCILER_BODY_TIMEOUT_S") or 10.0,
        keepalive_s=v.get("RECONCILER_KEEPALIVE_S") or 15.0,
        metrics_token=v.get("RECONCILER_METRICS_TOKEN"),
        metrics_cache_s=v.get("RECONCILER_METRICS_CACHE_S") or 5.0,
        notify_trust=Trust(v.get("RECONCILER_NOTIFY_TRUST") or "store"),
        allow_query_api_key=v.get("OPS_ALLOW_QUERY_API_KEY") is True,
        link_allow_relink=v.get("RECONCILER_LINK_ALLOW_RELINK") is True,
    )


def _load_catalog(path: Path, read_file: Callable[[Path], str], problems: list[str]) -> Catalog:
    where = f"catalog.path / RECONCILER_CATALOG ({path})"
    try:
        doc = tomllib.loads(read_file(path))
    except OSError as exc:
        problems.append(f"{where}: cannot read: {exc.strerror}")
        return Catalog({})
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{where}: not valid TOML: {exc}")
        return Catalog({})
    try:
        return parse_catalog(doc)
    except ConfigError as exc:
        problems.extend(f"{where}: {p}" for p in exc.problems)
        return Catalog({})


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load the configuration file (if any) named by `path` or RECONCILER_CONFIG, plus `env`.

    Raises ConfigError when the file cannot be read or parsed, or any value is invalid.
    """
    env = os.environ if env is None else env
    path = path or env.get("RECONCILER_CONFIG")
    doc: dict[str, Any] = {}
    base_dir = None
    if path:
        file = Path(path)
        try:
            doc = tomllib.loads(_read_text(file))
        except OSError as exc:
            raise ConfigError(f"configuration file {file}: cannot read: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {file}: not valid TOML: {exc}") from exc
        base_dir = file.parent
    return build_config(doc, env, base_dir=base_dir)
