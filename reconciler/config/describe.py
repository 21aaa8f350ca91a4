"""The configuration as an operator reads it: every setting of every section and every game,
its value (secrets masked) and where it came from.

Rules: the whole configuration is loaded first (`load_config`: the same checks as `run`, every
problem at once); only then are the sources read again to say where each value came from.
A secret never shows: a Secret prints as its mask, a PGOS server key as its public secret id
and the mask. Values are plain JSON values (str, int, float, bool, None for unset).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from reconciler.config.build import load_config
from reconciler.config.checks import check
from reconciler.config.model import Config, GameConfig
from reconciler.config.partial import config_document
from reconciler.config.schema import BY_ENV, SETTINGS, Setting
from reconciler.config.sources import Source, raw_values, read_text
from reconciler.secret import MASK, Secret

UNSET = "unset"
FIRST_GAME = "first game"  # a [[games]] entry's PGOS part taken from the first game


@dataclass(frozen=True, slots=True)
class Shown:
    """One setting as shown: where it lives, its value (masked) and its source."""

    section: str  # "jogos", "daemon", ..., or "games[0]" for a [[games]] table
    key: str
    value: object
    source: str  # a config.sources.Source value, "unset" or "first game"
    origin: str = ""  # the environment variable, or the file, the value was read from


def printable(setting: Setting | None, value: object) -> object:
    """A checked value as a plain JSON value, a secret masked."""
    if isinstance(value, Secret):
        if setting is not None and setting.env == "PGOS_SERVER_KEY":
            return f"{value.reveal().split('-', 1)[0]}-{MASK}"
        return MASK
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def _origin(s: Setting, source: Source, env: Mapping[str, str], file: Path | None) -> str:
    if source is Source.ENVIRONMENT:
        return s.env
    if source is Source.SECRET_FILE:
        return env.get(f"{s.env}_FILE", "")
    if source is Source.CREDENTIAL:
        return f"$CREDENTIALS_DIRECTORY/{s.env}"
    if source is Source.FILE:
        return str(file or "")
    return s.env


def _settings(config: Config, doc: Mapping[str, Any], env: Mapping[str, str],
              file: Path | None) -> list[Shown]:
    raw = raw_values(doc, env, read_text, [])
    shown = []
    for s in SETTINGS:
        found = raw.get(s.env)
        if found is None:
            shown.append(Shown(s.section, s.key, None, UNSET, s.env))
            continue
        value = check(s, found.value, [])
        if s.env == "RECONCILER_CATALOG":
            value = config.games[0].catalog_path  # as resolved (beside the file)
        shown.append(Shown(s.section, s.key, printable(s, value), found.source.value,
                           _origin(s, found.source, env, file)))
        if s.env == "RECONCILER_CATALOG":
            shown.append(Shown("catalog", "products", len(config.games[0].catalog), "catalog",
                               str(config.games[0].catalog_path)))
    return shown


def _entry_secret(where: str, key: str, entry: Mapping[str, Any], value: object,
                  env: Mapping[str, str]) -> Shown:
    """A [[games]] entry's secret: masked, with the variable or file that holds it."""
    variable, file = entry.get(f"{key}_env"), entry.get(f"{key}_file")
    if variable:
        source = Source.ENVIRONMENT if env.get(str(variable)) else Source.CREDENTIAL
        return Shown(where, key, value, source.value, str(variable))
    if file:
        return Shown(where, key, value, Source.SECRET_FILE.value, str(file))
    return Shown(where, key, value, FIRST_GAME)


def _game(index: int, entry: Mapping[str, Any], game: GameConfig, file: Path | None,
          env: Mapping[str, str]) -> list[Shown]:
    """The rows of one [[games]] table, as built."""
    where, origin = f"games[{index}]", str(file or "")
    shown = [
        Shown(where, "game_id", game.jogos.game_id, Source.FILE.value, origin),
        _entry_secret(where, "shared_key", entry, MASK, env),
        Shown(where, "catalog", str(game.catalog_path), Source.FILE.value, origin),
        Shown(where, "products", len(game.catalog), "catalog", str(game.catalog_path)),
    ]
    pgos = game.pgos
    if pgos is None:
        return shown
    for key, value in (("pgos_cli_url", pgos.cli_url), ("pgos_title_id", pgos.title_id),
                       ("pgos_title_region_id", pgos.title_region_id),
                       ("pgos_backend_url", pgos.backend_url)):
        source = Source.FILE.value if entry.get(key) else FIRST_GAME
        shown.append(Shown(where, key, value, source, origin if entry.get(key) else ""))
    key_shown = printable(BY_ENV["PGOS_SERVER_KEY"], pgos.server_key)
    shown.append(_entry_secret(where, "pgos_server_key", entry, key_shown, env))
    return shown


def describe_config(path: str | Path | None = None,
                    env: Mapping[str, str] | None = None) -> tuple[Config, list[Shown]]:
    """The validated configuration and every setting of it as shown.

    Raises ConfigError listing every problem (the same checks as `reconciler run`'s).
    """
    env = os.environ if env is None else env
    config = load_config(path, env)
    doc, file = config_document(path, env)
    shown = _settings(config, doc, env, file)
    entries = doc.get("games", [])
    for index, (entry, game) in enumerate(zip(entries, config.games[1:], strict=False)):
        shown += _game(index, entry, game, file, env)
    return config, shown
