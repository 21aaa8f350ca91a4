"""Building the configuration: sources, then checks, then games and the shared settings.

Rules: problems are collected, never raised one by one: a ConfigError lists every problem of
a stage (the settings and the first catalog; the daemon's settings; the `[[games]]` tables),
each naming its key. Values come from `sources`, are typed by `checks`, and are assembled here
into the `model`; nothing here knows a default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.auth.pgos import split_server_key
from reconciler.config.checks import check
from reconciler.config.games import first_catalog, first_game, more_games
from reconciler.config.model import (
    Config,
    DaemonSettings,
    EngineSettings,
    OpsClient,
    SinkConfig,
)
from reconciler.config.schema import BY_ENV, PGOS_REQUIRED, SETTINGS
from reconciler.config.sources import ReadFile, raw_values, read_text, read_toml, unknown_keys
from reconciler.core.jsontext import is_number
from reconciler.core.pgos_api import PgosApi
from reconciler.core.plan import Policy
from reconciler.errors import ConfigError

RESERVED_PATHS = ("/ops", "/link", "/healthz", "/metrics")


def _section(v: Mapping[str, Any], section: str) -> dict[str, Any]:
    """The checked values of one TOML section, by key."""
    return {s.key: v[s.env] for s in SETTINGS if s.section == section and s.env in v}


def _required_by_target(target: object, raw: Mapping[str, object]) -> list[str]:
    """The settings the fulfilment target needs that were found nowhere."""
    needed = PGOS_REQUIRED if target == "pgos" else tuple(
        s.env for s in SETTINGS if s.section == "fulfilment") if target == "http" else ()
    return [f"{BY_ENV[env].name}: is required (fulfilment target {target})"
            for env in needed if env not in raw]


def _ops_client(v: Mapping[str, Any], read_file: ReadFile,
                problems: list[str]) -> OpsClient | None:
    """The /ops/ and /link client when OPS_CLIENT_ID is set; it needs a credential."""
    if not v.get("OPS_CLIENT_ID"):
        return None
    pem = None
    if v.get("OPS_ECDSA_PUBLIC_KEY"):
        try:
            pem = read_file(Path(v["OPS_ECDSA_PUBLIC_KEY"]))
        except OSError as exc:
            problems.append(f"{BY_ENV['OPS_ECDSA_PUBLIC_KEY'].name}: cannot read: "
                            f"{exc.strerror}")
    client = OpsClient(v["OPS_CLIENT_ID"], v.get("OPS_HMAC_SECRET"), v.get("OPS_BASIC_SECRET"),
                       v.get("OPS_API_KEY"), pem)
    if not any((client.hmac_secret, client.basic_secret, client.api_key, pem)):
        problems.append("ops: OPS_CLIENT_ID needs at least one credential (OPS_HMAC_SECRET,"
                        " OPS_BASIC_SECRET, OPS_API_KEY, OPS_ECDSA_PUBLIC_KEY)")
    return client


def _daemon(v: Mapping[str, Any], read_file: ReadFile, problems: list[str]) -> DaemonSettings:
    """`reconciler run`'s settings: the `[daemon]` table and what the daemon takes from
    `[jogos]`, `[notify]` and `[ops]`; cross-key rules appended to `problems`."""
    daemon = _section(v, "daemon")
    host, colon, port = str(daemon.pop("listen")).rpartition(":")
    if not colon or not is_number(port) or not 0 < int(port) < 65536 or not host:
        problems.append(f"{BY_ENV['RECONCILER_LISTEN'].name}: must be HOST:PORT")
        host, port = "127.0.0.1", "8080"
    path = daemon["notify_path"]
    if not path.startswith("/") or path.startswith(RESERVED_PATHS):
        problems.append(f"{BY_ENV['RECONCILER_NOTIFY_PATH'].name}: must start with / and not "
                        "clash with /ops, /link, /healthz or /metrics")
    if daemon["public_key_min_refetch_s"] > daemon["public_key_ttl_s"]:
        problems.append(f"{BY_ENV['JOGOS_PUBLIC_KEY_MIN_REFETCH_S'].name}: must not exceed "
                        f"{BY_ENV['JOGOS_PUBLIC_KEY_TTL_S'].name}")
    daemon.setdefault("metrics_token", None)
    return DaemonSettings(
        **daemon, host=host, port=int(port), public_key_url=v["JOGOS_PUBLIC_KEY_URL"],
        notify_trust=v["RECONCILER_NOTIFY_TRUST"], ops_window_s=v["OPS_WINDOW_S"],
        allow_query_api_key=v["OPS_ALLOW_QUERY_API_KEY"],
        ops_client=_ops_client(v, read_file, problems))


def _ledger_location(value: str) -> Path | str:
    """A postgresql:// URL stays text (libpq reads it); anything else is a SQLite file."""
    return value if value.startswith(("postgresql://", "postgres://")) else Path(value)


