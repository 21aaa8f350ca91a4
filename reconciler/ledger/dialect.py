"""Where SQLite and PostgreSQL differ, in one table; every other SQL text is shared.

Rules: the rooms write one SQL text per query, with `?` placeholders, in the subset both
engines speak (SQLite >= 3.35 and PostgreSQL >= 12 agree on `INSERT ... ON CONFLICT (...) DO
NOTHING` / `DO UPDATE SET x = excluded.x`, `RETURNING`, `coalesce`, `CASE`, `EXISTS`, a
derived table with an alias). What does differ is a field of `Dialect` below, read by the
connection classes, never by a room: the placeholder style (translated once per SQL text and
cached), how the books' integrity is checked, how tables are listed, and whether the database
is shared by several processes (then an order is held by one process while its effects run,
and one process leads the schedule). The schemas differ only in their DDL (migrations and
pg_schema), never in names or meaning.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

CACHED_TEXTS = 4096  # distinct SQL texts kept translated (IN lists vary in length)


@dataclass(frozen=True, slots=True)
class Dialect:
    """One engine's side of every difference."""

    name: str
    placeholder: str  # what a `?` of the shared text becomes
    integrity_sql: str  # one row, one column: 'ok' when the books are intact
    tables_sql: str  # the names of the books' tables
    shared: bool  # several processes may use the database at once

    def sql(self, text: str) -> str:
        """The shared SQL text in this engine's placeholder style."""
        return text if self.placeholder == "?" else _format_style(text)


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _format_style(text: str) -> str:
    """`?` -> `%s` (psycopg's style); a literal `%` doubled. The rooms' SQL holds no `?`
    inside a string literal (their values are always bound)."""
    return text.replace("%", "%%").replace("?", "%s")


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    integrity_sql="PRAGMA integrity_check",
    tables_sql="SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    shared=False,
)

POSTGRES = Dialect(
    name="postgresql",
    placeholder="%s",
    # No invalid index and the server answers: what PostgreSQL lets a client check cheaply
    # (page checksums are the server's business: initdb --data-checksums, pg_amcheck).
    integrity_sql="SELECT CASE WHEN count(*) = 0 THEN 'ok' ELSE 'invalid indexes: ' "
                  "|| count(*) END FROM pg_index WHERE NOT indisvalid",
    tables_sql="SELECT table_name FROM information_schema.tables "
               "WHERE table_schema = current_schema() ORDER BY table_name",
    shared=True,
)


def is_postgres_url(location: object) -> bool:
    """True when a ledger location names a PostgreSQL server (postgresql:// or postgres://)."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))
