"""`reconciler ledger migrate --to postgresql://...`: move a SQLite ledger to PostgreSQL, so
that a user can grow to several daemons without losing history.

Rules: the daemon must be stopped first (the copy reads the file as it is). The source is
`--from`, else the configured ledger file; it must exist and is only read. The target is
migrated and must be empty; the copy is one transaction there, proven afterwards by each
table's row count and digest on both sides (printed). The target's password comes from
RECONCILER_DB_PASSWORD, its _FILE, a systemd credential, or libpq's own (PGPASSFILE, a service
file). Exit 0 when every table agrees, 1 otherwise (or on any error, nothing written).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from reconciler.config import load_config
from reconciler.errors import ConfigError
from reconciler.ledger import Ledger
from reconciler.ledger.dialect import is_postgres_url

PASSWORD = "RECONCILER_DB_PASSWORD"  # noqa: S105 (a setting's name)


def _password() -> str | None:
    """The target's password from the environment, a file or a credential; None: libpq's.
    Raises ConfigError when a named file cannot be read."""
    if os.environ.get(PASSWORD):
        return os.environ[PASSWORD]
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    named = os.environ.get(f"{PASSWORD}_FILE") or (
        str(Path(credentials) / PASSWORD) if credentials and (
            Path(credentials) / PASSWORD).exists() else None)
    if not named:
        return None
    try:
        return Path(named).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{PASSWORD}_FILE: cannot read {named}: {exc.strerror}") from exc


def _source(args: argparse.Namespace) -> Path:
    """The SQLite file to copy. Raises ConfigError when it is not an existing file."""
    found = Path(args.source) if args.source else load_config(args.config).db_path
    if not isinstance(found, Path) or not found.is_file():
        raise ConfigError(f"ledger migrate: {found} is not an existing SQLite ledger file "
                          "(name it with --from)")
    return found


def cmd_ledger_migrate(args: argparse.Namespace) -> int:
    """Copy the SQLite ledger to the PostgreSQL one and prove the copy; 0 when proven.

    Raises ConfigError on a bad source or target, LedgerError when the copy fails.
    """
    if not is_postgres_url(args.to):
        raise ConfigError("ledger migrate: --to must be a postgresql:// URL")
    source = Ledger.open(_source(args))
    try:
        target = Ledger.open(args.to, password=_password())
        try:
            moved = target.copy_books_from(source)
        finally:
            target.close()
    finally:
        source.close()
    width = max(len(p.table) for p in moved.proofs)
    for proof in moved.proofs:
        verdict = "same" if proof.same else "DIFFERENT"
        print(f"{proof.table:<{width}}  {proof.source_rows:>9} -> {proof.target_rows:>9}  "
              f"digest {proof.target_digest[:16]}  {verdict}")
    print("proven: every table agrees" if moved.proven else "NOT proven: see above")
    return 0 if moved.proven else 1


def add_ledger(sub: Any) -> None:
    """Register `ledger migrate` on the top-level subparsers."""
    ledger = sub.add_parser("ledger", help="the ledger itself (moving it to PostgreSQL)",
                            description="Tools for the ledger itself.")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    migrate = ledger_sub.add_parser(
        "migrate", help="copy a SQLite ledger into an empty PostgreSQL one, proven",
        description="Copy every table of a SQLite ledger into an empty PostgreSQL ledger in "
        "one transaction, then compare row counts and digests table by table. Stop the "
        "daemon first; point RECONCILER_DB at the URL afterwards.")
    migrate.add_argument("--to", required=True, metavar="URL",
                         help="postgresql://user@host/db (TLS and service settings as libpq "
                         "reads them; the password from RECONCILER_DB_PASSWORD(_FILE) or "
                         "PGPASSFILE)")
    migrate.add_argument("--from", dest="source", metavar="FILE",
                         help="the SQLite ledger (default: the configured ledger.path)")
    migrate.set_defaults(handler=cmd_ledger_migrate)
