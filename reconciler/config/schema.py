"""Every setting: its environment name, its TOML place, its kind and its default.

Rules: this table is the one source of truth. Each environment name is a contract with
operators (systemd EnvironmentFile=, README's tables); each default is written here once (the
PGOS API's in `core.pgos_api`, which this table reads) and nowhere else: the typed settings in
`model` have none. A secret names the floor its value is held to (`core.secret_floor`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.core.notify import Trust
from reconciler.core.pgos_api import TITLE_BACKEND_URL, Envelope, InventoryVia, PgosApi
from reconciler.core.plan import AdoptPolicy, ClawbackPolicy, Identity
from reconciler.core.secret_floor import SecretKind


class Kind(StrEnum):
    """What a value must look like; `checks` holds one rule per kind."""

    STR = "str"  # non-empty, no white space
    INT = "int"  # a positive integer
    FLOAT = "float"  # a positive number
    BOOL = "bool"  # true/false, 1/0, yes/no
    CHOICE = "choice"  # one of `choices`
    URL = "url"  # http(s) with a host; a trailing slash is dropped
    URLPATH = "urlpath"  # starts with '/', no query or fragment
    PATH = "path"  # a non-empty file name
    CRON = "cron"  # a crontab expression
    SECRET = "secret"  # wrapped in Secret at once, held to its floor  # noqa: S105 (a name)


@dataclass(frozen=True, slots=True)
class Setting:
    """One configuration key: its environment name, its TOML place, its kind.

    `required` settings without a default must be given; optional ones without a default are
    absent unless given. `choices` may be a StrEnum: the checked value is then its member.
    """

    env: str
    section: str
    key: str
    kind: Kind = Kind.STR
    default: object = None
    required: bool = True
    choices: tuple[str, ...] | type[StrEnum] = ()
    floor: SecretKind | None = None

    @property
    def name(self) -> str:
        """How a message names this setting: `section.key / ENV_NAME`."""
        return f"{self.section}.{self.key} / {self.env}"

    @property
    def is_secret(self) -> bool:
        """True when the value may also come from `<NAME>_FILE` or a systemd credential."""
        return self.kind is Kind.SECRET


def _optional(env: str, section: str, key: str, kind: Kind = Kind.STR,
              floor: SecretKind | None = None) -> Setting:
    return Setting(env, section, key, kind, required=False, floor=floor)


def _secret(env: str, section: str, key: str, floor: SecretKind) -> Setting:
    return _optional(env, section, key, Kind.SECRET, floor)


def _api(env: str, key: str, kind: Kind = Kind.STR, choices: type[StrEnum] | None = None
         ) -> Setting:
    """A `pgos_api` setting; its default is the PgosApi field's."""
    return Setting(env, "pgos_api", key, Kind.CHOICE if choices else kind,
                   getattr(PgosApi(), key), choices=choices or ())


