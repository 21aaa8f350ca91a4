"""The ledger's connection: the file, its pragmas, its migrations, and how rooms read rows.

Rules: the database file is created with mode 0600 (its -wal and -shm tightened too), in WAL
mode with a busy timeout and foreign keys on; its schema changes only through `migrations`.
A `postgresql://` location opens the PostgreSQL twin instead (ledger.postgres, schema in
ledger.pg_schema); rooms see either as a `Db`: `execute`, `atomic`, `rows`, `row`, and the
`dialect` for what differs. Rows are read by column name (`rows`, `row`), never by position.
Every database error that leaves the ledger is a LedgerError (`guarded`): callers never see
sqlite3's or psycopg's own errors.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from sqlite_utils import Database

from reconciler import private_files
from reconciler.errors import ConfigError, LedgerError
from reconciler.ledger.dialect import SQLITE, Dialect, is_postgres_url
from reconciler.ledger.migrations import migrations


def db_errors() -> tuple[type[Exception], ...]:
    """The database errors a ledger call may raise: sqlite3's, and psycopg's once a
    PostgreSQL ledger loaded it. Called in `except` clauses, which evaluate it only when an
    exception is being matched: a SQLite-only process never imports psycopg (~120 ms of
    every command's start). Raises nothing."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)

BUSY_TIMEOUT_MS = 10_000
SIDE_FILES = ("-wal", "-shm")  # SQLite's companions of the ledger file
CHUNK = 500  # keys per statement, well below SQLite's limit of bound parameters
MEMORY = ":memory:"

P = ParamSpec("P")
R = TypeVar("R")


def file_problem(path: Path) -> str | None:
    """Why a SQLite ledger at `path` could not be opened (without creating or changing it):
    not a database, or a folder where it cannot be created. None when it can."""
    if path.exists():
        try:  # as_uri() percent-encodes: a '#' or '?' in the path cannot end the file name
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                conn.execute("PRAGMA schema_version").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            return f"{path} is not a usable SQLite database ({exc})"
        return None
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{path} cannot be created ({folder} is not writable)"
    return None


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


class Row(Protocol):
    """A row read by column name (sqlite3.Row, or a dict from PostgreSQL)."""

    def __getitem__(self, key: str) -> Any: ...

    def keys(self) -> Any: ...


class Executes(Protocol):
    """Anything that runs one statement of the shared SQL: a sqlite3 connection, a `Db`."""

    def execute(self, sql: str, parameters: Sequence[object] = ..., /) -> Any: ...


class Db(Protocol):
    """What the rooms use of a database: SqliteDb, or postgres.PgDatabase."""

    dialect: Dialect

    def execute(self, sql: str, parameters: Sequence[object] | None = None) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...

    def atomic(self) -> AbstractContextManager[Any]: ...

    def transaction_usable(self) -> bool: ...

    def rows(self, sql: str, parameters: Sequence[object] = ()) -> Sequence[Row]: ...

    def row(self, sql: str, parameters: Sequence[object] = ()) -> Row | None: ...

    def table_names(self) -> list[str]: ...

    def integrity_ok(self) -> bool: ...

    def hold_order(self, game_id: int, order_id: str) -> bool: ...

    def release_order(self, game_id: int, order_id: str) -> None: ...

    def close(self) -> None: ...


class SqliteDb(Database):
    """The SQLite ledger: sqlite-utils' Database and what a `Db` adds (one process writes at a
    time; an order needs no holding across processes)."""

    dialect = SQLITE
    _depth = 0  # savepoints open now: each level has its own name, so its SQL text is
    # always the same one and SQLite's prepared-statement cache serves it

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        """One transaction; a nested block is a savepoint (sqlite-utils' `atomic`, with
        savepoints named by their depth: theirs draws 16 random bytes from the OS for each,
        a new statement for SQLite to prepare, which the executor's grouped writes paid on
        every claim and settle).

        Raises what the block or the database raised (its work rolled back)."""
        conn = self.conn
        if conn.in_transaction:
            self._depth += 1
            name = f"sp{self._depth}"
            try:
                conn.execute(f"SAVEPOINT {name}")
                try:
                    yield self
                except BaseException:
                    if conn.in_transaction:  # an error may have ended the transaction
                        conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                        conn.execute(f"RELEASE SAVEPOINT {name}")
                    raise
                conn.execute(f"RELEASE SAVEPOINT {name}")
            finally:
                self._depth -= 1
            return
        conn.execute("BEGIN")
        try:
            yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def transaction_usable(self) -> bool:
        """A transaction is open and may still commit (an error such as a full disk or a
        RAISE(ROLLBACK) ends it under our feet)."""
        return bool(self.conn.in_transaction)

    def rows(self, sql: str, parameters: Sequence[object] = ()) -> list[sqlite3.Row]:
        """Every row of a query, each addressable by column name."""
        cursor = self.conn.cursor()
        cursor.row_factory = sqlite3.Row
        return list(cursor.execute(sql, parameters).fetchall())

    def row(self, sql: str, parameters: Sequence[object] = ()) -> sqlite3.Row | None:
        """The first row of a query by column name, or None."""
        cursor = self.conn.cursor()
        cursor.row_factory = sqlite3.Row
        found: sqlite3.Row | None = cursor.execute(sql, parameters).fetchone()
        return found

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run one statement for every row."""
        self.conn.executemany(sql, rows)

    def integrity_ok(self) -> bool:
        """PRAGMA integrity_check says ok."""
        return bool(self.execute(SQLITE.integrity_sql).fetchone()[0] == "ok")

    @property
    def total_changes(self) -> int:
        """Rows written on this connection since it opened."""
        return int(self.conn.total_changes)

    def hold_order(self, game_id: int, order_id: str) -> bool:
        """Always held: one process writes a SQLite ledger."""
        return True

    def release_order(self, game_id: int, order_id: str) -> None:
        """Nothing to release."""


def open_db(location: str | Path, password: str | None = None) -> Db:
    """Open and migrate the ledger at `location`: a SQLite file (":memory:" too) or a
    `postgresql://` URL (`password` is used for the latter only).

    Raises ConfigError when it cannot be opened, reached or migrated.
    """
    if is_postgres_url(location):
        try:
            from reconciler.ledger.postgres import open_postgres
        except ImportError as exc:
            raise ConfigError("a postgresql:// ledger needs psycopg: "
                              "pip install 'reconciler[postgres]'") from exc
        return open_postgres(str(location), password)
    db: Db = open_database(location)
    return db


def open_database(path: str | Path) -> SqliteDb:
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
        db = SqliteDb(conn)
        migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"ledger {path}: not a usable SQLite database: {exc}") from exc
    if private:  # SQLite made -wal and -shm like the file: make sure
        _tighten_side_files(path)
    return db


def guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Wrap a ledger operation so that a database error (sqlite3's or psycopg's) leaves it as
    a LedgerError naming the operation (the transaction it was in is rolled back by
    `atomic`)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except db_errors() as exc:
            raise LedgerError(f"ledger: {method.__name__}: {exc}") from exc

    return wrapper


def rows(db: Db, sql: str, params: Sequence[object] = ()) -> Sequence[Row]:
    """Every row of a query, each addressable by column name."""
    return db.rows(sql, params)


def row(db: Db, sql: str, params: Sequence[object] = ()) -> Row | None:
    """The first row of a query by column name, or None."""
    return db.row(sql, params)


def scalar(db: Db, sql: str, params: Sequence[object] = ()) -> int:
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
