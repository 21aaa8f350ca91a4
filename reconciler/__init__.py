"""reconciler: keeps Jogos orders, a local SQLite ledger and PGOS inventories in agreement."""

__version__ = "0.1.0"