def build_config(doc: Mapping[str, Any], env: Mapping[str, str], *,
                 read_file: ReadFile = read_text, base_dir: Path | None = None) -> Config:
    """Validate a parsed TOML document and the environment into a Config.

    Relative paths in the file are taken from `base_dir` (the file's folder). Raises
    ConfigError with one message per problem.
    """
    problems = unknown_keys(doc)
    raw = raw_values(doc, env, read_file, problems)
    v: dict[str, Any] = {}
    for env_name, found in raw.items():
        value = check(BY_ENV[env_name], found.value, problems)
        if value is not None:
            v[env_name] = value
    target = v.get("RECONCILER_FULFILMENT")
    problems += _required_by_target(target, raw)
    if isinstance(_ledger_location(v.get("RECONCILER_DB", "")), str) and urlsplit(
            v["RECONCILER_DB"]).password is not None:
        v.pop("RECONCILER_DB")
        problems.append(f"{BY_ENV['RECONCILER_DB'].name}: no password in the URL (it would be "
                        "printed); use RECONCILER_DB_PASSWORD(_FILE) or PGPASSFILE")
    if "PGOS_SERVER_KEY" in v:
        try:
            split_server_key(v["PGOS_SERVER_KEY"].reveal())
        except ConfigError as exc:
            problems.append(f"{BY_ENV['PGOS_SERVER_KEY'].name}: {exc.problems[0]}")
    book = first_catalog(v, raw["RECONCILER_CATALOG"], base_dir, read_file,
                         problems) if "RECONCILER_CATALOG" in v else None
    if problems or book is None:  # no catalog path is a problem named already
        raise ConfigError(problems)
    daemon = _daemon(v, read_file, problems)
    if problems:
        raise ConfigError(problems)
    first = first_game(v, *book)
    games = [first, *more_games(doc.get("games", []), first, env, read_file, base_dir,
                                target == "pgos", problems)]
    ids = [g.jogos.game_id for g in games]
    if len(set(ids)) != len(ids):
        problems.append(f"games: a game id is configured twice ({ids})")
    if problems:
        raise ConfigError(problems)
    policy = _section(v, "policy")
    sink = _section(v, "fulfilment")
    return Config(
        games=tuple(games),
        db_path=_ledger_location(v["RECONCILER_DB"]),
        db_password=v.get("RECONCILER_DB_PASSWORD"),
        engine=EngineSettings(**_section(v, "engine")),
        policy=Policy(policy["adopt"], policy["identity"], policy["clawback"]),
        clawback=policy["clawback"],
        pgos_api=PgosApi(**_section(v, "pgos_api")),
        sink=SinkConfig(sink["url"], sink["client_id"], sink["secret"])
        if target == "http" else None,
        daemon=daemon,
    )


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Load the configuration file (if any) named by `path` or RECONCILER_CONFIG, plus `env`
    (the process environment by default).

    Raises ConfigError when the file cannot be read or parsed, or any value is invalid.
    """
    env = os.environ if env is None else env
    path = path or env.get("RECONCILER_CONFIG")
    if not path:
        return build_config({}, env)
    file = Path(path)
    try:
        doc = read_toml(file)
    except ConfigError as exc:
        raise ConfigError(f"configuration file {file}: {exc.problems[0]}") from exc
    return build_config(doc, env, base_dir=file.parent)
