"""`reconciler players import`: tools that write the local ledger by hand.

Rules: every row is checked before anything is written (ConfigError naming every bad row);
a row without a game id belongs to the game the operator means by default, the first one
configured; the ledger is closed whatever happens.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

from reconciler.config import load_config
from reconciler.core.jsontext import is_number
from reconciler.errors import ConfigError
from reconciler.ledger import Ledger


def cmd_players_import(args: argparse.Namespace) -> int:
    """Import Jogos user -> PGOS player links from a CSV (user_id,player_id[,game_id]).

    Every row is checked before anything is written. Raises ConfigError listing bad rows.
    """
    config = load_config(args.config)
    default_game = config.games[0]  # the game a row without game_id belongs to
    links = read_links_csv(Path(args.file), default_game.jogos.game_id)
    ledger = Ledger.open(config.db_path, password=config.ledger_password)
    try:
        count = ledger.link_many(links, int(time.time()), source=f"import:{Path(args.file).name}")
    finally:
        ledger.close()
    print(f"linked {count} players")
    return 0


def read_links_csv(path: Path, default_game_id: int) -> list[tuple[int, str, str]]:
    """Parse and check a links CSV. Raises ConfigError naming every bad row."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    fields = set(reader.fieldnames or ())
    if not {"user_id", "player_id"} <= fields:
        raise ConfigError(f"{path}: header must name user_id and player_id (game_id optional)")
    problems, links = [], []
    for line, row in enumerate(reader, start=2):
        user, player = (row.get("user_id") or "").strip(), (row.get("player_id") or "").strip()
        game = (row.get("game_id") or str(default_game_id)).strip()
        if not user or not player or not is_number(game):
            problems.append(f"{path}:{line}: user_id, player_id and a numeric game_id needed")
            continue
        links.append((int(game), user, player))
    if problems:
        raise ConfigError(problems)
    return links


def add_players(sub: Any) -> None:
    """Register `players import` on the top-level subparsers."""
    players = sub.add_parser("players", help="player links (Jogos user -> PGOS player)")
    players_sub = players.add_subparsers(dest="players_command", required=True)
    players_import = players_sub.add_parser("import", help="import links from a CSV file")
    players_import.add_argument("file", help="CSV with user_id,player_id[,game_id]")
    players_import.set_defaults(handler=cmd_players_import)
