"""Games: every game served, each with its Jogos key, its PGOS title region and its catalog.

Rules: every game is a GameConfig whose catalog `load_catalog` reads; games differ only in
where their values are written. The environment (with the `[jogos]`, `[pgos]` and `[catalog]`
tables) describes the first game; each `[[games]]` table adds one. A `[[games]]` entry never
holds a secret: it names the environment variable (`*_env`, or the systemd credential of that
name) or the file (`*_file`, relative to the configuration file) that holds it. An entry
shares the Jogos base URL and, unless it names its own, the PGOS title region of the first
game. Relative catalog paths written in the file are beside the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.auth.pgos import backend_url_for_region, split_server_key
from reconciler.config.model import GameConfig, JogosConfig, PgosConfig
from reconciler.config.schema import PGOS_REQUIRED
from reconciler.config.sources import Raw, ReadFile, Source, env_secret, read_toml
from reconciler.core.catalog import Catalog, parse_catalog
from reconciler.core.pgos_api import TITLE_BACKEND_URL
from reconciler.core.secret_floor import SecretKind, weakness
from reconciler.errors import ConfigError
from reconciler.secret import Secret

GAME_KEYS = frozenset({
    "game_id", "shared_key_env", "shared_key_file", "catalog", "pgos_title_id",
    "pgos_title_region_id", "pgos_server_key_env", "pgos_server_key_file", "pgos_cli_url",
    "pgos_backend_url",
})
GAME_SECRET_FLOORS = {"shared_key": SecretKind.SHARED_KEY,
                      "pgos_server_key": SecretKind.SERVER_KEY}


def _beside(path: Path, base_dir: Path | None) -> Path:
    return base_dir / path if base_dir is not None and not path.is_absolute() else path


def load_catalog(path: Path, where: str, read_file: ReadFile, problems: list[str]) -> Catalog:
    """The catalog at `path`; an empty one, with problems named after `where`, when it cannot
    be read or is not valid."""
    try:
        return parse_catalog(read_toml(path, read_file))
    except ConfigError as exc:
        problems.extend(f"{where} ({path}): {p}" for p in exc.problems)
        return Catalog({})


def first_region(v: Mapping[str, Any]) -> PgosConfig | None:
    """The PGOS title region of the `[pgos]` table / PGOS_* variables, when complete."""
    if not all(name in v for name in PGOS_REQUIRED):
        return None
    region = v["PGOS_TITLE_REGION_ID"]
    return PgosConfig(v["PGOS_CLI_URL"], v.get("PGOS_BACKEND_URL") or
                      backend_url_for_region(region), v["PGOS_TITLE_BACKEND_URL"],
                      v["PGOS_TITLE_ID"], region, v["PGOS_SERVER_KEY"])


def first_catalog(v: Mapping[str, Any], catalog: Raw, base_dir: Path | None,
                  read_file: ReadFile, problems: list[str]) -> tuple[Path, Catalog]:
    """The first game's catalog (`[catalog]` / RECONCILER_CATALOG) and where it was read."""
    path = Path(str(v["RECONCILER_CATALOG"]))
    if catalog.source is Source.FILE:
        path = _beside(path, base_dir)
    return path, load_catalog(path, "catalog.path / RECONCILER_CATALOG", read_file, problems)


def first_game(v: Mapping[str, Any], catalog_path: Path, catalog: Catalog) -> GameConfig:
    """The game of the environment and the `[jogos]`/`[pgos]`/`[catalog]` tables (checked
    values `v`, by environment name)."""
    jogos = JogosConfig(v["JOGOS_BASE_URL"], v["JOGOS_GAME_ID"], v["JOGOS_SHARED_KEY"])
    return GameConfig(jogos, first_region(v), catalog_path, catalog)