SETTINGS: tuple[Setting, ...] = (
    Setting("JOGOS_BASE_URL", "jogos", "base_url", Kind.URL, "https://api.jogos.com"),
    Setting("JOGOS_GAME_ID", "jogos", "game_id", Kind.INT),
    Setting("JOGOS_SHARED_KEY", "jogos", "shared_key", Kind.SECRET,
            floor=SecretKind.SHARED_KEY),
    Setting("JOGOS_PUBLIC_KEY_URL", "jogos", "public_key_url", Kind.URL,
            "https://www.jogos.com/publicKey.json"),
    _optional("PGOS_CLI_URL", "pgos", "cli_url", Kind.URL),
    _optional("PGOS_BACKEND_URL", "pgos", "backend_url", Kind.URL),
    Setting("PGOS_TITLE_BACKEND_URL", "pgos", "title_backend_url", Kind.URL, TITLE_BACKEND_URL),
    _optional("PGOS_TITLE_ID", "pgos", "title_id"),
    _optional("PGOS_TITLE_REGION_ID", "pgos", "title_region_id"),
    _secret("PGOS_SERVER_KEY", "pgos", "server_key", SecretKind.SERVER_KEY),
    Setting("RECONCILER_DB", "ledger", "path", Kind.PATH, "state/ledger.db"),  # or postgresql://
    _secret("RECONCILER_DB_PASSWORD", "ledger", "password", SecretKind.CLIENT_SECRET),
    Setting("RECONCILER_CATALOG", "catalog", "path", Kind.PATH),
    Setting("RECONCILER_PAGE_SIZE", "engine", "page_size", Kind.INT, 100),
    Setting("RECONCILER_CONCURRENCY", "engine", "concurrency", Kind.INT, 8),
    Setting("RECONCILER_EFFECT_CONCURRENCY", "engine", "effect_concurrency", Kind.INT, 16),
    Setting("RECONCILER_CHUNK_ORDERS", "engine", "chunk_orders", Kind.INT, 2000),
    Setting("RECONCILER_HEAD_QUIET_PAGES", "engine", "head_quiet_pages", Kind.INT, 2),
    Setting("RECONCILER_TIMEOUT_S", "engine", "timeout_s", Kind.FLOAT, 10.0),
    Setting("RECONCILER_MAX_ATTEMPTS", "engine", "max_attempts", Kind.INT, 5),
    Setting("RECONCILER_BACKOFF_S", "engine", "backoff_s", Kind.FLOAT, 0.2),
    Setting("RECONCILER_BACKOFF_MAX_S", "engine", "backoff_max_s", Kind.FLOAT, 5.0),
    Setting("RECONCILER_IDENTITY", "policy", "identity", Kind.CHOICE, Identity.LINKED,
            choices=Identity),
    Setting("RECONCILER_ADOPT", "policy", "adopt", Kind.CHOICE, AdoptPolicy.RECORD,
            choices=AdoptPolicy),
    Setting("RECONCILER_CLAWBACK", "policy", "clawback", Kind.CHOICE, ClawbackPolicy.FAIL,
            choices=ClawbackPolicy),
    _api("PGOS_CMD_GRANT_ITEMS", "grant_items"),
    _api("PGOS_CMD_REVOKE_INSTANCES", "revoke_instances"),
    _api("PGOS_CMD_INVENTORY", "inventory"),
    _api("PGOS_CMD_GRANT_CURRENCY", "grant_currency"),
    _api("PGOS_CMD_SUBTRACT_CURRENCY", "subtract_currency"),
    _api("PGOS_CMD_HELP", "help"),
    _api("PGOS_ERRNO_INSUFFICIENT_BALANCE", "insufficient_balance_errno", Kind.INT),
    _api("PGOS_ERRNO_INSTANCE_STATE", "instance_state_errno", Kind.INT),
    _api("PGOS_ENVELOPE", "envelope", choices=Envelope),
    _api("PGOS_CLI_VERSION", "cli_version"),
    _api("PGOS_REGION_PATH", "region_path", Kind.URLPATH),
    _api("PGOS_TITLE_PATH", "title_path", Kind.URLPATH),
    _api("PGOS_INVENTORY_VIA", "inventory_via", choices=InventoryVia),
    _api("PGOS_BACKEND_INVENTORY_PATH", "backend_inventory_path", Kind.URLPATH),
    Setting("RECONCILER_FULFILMENT", "fulfilment", "target", Kind.CHOICE, "pgos",
            choices=("pgos", "http")),
    _optional("SINK_URL", "fulfilment", "url", Kind.URL),
    _optional("SINK_CLIENT_ID", "fulfilment", "client_id"),
    _secret("SINK_SECRET", "fulfilment", "secret", SecretKind.CLIENT_SECRET),
    Setting("RECONCILER_LISTEN", "daemon", "listen", Kind.STR, "127.0.0.1:8080"),
    Setting("RECONCILER_NOTIFY_PATH", "daemon", "notify_path", Kind.STR, "/jogos/notify"),
    Setting("RECONCILER_PASS_INTERVAL_S", "daemon", "pass_interval_s", Kind.INT, 300),
    Setting("RECONCILER_SWEEP_INTERVAL_S", "daemon", "sweep_interval_s", Kind.INT, 86400),
    Setting("RECONCILER_DRAIN_INTERVAL_S", "daemon", "drain_interval_s", Kind.INT, 60),
    Setting("RECONCILER_AUDIT_CRON", "daemon", "audit_cron", Kind.CRON, "0 6 * * *"),
    Setting("RECONCILER_MAX_BODY_BYTES", "daemon", "max_body_bytes", Kind.INT, 65536),
    Setting("RECONCILER_STOP_TIMEOUT_S", "daemon", "stop_timeout_s", Kind.FLOAT, 30.0),
    Setting("RECONCILER_HEALTHY_AGE_S", "daemon", "healthy_age_s", Kind.INT, 1800),
    Setting("JOGOS_PUBLIC_KEY_TTL_S", "daemon", "public_key_ttl_s", Kind.INT, 300),
    Setting("RECONCILER_MAX_CONNECTIONS", "daemon", "max_connections", Kind.INT, 900),
    Setting("RECONCILER_HEADER_TIMEOUT_S", "daemon", "header_timeout_s", Kind.FLOAT, 10.0),
    Setting("RECONCILER_BODY_TIMEOUT_S", "daemon", "body_timeout_s", Kind.FLOAT, 10.0),
    Setting("RECONCILER_KEEPALIVE_S", "daemon", "keepalive_s", Kind.FLOAT, 15.0),
    _secret("RECONCILER_METRICS_TOKEN", "daemon", "metrics_token", SecretKind.SHARED_KEY),
    Setting("RECONCILER_METRICS_CACHE_S", "daemon", "metrics_cache_s", Kind.FLOAT, 5.0),
    Setting("RECONCILER_NOTIFY_TRUST", "notify", "trust", Kind.CHOICE, Trust.STORE,
            choices=Trust),
    Setting("JOGOS_PUBLIC_KEY_MIN_REFETCH_S", "daemon", "public_key_min_refetch_s", Kind.INT,
            30),
    _optional("OPS_CLIENT_ID", "ops", "client_id"),
    _secret("OPS_HMAC_SECRET", "ops", "hmac_secret", SecretKind.CLIENT_SECRET),
    _secret("OPS_BASIC_SECRET", "ops", "basic_secret", SecretKind.CLIENT_SECRET),
    _secret("OPS_API_KEY", "ops", "api_key", SecretKind.API_KEY),
    _optional("OPS_ECDSA_PUBLIC_KEY", "ops", "ecdsa_public_key", Kind.PATH),
    Setting("OPS_WINDOW_S", "ops", "window_s", Kind.INT, 300),
    Setting("OPS_ALLOW_QUERY_API_KEY", "ops", "allow_query_api_key", Kind.BOOL, False),
    Setting("RECONCILER_LINK_ALLOW_RELINK", "daemon", "link_allow_relink", Kind.BOOL, False),
    Setting("RECONCILER_LEADER_CHECK_S", "daemon", "leader_check_s", Kind.FLOAT, 5.0),
)

SECTIONS = frozenset(s.section for s in SETTINGS)
BY_ENV = {s.env: s for s in SETTINGS}
PGOS_REQUIRED = ("PGOS_CLI_URL", "PGOS_TITLE_ID", "PGOS_TITLE_REGION_ID", "PGOS_SERVER_KEY")
