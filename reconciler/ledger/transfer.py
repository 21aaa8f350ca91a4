"""Moving the books: copy a SQLite ledger into an empty PostgreSQL one, then prove the copy.

Rules: the target must hold no row in any table of the books (a second copy never mixes two
histories); the whole copy is one transaction on the target (all or nothing), the source is
only read. Rows are streamed in chunks, table by table, by column name; `runs` keeps its ids
and the target's identity continues after the highest. The proof reads both sides again:
per table the row count and an order-independent digest (the sum of each row's BLAKE2b over
its values by column name), so a collation that sorts differently cannot make equal books
look different.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from reconciler.errors import LedgerError
from reconciler.ledger.connection import Db

TABLES = ("orders", "quarantine", "effects", "runs", "links", "debts", "notifications",
          "nonces")  # every table of the books, in the order they are copied
CHUNK_ROWS = 5000
DIGEST_MODULUS = 1 << 256


@dataclass(frozen=True, slots=True)
class TableProof:
    """One table on both sides."""

    table: str
    source_rows: int
    target_rows: int
    source_digest: str
    target_digest: str

    @property
    def same(self) -> bool:
        """Counts and digests agree."""
        return (self.source_rows, self.source_digest) == (self.target_rows, self.target_digest)


@dataclass
class Transfer:
    """What a copy moved and what its proof found."""

    copied: dict[str, int] = field(default_factory=dict)
    proofs: list[TableProof] = field(default_factory=list)

    @property
    def proven(self) -> bool:
        """Every table's count and digest agree."""
        return bool(self.proofs) and all(p.same for p in self.proofs)


def _columns(db: Db, table: str) -> list[str]:
    cursor = db.execute(f"SELECT * FROM {table} WHERE 1 = 0")
    return [str(d[0]) for d in cursor.description]


def _chunks(db: Db, table: str, columns: list[str]) -> Iterator[list[tuple[object, ...]]]:
    cursor = db.execute(f"SELECT {', '.join(columns)} FROM {table}")
    while True:
        found = cursor.fetchmany(CHUNK_ROWS)
        if not found:
            return
        yield [tuple(r) for r in found]


def digest(db: Db, table: str, columns: list[str]) -> tuple[int, str]:
    """(row count, order-independent digest) of a table, over `columns` by name."""
    total, rows = 0, 0
    for chunk in _chunks(db, table, columns):
        for values in chunk:
            text = json.dumps(values, separators=(",", ":"), default=str).encode()
            total = (total + int.from_bytes(hashlib.blake2b(text).digest(), "big")) \
                % DIGEST_MODULUS
            rows += 1
    return rows, f"{total:064x}"


def copy_books(source: Db, target: Db) -> Transfer:
    """Copy every table of the books from `source` to the empty `target` in one transaction
    on the target, then compare both sides table by table.

    Raises LedgerError when the target already holds rows (nothing is written); a database
    error when a row cannot be copied (the target's transaction is rolled back).
    """
    busy = [t for t in TABLES
            if target.execute(f"SELECT count(*) FROM {t}").fetchone()[0]]
    if busy:
        raise LedgerError(f"the target ledger is not empty ({', '.join(busy)}): nothing copied")
    transfer = Transfer()
    with target.atomic():
        for table in TABLES:
            columns = _columns(source, table)
            insert = (f"INSERT INTO {table} ({', '.join(columns)}) "
                      f"VALUES ({', '.join('?' * len(columns))})")
            count = 0
            for chunk in _chunks(source, table, columns):
                target.executemany(insert, chunk)
                count += len(chunk)
            transfer.copied[table] = count
        if target.dialect.shared:  # runs.id is an identity column: continue after the copy
            target.execute("SELECT setval(pg_get_serial_sequence('runs', 'id'), "
                           "coalesce((SELECT max(id) FROM runs), 0) + 1, false)")
    for table in TABLES:
        columns = _columns(source, table)
        rows_s, digest_s = digest(source, table, columns)
        rows_t, digest_t = digest(target, table, columns)
        transfer.proofs.append(TableProof(table, rows_s, rows_t, digest_s, digest_t))
    return transfer