def _entry_secret(entry: Mapping[str, Any], name: str, env: Mapping[str, str],
                  read_file: ReadFile, where: str, base_dir: Path | None,
                  problems: list[str]) -> Secret | None:
    """A secret of a `[[games]]` entry, from the variable (or credential) `<name>_env` names
    or the file `<name>_file` names, held to its kind's floor; None when the entry names
    neither, or with a problem appended."""
    env_name, file_name = entry.get(f"{name}_env"), entry.get(f"{name}_file")
    if env_name:
        source = f"{where}.{name}_env"
        value = env_secret(env, str(env_name), read_file, problems) or ""
        if not value:
            problems.append(f"{source}: environment variable (or credential) {env_name} is "
                            "not set")
            return None
    elif file_name:
        source = f"{where}.{name}_file"
        path = _beside(Path(str(file_name)), base_dir)
        try:
            value = read_file(path).rstrip("\r\n")
        except OSError as exc:
            problems.append(f"{source}: cannot read: {exc.strerror}")
            return None
        if not value.strip():
            problems.append(f"{source}: {path} is empty")
            return None
    else:
        return None
    problem = weakness(GAME_SECRET_FLOORS[name], value.strip())
    if problem is not None:
        problems.append(f"{source}: {problem}")
        return None
    return Secret(value.strip())


def _entry_region(entry: Mapping[str, Any], first: PgosConfig | None, env: Mapping[str, str],
                  read_file: ReadFile, where: str, base_dir: Path | None,
                  problems: list[str]) -> PgosConfig | None:
    """The PGOS title region an entry names, each part it leaves out taken from the first
    game's; None with a problem appended when it cannot be completed."""
    key = _entry_secret(entry, "pgos_server_key", env, read_file, where, base_dir, problems)
    key = key or (first.server_key if first is not None else None)
    region = entry.get("pgos_title_region_id") or (first and first.title_region_id)
    cli_url = entry.get("pgos_cli_url") or (first and first.cli_url)
    title_id = entry.get("pgos_title_id") or (first and first.title_id)
    if key is None or not region or not cli_url or not title_id:
        problems.append(f"{where}: PGOS needs a title id, region, CLI URL and key")
        return None
    try:
        split_server_key(key.reveal())
    except ConfigError as exc:
        problems.append(f"{where}.pgos_server_key: {exc.problems[0]}")
        return None
    backend_url = entry.get("pgos_backend_url") or backend_url_for_region(str(region))
    title_backend = first.title_backend_url if first is not None else TITLE_BACKEND_URL
    return PgosConfig(str(cli_url), str(backend_url).rstrip("/"), title_backend, str(title_id),
                      str(region), key)


def _entry_game(entry: Mapping[str, Any], where: str, first: GameConfig,
                env: Mapping[str, str], read_file: ReadFile, base_dir: Path | None,
                needs_pgos: bool, problems: list[str]) -> GameConfig | None:
    """The game of one `[[games]]` table; None with problems appended."""
    problems.extend(f"{where}.{k}: unknown key" for k in sorted(set(entry) - GAME_KEYS))
    game_id = entry.get("game_id")
    if isinstance(game_id, bool) or not isinstance(game_id, int) or game_id <= 0:
        problems.append(f"{where}.game_id: must be a positive integer")
        return None
    shared = _entry_secret(entry, "shared_key", env, read_file, where, base_dir, problems)
    if shared is None:
        if not entry.get("shared_key_env") and not entry.get("shared_key_file"):
            problems.append(f"{where}: shared_key_env or shared_key_file is required")
        return None
    pgos = first.pgos
    if {"pgos_title_region_id", "pgos_server_key_env", "pgos_server_key_file"} & set(entry):
        pgos = _entry_region(entry, first.pgos, env, read_file, where, base_dir, problems)
        if pgos is None:
            return None
    elif needs_pgos and pgos is None:
        problems.append(f"{where}: no PGOS title region configured")
        return None
    if not entry.get("catalog"):
        problems.append(f"{where}.catalog: is required")
        return None
    path = _beside(Path(str(entry["catalog"])), base_dir)
    catalog = load_catalog(path, f"{where}.catalog", read_file, problems)
    return GameConfig(JogosConfig(first.jogos.base_url, game_id, shared), pgos, path, catalog)


def more_games(entries: object, first: GameConfig, env: Mapping[str, str],
               read_file: ReadFile, base_dir: Path | None, needs_pgos: bool,
               problems: list[str]) -> list[GameConfig]:
    """The games of the `[[games]]` tables, in order; problems are appended per entry."""
    if not isinstance(entries, list):
        problems.append("games: must be an array of tables ([[games]])")
        return []
    games = []
    for index, entry in enumerate(entries):
        where = f"games[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table")
            continue
        game = _entry_game(entry, where, first, env, read_file, base_dir, needs_pgos, problems)
        if game is not None:
            games.append(game)
    return games
