"""The ledger: the only code that touches the database; one room per concern.

Rules: this face only hands names on. `Ledger` (facade.py) is the interface; the rooms behind
it are the connection and its pragmas (connection), orders and the plan's view (orders),
effects claimed and settled (effects), player links (links), the inbox of notifications and
nonces (inbox), runs (runs), and read models (story, counts, gauges, audit). A database
failure leaves the ledger as LedgerError; `DatabaseError` is its older name.
"""

from reconciler.errors import LedgerError
from reconciler.errors import LedgerError as DatabaseError
from reconciler.ledger.counts import LedgerCounts, read_counts
from reconciler.ledger.effects import Effect, OrderBusy, Outcome
from reconciler.ledger.facade import GroupBroken, Ledger
from reconciler.ledger.orders import RecordFigures

__all__ = ["DatabaseError", "Effect", "GroupBroken", "Ledger", "LedgerCounts", "LedgerError",
           "OrderBusy", "Outcome", "RecordFigures", "read_counts"]
