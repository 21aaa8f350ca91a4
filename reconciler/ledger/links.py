"""Player links: which PGOS player each Jogos user is. A user's player is not replaced by
accident.

Rules: a link made over HTTP (`/link`, `link_checked`) is one transaction that claims the
(game, user) row first, then compares; linking a user to the player it already has writes
nothing; linking it to another player is refused unless the caller allows re-linking (the
operator's choice). `reconciler players import` keeps its own replace-all semantics
(`link_many`). Every function takes the ledger's Db (SQLite or PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from reconciler.ledger.connection import Db, by_game, chunks, guarded, marks, row, rows


class LinkOutcome(StrEnum):
    """What a checked link did."""

    NEW = "new"              # the user had no player: linked
    SAME = "same"            # already linked to this player: nothing written
    RELINKED = "relinked"    # linked to another player before; replaced (allowed)
    CONFLICT = "conflict"    # linked to another player; refused, nothing written


@guarded
def link_checked(db: Db, game_id: int, user_id: str, player_id: str, now_s: int, *,
                 source: str, allow_relink: bool) -> LinkOutcome:
    """Link the Jogos user (game_id, user_id) to `player_id` unless it has another player.

    Raises LedgerError on database failure (nothing is written).
    """
    key = [game_id, user_id]
    with db.atomic():
        inserted = db.execute(
            "INSERT INTO links (game_id, user_id, player_id, linked_s, source) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (game_id, user_id) DO NOTHING",
            [*key, player_id, now_s, source]).rowcount
        if inserted:
            return LinkOutcome.NEW
        current = row(db, "SELECT player_id FROM links WHERE game_id = ? AND user_id = ?", key)
        if current is not None and current["player_id"] == player_id:
            return LinkOutcome.SAME
        if not allow_relink:
            return LinkOutcome.CONFLICT
        db.execute("UPDATE links SET player_id = ?, linked_s = ?, source = ? "
                   "WHERE game_id = ? AND user_id = ?", [player_id, now_s, source, *key])
        return LinkOutcome.RELINKED


def link_many(db: Db, new_links: Iterable[tuple[int, str, str]], now_s: int,
              source: str = "import") -> int:
    """Record (or replace) many (game, user, player) links in one transaction; returns how
    many. Raises a database error on database failure (nothing is written)."""
    found = [(g, u, p, now_s, source) for g, u, p in new_links]
    with db.atomic():
        for link in found:
            db.execute(
                "INSERT INTO links (game_id, user_id, player_id, linked_s, source) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (game_id, user_id) DO UPDATE SET "
                "player_id = excluded.player_id, linked_s = excluded.linked_s, "
                "source = excluded.source", link)
    return len(found)


def links(db: Db, game_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    """Every link of these games: (game, user) -> player."""
    games = list(game_ids)
    return {(r["game_id"], r["user_id"]): r["player_id"] for r in rows(
        db, f"SELECT game_id, user_id, player_id FROM links WHERE game_id IN ({marks(games)})",
        games)}


def links_of(db: Db, users: Iterable[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """The links of these (game, user) pairs only (a chunk's users): (game, user) -> player."""
    found: dict[tuple[int, str], str] = {}
    for chunk in chunks(sorted(set(users))):
        for game_id, group in by_game(chunk).items():
            found.update({(game_id, r["user_id"]): r["player_id"] for r in rows(
                db, f"SELECT user_id, player_id FROM links WHERE game_id = ? "
                f"AND user_id IN ({marks(group)})", [game_id, *group])})
    return found
