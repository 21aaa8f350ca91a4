"""Leadership over a shared ledger: one process at a time schedules passes, drains and
audits; a PostgreSQL session advisory lock says which.

Rules: the lock lives on a connection of its own (not the ledger's, whose reconnects must not
drop it by surprise); it is tried without waiting, and checked by asking the server whether
this session still holds it, so a lost connection, a terminated backend or a restarted server
all read as "not the leader". The server releases the lock the moment the holder's session
ends (a killed process, a closed socket), so another process takes it at its next try. Calls
block (each is one round trip, bounded by libpq's timeouts): the runtime runs them in a thread.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import psycopg

from reconciler.ledger.postgres import connect_kwargs

log = logging.getLogger("reconciler.ledger")
LEADER_LOCK = 0x7265636F6E63_00  # the advisory lock key of the leader ("reconc" 00)
HELD_SQL = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = pg_backend_pid() AND classid::bigint = %s AND objid::bigint = %s "
            "AND objsubid = 1")


def _split(key: int) -> tuple[int, int]:
    """pg_locks shows a bigint key as (classid, objid): its high and low 32 bits."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


class LeaderLock:
    """The leader's lock on one PostgreSQL database; `key` may differ for tests."""

    def __init__(self, url: str, password: str | None = None, key: int = LEADER_LOCK) -> None:
        self._kwargs = connect_kwargs(url, password)
        self._kwargs["application_name"] = "reconciler-leader"
        self.key = key
        self._conn: psycopg.Connection[Any] | None = None
        self.held = False

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self.held = False
            self._conn = psycopg.connect(**self._kwargs)
        return self._conn

    def check(self) -> bool:
        """Take the lock if free, or confirm this session still holds it; True while this
        process leads. Never raises: a database failure means not leading (the connection
        is dropped, so a lock it might still hold is released by the server)."""
        try:
            conn = self._connection()
            if self.held:
                found = conn.execute(HELD_SQL, _split(self.key)).fetchone()
                self.held = bool(found and found[0])
            else:
                found = conn.execute("SELECT pg_try_advisory_lock(%s)", [self.key]).fetchone()
                self.held = bool(found and found[0])
        except psycopg.Error as exc:
            log.warning("leader lock: %s", str(exc).strip().splitlines()[0] if str(exc) else exc)
            self.held = False
            self._drop()
        return self.held

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):  # already gone
                self._conn.close()
            self._conn = None

    def release(self) -> None:
        """Give the lead up (closing the session releases the lock). Never raises."""
        self.held = False
        self._drop()
