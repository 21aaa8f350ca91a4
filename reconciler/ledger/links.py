"""Player links made over HTTP (`/link`): a user's player is not replaced by accident.

Rules: one transaction claims the (game, user) row first, then compares; linking a user to the
player it already has writes nothing; linking it to another player is refused unless the
caller allows re-linking (the operator's choice). `reconciler players import` keeps its own
replace-all semantics (Ledger.link_many).
"""

from __future__ import annotations

from enum import StrEnum

from sqlite_utils import Database


class LinkOutcome(StrEnum):
    """What a checked link did."""

    NEW = "new"              # the user had no player: linked
    SAME = "same"            # already linked to this player: nothing written
    RELINKED = "relinked"    # linked to another player before; replaced (allowed)
    CONFLICT = "conflict"    # linked to another player; refused, nothing written


def link_checked(db: Database, game_id: int, user_id: str, player_id: str, now_s: int, *,
                 source: str, allow_relink: bool) -> LinkOutcome:
    """Link the Jogos user (game_id, user_id) to `player_id` unless it has another player.

    Raises sqlite3.Error on database failure (nothing is written).
    """
    key = [game_id, user_id]
    with db.atomic():
        inserted = db.execute(
            "INSERT INTO links (game_id, user_id, player_id, linked_s, source) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (game_id, user_id) DO NOTHING",
            [*key, player_id, now_s, source]).rowcount
        if inserted:
            return LinkOutcome.NEW
        (current,) = db.execute("SELECT player_id FROM links WHERE game_id = ? AND user_id = ?",
                                key).fetchone()
        if current == player_id:
            return LinkOutcome.SAME
        if not allow_relink:
            return LinkOutcome.CONFLICT
        db.execute("UPDATE links SET player_id = ?, linked_s = ?, source = ? "
                   "WHERE game_id = ? AND user_id = ?", [player_id, now_s, source, *key])
        return LinkOutcome.RELINKED
