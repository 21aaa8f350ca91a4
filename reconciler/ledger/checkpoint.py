"""WAL checkpoints of the SQLite ledger, in a thread of their own.

Rules: the connection that writes never checkpoints (`PRAGMA wal_autocheckpoint = 0`): SQLite
would otherwise copy the write-ahead log into the database file inside a COMMIT every 1,000
pages, with an fsync, on the daemon's event loop (5-25 ms stalls about every 100 ms under
notification load, seen by bench/load.py's probe). A `Checkpointer` thread with its own
connection runs a PASSIVE checkpoint every `every_s` seconds instead: it never blocks a writer
or a reader, and sqlite3 lets go of the GIL while it works. Durability is unchanged: a COMMIT
is in the log either way, and a log not yet copied is replayed when the file is next opened.
Should the thread fail to open the file, the writing connection checkpoints as before; a
failing checkpoint is logged once (and its recovery), the thread ends when the file is gone.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("reconciler.ledger")
EVERY_S = 0.5


class Checkpointer:
    """A daemon thread copying the ledger's WAL into its file every `every_s` seconds."""

    def __init__(self, path: Path, busy_timeout_ms: int, *, every_s: float = EVERY_S) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.every_s = every_s
        self.checkpoints = 0  # checkpoints that ran
        self.last: tuple[int, int, int] | None = None  # (busy, frames in the log, copied)
        self.failing = 0  # checkpoints failed in a row
        self._stop = threading.Event()
        self._conn: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._run, name="ledger-checkpoint",
                                        daemon=True)

    def start(self, writer: sqlite3.Connection) -> None:
        """Open the thread's own connection, start the thread, then take checkpoints off
        `writer`.

        Raises sqlite3.Error when the file cannot be opened (the writer keeps checkpointing;
        nothing is left open).
        """
        conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout_ms / 1000,
                               isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            self._conn = conn
            self._thread.start()
        except (sqlite3.Error, RuntimeError) as exc:
            self._conn = None
            conn.close()
            raise sqlite3.OperationalError(f"checkpoint thread: {exc}") from exc
        writer.execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self) -> bool:
        """One PASSIVE checkpoint now, on the thread's connection; False when it failed (the
        first failure of a run is logged, and the recovery)."""
        if self._conn is None:
            return False
        try:
            busy, frames, copied = self._conn.execute(
                "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # locked, or the disk: the next one tries again
            if not self.failing:
                log.warning("ledger checkpoint failed (retried every %.1f s): %s",
                            self.every_s, exc)
            self.failing += 1
            return False
        if self.failing:
            log.warning("ledger checkpoints work again after %d failures", self.failing)
            self.failing = 0
        self.last = (int(busy), int(frames), int(copied))
        self.checkpoints += 1
        return True

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every_s):
                if not self.path.exists():  # the ledger was removed: nothing to copy into
                    return
                self.checkpoint()
        except Exception:  # never silently: the writer's WAL would grow unseen
            log.exception("ledger checkpoint thread stopped")
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def signal_stop(self) -> None:
        """Ask the thread to stop after its checkpoint under way (it closes its connection);
        safe from any thread and from a finalizer."""
        self._stop.set()

    def stop(self) -> None:
        """Stop the thread and wait for it (the writer's own close then checkpoints what is
        left, as SQLite does)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
