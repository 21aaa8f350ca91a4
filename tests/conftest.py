"""Shared fixtures: the sandbox simulators on free loopback ports, per test; a throwaway
PostgreSQL server for the session (started when a test first asks for it) and a ledger
location on each engine."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from reconciler.testing.postgres import TempPostgres

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TempPostgres]:
    """A real PostgreSQL server for the session. When it cannot start, every test that needs
    it fails (errors): it skips only when RECONCILER_PG_TESTS=off is set explicitly."""
    if os.environ.get("RECONCILER_PG_TESTS", "").lower() == "off":
        pytest.skip("RECONCILER_PG_TESTS=off: PostgreSQL tests not run")
    server = TempPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=ENGINES)
def ledger_location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a test's ledger lives: a SQLite file, or a fresh database on the PostgreSQL
    server (the test runs once on each engine)."""
    if request.param == "sqlite":
        return tmp_path / "l.db"
    server: TempPostgres = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    """Override in a test module to change what the sandbox simulates."""
    return SandboxOptions(mix=OrderMix(count=250, seed=7))


@pytest.fixture
async def sandbox(sandbox_options: SandboxOptions) -> AsyncIterator[Sandbox]:
    """Every simulator, started on free ports and stopped after the test."""
    async with Sandbox(sandbox_options) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client session for talking to the simulators."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


# -- the secrets scan ------------------------------------------------------------------------
# Every secret the suite configures is registered; every log record of this process and every
# ledger, log and report file the suite writes under its temporary folder is scanned for them
# at the end of the session. A hit fails the run.
import logging  # noqa: E402

from reconciler import config as config_module  # noqa: E402

SECRETS: set[str] = set()
LOG_LINES: list[str] = []
SCANNED_SUFFIXES = (".db", ".db-wal", ".log", ".html", ".json", ".csv", ".md", ".txt")
MIN_SECRET_LEN = 8


class _Capture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        LOG_LINES.append(self.format(record))


def register(*values: object) -> None:
    """Add configured secrets to the scan."""
    for value in values:
        if isinstance(value, str) and len(value) >= MIN_SECRET_LEN:
            SECRETS.add(value)


@pytest.fixture(autouse=True, scope="session")
def _secrets_scan_hooks() -> None:
    """Register the secrets of every sandbox and configuration; capture every log record."""
    original_start = Sandbox.start
    original_build = config_module.build_config

    async def start(self: Sandbox) -> Sandbox:
        o = self.options
        register(o.shared_key, o.server_key, o.s2s_secret, o.app_secret,
                 *o.extra_games.values())
        return await original_start(self)

    def build(*args: object, **kwargs: object) -> config_module.Config:
        built = original_build(*args, **kwargs)  # type: ignore[arg-type]
        register(*built.secrets())
        return built

    Sandbox.start = start  # type: ignore[method-assign]
    config_module.build_config = build  # type: ignore[assignment]
    handler = _Capture()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s %(exc_text)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.DEBUG)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Scan what the suite produced for every registered secret; fail on any hit."""
    if not SECRETS:
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    base = factory.getbasetemp() if factory is not None else None
    files = [p for p in base.rglob("*") if p.is_file() and p.name.endswith(SCANNED_SUFFIXES)] \
        if base is not None else []
    hits = []
    for path in files:
        data = path.read_bytes()
        hits += [f"{path.name}: {len(s)}-char secret" for s in SECRETS if s.encode() in data]
    for line in LOG_LINES:
        hits += [f"log line: {len(s)}-char secret" for s in SECRETS if s in line]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = (f"secrets scan: {len(SECRETS)} secrets, {len(files)} files, "
               f"{len(LOG_LINES)} log lines: {len(hits)} hits")
    if reporter is not None:
        reporter.write_line(message)
        for hit in hits[:20]:
            reporter.write_line(f"  SECRET LEAK {hit}")
    if hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
