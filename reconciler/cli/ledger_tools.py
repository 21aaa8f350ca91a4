"""`reconciler players import`: Jogos user -> PGOS player links from a CSV, strict and kind.

Rules: the header names exactly `user_id,player_id` (and optionally `game_id`), in any order;
a UTF-8 byte-order mark (as spreadsheets write) is accepted, `-` reads standard input. Every
row is checked before anything is written, and every problem names its line: a row with too
many or too few fields, an empty or malformed id (a player id is what `/link` accepts: 1-128
of A-Za-z0-9-_.:@), a game that is not configured, a user listed twice, a user linked to
another player without `--replace`. One problem and nothing is written (InputError, exit 1).
A row without a game id belongs to the first game configured. The ledger is closed whatever
happens.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import time
from pathlib import Path
from typing import Any

from reconciler.config import load_config
from reconciler.core.jsontext import is_number
from reconciler.errors import InputError
from reconciler.ledger import Ledger

PLAYER_ID = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")  # what /link accepts
USER_ID = re.compile(r"\S{1,128}")
COLUMNS = ("user_id", "player_id")
OPTIONAL = ("game_id",)
Link = tuple[int, str, str]


def read_text(name: str) -> str:
    """The CSV's text ('-' for standard input), without a UTF-8 byte-order mark.

    Raises InputError when it cannot be read or is not UTF-8.
    """
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise InputError(name, f"cannot read: {exc.strerror}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(name, f"not UTF-8 text (byte {exc.start})") from exc


def _check_header(header: list[str]) -> list[str]:
    names = [h.strip() for h in header]
    problems = []
    missing = [c for c in COLUMNS if c not in names]
    unknown = [n for n in names if n not in COLUMNS + OPTIONAL]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if missing:
        problems.append(f"line 1: header lacks {', '.join(missing)}")
    if unknown:
        problems.append(f"line 1: unknown column{'s' * (len(unknown) > 1)} "
                        f"{', '.join(map(repr, unknown))}")
    if doubled:
        problems.append(f"line 1: column{'s' * (len(doubled) > 1)} "
                        f"{', '.join(doubled)} given twice")
    if problems:
        problems.append("the header must be user_id,player_id or user_id,player_id,game_id")
    return problems


def _check_row(line: int, values: dict[str, str], default_game: int,
               games: set[int]) -> tuple[Link | None, list[str]]:
    user, player = values["user_id"], values["player_id"]
    game = values.get("game_id") or str(default_game)
    problems = []
    if not user:
        problems.append(f"line {line}: user_id is empty")
    elif not USER_ID.fullmatch(user):
        problems.append(f"line {line}: user_id {user[:40]!r} has white space or is over 128 "
                        "characters")
    if not player:
        problems.append(f"line {line}: player_id is empty")
    elif not PLAYER_ID.fullmatch(player):
        problems.append(f"line {line}: player_id {player[:40]!r} must be 1 to 128 of "
                        "A-Za-z0-9-_.:@")
    if not is_number(game):
        problems.append(f"line {line}: game_id {game[:20]!r} is not a number")
    elif int(game) not in games:
        problems.append(f"line {line}: game {game} is not configured (configured: "
                        f"{', '.join(map(str, sorted(games)))})")
    return (None if problems else (int(game), user, player)), problems


def parse_links(text: str, default_game: int, games: set[int]) -> tuple[list[Link], list[str]]:
    """The links of a CSV text and every problem, each naming its line."""
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(rows)
    except StopIteration:
        return [], ["the file is empty (expected a header: user_id,player_id[,game_id])"]
    except csv.Error as exc:
        return [], [f"line 1: {exc}"]
    problems = _check_header(header)
    if problems:
        return [], problems
    names = [h.strip() for h in header]
    links: list[Link] = []
    seen: dict[tuple[int, str], int] = {}
    try:
        for fields in rows:
            line = rows.line_num
            if not any(f.strip() for f in fields):
                continue  # a blank line
            if len(fields) != len(names):
                problems.append(f"line {line}: {len(fields)} fields, the header has "
                                f"{len(names)}")
                continue
            link, found = _check_row(line, dict(zip(names, (f.strip() for f in fields),
                                                    strict=True)), default_game, games)
            problems += found
            if link is None:
                continue
            first = seen.setdefault(link[:2], line)
            if first != line:
                problems.append(f"line {line}: user {link[1]} of game {link[0]} is also on "
                                f"line {first}")
                continue
            links.append(link)
    except csv.Error as exc:
        problems.append(f"line {rows.line_num}: {exc}")
    if not links and not problems:
        problems.append("no rows after the header")
    return links, problems


def relink_problems(links: list[Link], current: dict[tuple[int, str], str]) -> list[str]:
    """One problem per user already linked to another player (refused without --replace)."""
    return [f"user {user} of game {game} is linked to player {current[(game, user)]}, not "
            f"{player}: add --replace to re-link" for game, user, player in links
            if current.get((game, user), player) != player]


def cmd_players_import(args: argparse.Namespace) -> int:
    """Import Jogos user -> PGOS player links; every row is checked before anything is
    written. Exit 0, 1 with every problem (nothing written).

    Raises InputError naming every bad line, ConfigError, LedgerError.
    """
    config = load_config(args.config)
    games = {g.jogos.game_id for g in config.games}
    links, problems = parse_links(read_text(args.file), config.games[0].jogos.game_id, games)
    if problems:
        raise InputError(args.file, problems)
    ledger = Ledger.open(config.db_path, password=config.ledger_password)
    try:
        current = ledger.links(sorted({g for g, _, _ in links}))
        if not args.replace:
            problems = relink_problems(links, current)
            if problems:
                raise InputError(args.file, problems)
        changed = [link for link in links if current.get(link[:2]) != link[2]]
        relinked = sum(1 for link in changed if link[:2] in current)
        source = "import:stdin" if args.file == "-" else f"import:{Path(args.file).name}"
        ledger.link_many(changed, int(time.time()), source=source)
    finally:
        ledger.close()
    print(f"linked {len(changed) - relinked} new, re-linked {relinked}, "
          f"{len(links) - len(changed)} unchanged; orders waiting for these players settle "
          "on the next pass or drain")
    return 0


def add_players(sub: Any) -> None:
    """Register `players import` on the top-level subparsers."""
    players = sub.add_parser(
        "players", help="player links (Jogos user -> PGOS player)",
        description="Manage the links between Jogos users and PGOS players in the ledger.")
    players_sub = players.add_subparsers(dest="players_command", required=True,
                                         metavar="PLAYERS_COMMAND")
    players_import = players_sub.add_parser(
        "import", help="import links from a CSV file",
        description="Import links from a CSV whose header is user_id,player_id or "
        "user_id,player_id,game_id (a UTF-8 BOM is fine; '-' reads standard input). Every "
        "row is checked first, every problem is listed with its line, and nothing is written "
        "unless every row is valid. A row without game_id belongs to the first game "
        "configured. Exit 0, 1 when a row is refused.")
    players_import.add_argument("file", help="the CSV file, or '-' for standard input")
    players_import.add_argument("--replace", action="store_true",
                                help="allow re-linking a user to another player")
    players_import.set_defaults(handler=cmd_players_import)
