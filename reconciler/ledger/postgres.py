"""The ledger on PostgreSQL: one psycopg connection per process, the shared SQL of the rooms
translated to its placeholders, transactions, and the locks several daemons need.

Rules: a connection in autocommit mode; `atomic` is one transaction (nested blocks are
savepoints), like sqlite-utils' `atomic`. The URL is handed to libpq as is (TLS settings,
`service=`, PGPASSFILE and the other PG* variables work as libpq documents); a password comes
separately (`RECONCILER_DB_PASSWORD`, its `_FILE` or a systemd credential) and never inside the
URL, so that no URL printed anywhere holds one. A connection found broken is opened again at
the next statement outside a transaction; the order locks it held are gone with it (the server
released them). An order is held by one process while its effects run: a session advisory lock
per order (`pg_try_advisory_lock`), taken before the claim's transaction reads the effect and
released when the order's actions are over, or by the server when the process dies.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.rows import dict_row

from reconciler.errors import ConfigError
from reconciler.ledger import pg_schema
from reconciler.ledger.dialect import POSTGRES, Dialect

log = logging.getLogger("reconciler.ledger")
CONNECT_TIMEOUT_S = 5  # libpq's connect_timeout unless the URL sets one
TCP_USER_TIMEOUT_MS = 15_000  # a silent server is given up after this (unless the URL says)
APPLICATION_NAME = "reconciler"


def redacted(url: str) -> str:
    """The URL without a password and without its query (which may carry file names)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{netloc}{parts.path}"


def connect_kwargs(url: str, password: str | None) -> dict[str, Any]:
    """What psycopg.connect receives: the URL, defaults libpq takes unless the URL sets them,
    and the password. Raises ConfigError when the URL carries a password itself."""
    if urlsplit(url).password is not None:
        raise ConfigError(f"ledger {redacted(url)}: a password in the URL would be logged; "
                          "use RECONCILER_DB_PASSWORD_FILE, a credential, or PGPASSFILE")
    kwargs: dict[str, Any] = {"conninfo": url, "autocommit": True}
    query = urlsplit(url).query
    for key, value in (("connect_timeout", CONNECT_TIMEOUT_S),
                       ("application_name", APPLICATION_NAME),
                       ("tcp_user_timeout", TCP_USER_TIMEOUT_MS), ("keepalives_idle", 10)):
        if f"{key}=" not in query:
            kwargs[key] = value
    if password is not None:
        kwargs["password"] = password
    return kwargs


def order_lock_key(game_id: int, order_id: str) -> int:
    """The advisory lock key of one order: 64 bits of a hash, signed as PostgreSQL's bigint."""
    digest = hashlib.blake2b(f"order:{game_id}:{order_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PgDatabase:
    """What the rooms need of a database, on PostgreSQL (the twin of connection.SqliteDb)."""

    dialect: Dialect = POSTGRES

    def __init__(self, url: str, password: str | None = None) -> None:
        self.url = url
        self._kwargs = connect_kwargs(url, password)
        self._closed = False
        self.total_changes = 0  # rows written through this object (tests read it)
        self.held: set[int] = set()  # order locks this session holds
        self.conn: psycopg.Connection[Any] = psycopg.connect(**self._kwargs)

    def _live(self) -> psycopg.Connection[Any]:
        """The connection, opened again when the last one broke (never after close()).
        Raises psycopg.Error when it cannot be opened."""
        if self.conn.broken and not self._closed:
            if self.held:
                log.warning("ledger connection lost: %d order locks released by the server",
                            len(self.held))
            self.held.clear()
            self.conn = psycopg.connect(**self._kwargs)
        return self.conn

    def execute(self, sql: str, parameters: Sequence[object] | None = None
                ) -> psycopg.Cursor[Any]:
        """Run one statement of the shared SQL; tuples come back. Raises psycopg.Error."""
        cursor = self._live().execute(self.dialect.sql(sql), parameters)
        if cursor.rowcount > 0 and cursor.description is None:
            self.total_changes += cursor.rowcount
        return cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Run one statement for every row. Raises psycopg.Error."""
        with self._live().cursor() as cursor:
            cursor.executemany(self.dialect.sql(sql), rows)
            self.total_changes += max(cursor.rowcount, 0)

    def rows(self, sql: str, parameters: Sequence[object] = ()) -> list[dict[str, Any]]:
        """Every row of a query, by column name. Raises psycopg.Error."""
        with self._live().cursor(row_factory=dict_row) as cursor:
            cursor.execute(self.dialect.sql(sql), parameters)
            return cursor.fetchall()

    def row(self, sql: str, parameters: Sequence[object] = ()) -> dict[str, Any] | None:
        """The first row of a query by column name, or None. Raises psycopg.Error."""
        with self._live().cursor(row_factory=dict_row) as cursor:
            cursor.execute(self.dialect.sql(sql), parameters)
            return cursor.fetchone()

    @contextmanager
    def atomic(self) -> Iterator[PgDatabase]:
        """One transaction (a savepoint when nested). Raises psycopg.Error."""
        with self._live().transaction():
            yield self

    def transaction_usable(self) -> bool:
        """A transaction is open and not aborted (after a failed statement outside a
        savepoint PostgreSQL would turn the COMMIT into a ROLLBACK without a word)."""
        return bool(self.conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS)

    def table_names(self) -> list[str]:
        """The tables of the books (and the migrations' record). Raises psycopg.Error."""
        return [str(name) for (name,) in self.execute(self.dialect.tables_sql)]

    def integrity_ok(self) -> bool:
        """The server answers and no index is invalid. Raises psycopg.Error."""
        found = self.execute(self.dialect.integrity_sql).fetchone()
        return found is not None and found[0] == "ok"

    def hold_order(self, game_id: int, order_id: str) -> bool:
        """Hold the order for this process (until `release_order` or the session's end);
        False when another process holds it. Raises psycopg.Error."""
        key = order_lock_key(game_id, order_id)
        if key in self.held:
            return True
        found = self.execute("SELECT pg_try_advisory_lock(?)", [key]).fetchone()
        if found is None or not found[0]:
            return False
        self.held.add(key)
        return True

    def release_order(self, game_id: int, order_id: str) -> None:
        """Let other processes act on the order again. Raises psycopg.Error."""
        key = order_lock_key(game_id, order_id)
        if key in self.held:
            self.held.discard(key)
            self.execute("SELECT pg_advisory_unlock(?)", [key])

    def close(self) -> None:
        """Close the connection (the server releases every lock it held)."""
        self._closed = True
        self.held.clear()
        self.conn.close()


def open_postgres(url: str, password: str | None = None) -> PgDatabase:
    """Connect to the PostgreSQL ledger at `url` and apply its migrations.

    Raises ConfigError when the server cannot be reached, refuses us, or the schema cannot be
    brought up to date (the message names the server without its query, never a password).
    """
    try:
        db = PgDatabase(url, password)
    except psycopg.Error as exc:
        raise ConfigError(f"ledger {redacted(url)}: cannot connect: "
                          f"{str(exc).strip().splitlines()[0]}") from exc
    try:
        applied = pg_schema.apply(db.conn)
    except psycopg.Error as exc:
        db.close()
        raise ConfigError(f"ledger {redacted(url)}: migrations failed: {exc}") from exc
    if applied:
        log.info("ledger %s: applied %s", redacted(url), ", ".join(applied))
    return db
