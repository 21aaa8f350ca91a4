"""The ledger's connection: the file, its pragmas, its migrations, and how rooms read rows.

Rules: the database file is created with mode 0600 (its -wal and -shm tightened too), in WAL
mode with a busy timeout and foreign keys on; its schema changes only through `migrations`.
Rows are read by column name (`rows`, `row`), never by position. Every sqlite3 error that
leaves the ledger is a LedgerError (`guarded`): callers never see the database's own errors.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlite_utils import Database

from reconciler import private_files
from reconciler.errors import ConfigError, LedgerError
from reconciler.ledger.migrations import migrations

BUSY_TIMEOUT_MS = 10_000
SIDE_FILES = ("-wal", "-shm")  # SQLite's companions of the ledger file
CHUNK = 500  # keys per statement, well below SQLite's limit of bound parameters
MEMORY = ":memory:"

P = ParamSpec("P")
R = TypeVar("R")


def create_private_file(path: Path) -> None:
    """Create `path` (and its folder) with mode 0600; tighten it, its -wal and its -shm to
    0600 (with a warning) when they exist with a looser mode.

    Raises ConfigError when the folder or the file cannot be created or tightened.
    """
    private_files.create_private(path)
    _tighten_side_files(path)


def _tighten_side_files(path: Path) -> None:
    for suffix in SIDE_FILES:
        private_files.tighten(Path(f"{path}{suffix}"))


def open_database(path: str | Path) -> Database:
    """Open (creating with mode 0600) and migrate the SQLite ledger at `path`.

    Raises ConfigError when the file cannot be created or is not a SQLite database.
    """
    path = Path(path)
    private = str(path) != MEMORY
    if private:
        create_private_file(path)
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn)
        migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"ledger {path}: not a usable SQLite database: {exc}") from exc
    if private:  # SQLite made -wal and -shm like the file: make sure
        _tighten_side_files(path)
    return db


def guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Wrap a ledger operation so that a sqlite3 error leaves it as a LedgerError naming the
    operation (the transaction it was in is rolled back by `Database.atomic`)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            raise LedgerError(f"ledger: {method.__name__}: {exc}") from exc

    return wrapper


def rows(db: Database, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
    """Every row of a query, each addressable by column name."""
    cursor = db.conn.cursor()
    cursor.row_factory = sqlite3.Row
    return list(cursor.execute(sql, params).fetchall())


def row(db: Database, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
    """The first row of a query by column name, or None."""
    cursor = db.conn.cursor()
    cursor.row_factory = sqlite3.Row
    found: sqlite3.Row | None = cursor.execute(sql, params).fetchone()
    return found


def scalar(db: Database, sql: str, params: Sequence[object] = ()) -> int:
    """The single number a query answers (a count, a sum; NULL reads as 0)."""
    value = db.execute(sql, list(params)).fetchone()[0]
    return int(value or 0)


def marks(values: Sized) -> str:
    """One `?` per value, comma-separated, for an `IN (...)` list."""
    return ",".join("?" * len(values))


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def by_game(keys: Iterable[tuple[int, str]]) -> dict[int, list[str]]:
    """Order ids grouped by game, in the order they came."""
    groups: dict[int, list[str]] = {}
    for game_id, order_id in keys:
        groups.setdefault(game_id, []).append(order_id)
    return groups
