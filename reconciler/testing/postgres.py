"""A throwaway PostgreSQL server for tests and benchmarks: initdb and pg_ctl in a temporary
folder, listening on a unix socket in that folder only.

Rules: the server never runs as root (PostgreSQL refuses to): when we are root, the folder is
given to an unprivileged user (`nobody`) and initdb, pg_ctl and the server run as that user.
Binaries are found through RECONCILER_PG_BINDIR, then PATH, then Debian's
/usr/lib/postgresql/<version>/bin. `start` raises when the server cannot start: the caller
decides whether that fails or skips, never this module. Every wait is pg_ctl's own (`-w`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import psycopg

UNPRIVILEGED = "nobody"
SUPERUSER = "postgres"
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """The throwaway server could not be found or started."""


def bindir() -> Path:
    """The folder holding initdb and pg_ctl. Raises PostgresUnavailable when none is found."""
    configured = os.environ.get("RECONCILER_PG_BINDIR")
    candidates = [configured] if configured else []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise PostgresUnavailable("PostgreSQL's initdb and pg_ctl not found (apt-get install "
                              "postgresql, or set RECONCILER_PG_BINDIR)")


class TempPostgres:
    """One server in its own temporary folder; `url(name)` connects to database `name`."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable  # fsync and synchronous commit on (benchmarks): off for tests
        self.bin = bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="reconciler-pg-"))
        self.data = self.folder / "data"
        self.user: str | None = UNPRIVILEGED if os.geteuid() == 0 else None
        self.started = False
        self.created = 0

    def _run(self, *argv: str) -> None:
        ids = pwd.getpwnam(self.user) if self.user else None
        result = subprocess.run(  # noqa: S603 (our own arguments)
            [str(self.bin / argv[0]), *argv[1:]], capture_output=True, text=True,
            timeout=START_TIMEOUT_S, cwd=self.folder, check=False,
            user=ids.pw_uid if ids else None, group=ids.pw_gid if ids else None)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{argv[0]} failed ({result.returncode}): "
                                      f"{(result.stderr or result.stdout).strip()[-2000:]}")

    def start(self) -> TempPostgres:
        """initdb, then start the server and wait until it accepts connections.

        Raises PostgresUnavailable when either step fails.
        """
        if self.user:
            ids = pwd.getpwnam(self.user)
            os.chown(self.folder, ids.pw_uid, ids.pw_gid)
        self.folder.chmod(0o700)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-instructions")
        self.resume()
        return self

    def resume(self) -> None:
        """Start the (initialised) server and wait until it accepts connections.

        Raises PostgresUnavailable when it does not start.
        """
        fast = "" if self.durable else " -c fsync=off -c synchronous_commit=off" \
                                        " -c full_page_writes=off"
        options = (f"-c listen_addresses='' -c unix_socket_directories='{self.folder}'"
                   f" -c max_connections=200 -c shared_buffers=128MB{fast}")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
                  "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start")
        self.started = True

    def halt(self) -> None:
        """Stop the server (fast: sessions are cut) and keep its data, for `resume`.

        Raises PostgresUnavailable when pg_ctl fails.
        """
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.started = False

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for `database` on this server (its socket folder in the query)."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.folder}"

    def create_database(self, prefix: str = "t") -> str:
        """A fresh empty database; returns its URL. Raises psycopg.Error."""
        self.created += 1
        name = f"{prefix}_{os.getpid()}_{self.created}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if self.started:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            finally:
                self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
