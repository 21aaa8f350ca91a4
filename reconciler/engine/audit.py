"""Gather the three books for the audit: read the store (no writes), the ledger, and the
inventories of the players whose grants were revoked; compare them and record the report.

Rules: read-only towards Jogos and PGOS; the only ledger write is the audit's record. The
report is as of `--until`, or of the latest time the books know (never the wall clock).
`audit_report` is the one audit that `reconciler audit` and the daemon's audit job both run.
"""

from __future__ import annotations

from typing import Any

from reconciler.concurrency import run_bounded
from reconciler.core.audit import Audit, Books, audit
from reconciler.core.models import Order
from reconciler.core.states import EffectState
from reconciler.engine.effects import PgosFulfilment
from reconciler.engine.fetch import fetch_orders
from reconciler.engine.passes import Engine
from reconciler.report import document


async def gather(engine: Engine, *, until_s: int | None = None) -> Books:
    """Read every game's orders, the ledger, and the inventories the audit needs.

    Raises PermanentError/TransientError/UpstreamError when a remote book cannot be read.
    """
    store: dict[tuple[int, str], Order] = {}
    for game in engine.games:
        fetched = await fetch_orders(game.jogos, page_size=engine.page_size,
                                     concurrency=engine.concurrency)
        store.update({o.key: o for o in fetched.orders.values()})
    rows: dict[str, Any] = engine.ledger.audit_rows(engine.game_ids)
    revoked = {(e.game_id, e.order_id) for e in rows["effects"]
               if e.kind == "revoke" and e.state is EffectState.DONE}
    wanted = sorted({(e.game_id, e.player_id) for e in rows["effects"]
                     if e.kind == "grant" and e.player_id and (e.game_id, e.order_id) in revoked})
    inventories: dict[str, dict[str, str]] = {}
    clients = {g.game_id: g.fulfilment.client for g in engine.games
               if isinstance(g.fulfilment, PgosFulfilment)}

    async def read(item: tuple[int, str]) -> None:
        game_id, player_id = item
        client = clients.get(game_id)
        if client is None:
            return
        data = await client.inventory(player_id)
        inventories.setdefault(player_id, {}).update(
            {str(i.get("InstanceID")): str(i.get("Status")) for i in data.get("Instances", [])
             if isinstance(i, dict)})

    await run_bounded(wanted, read, engine.concurrency)
    return Books(store=store, ledger=rows["ledger"], effects=rows["effects"],
                 inventories=inventories, debts=rows["debts"], quarantined=rows["quarantined"],
                 interrupted_runs=rows["interrupted_runs"],
                 as_of_s=until_s if until_s is not None else latest_s(store, rows["latest_s"]))


def latest_s(store: dict[tuple[int, str], Order], ledger_latest_s: int | None) -> int:
    """The books' own clock: the latest time either book knows (the ledger's last change, an
    order's payment or refund), 0 for empty books. No wall-clock time, so the same books give
    the same report; an order paid after the last pass is not younger than the report."""
    times = [t for o in store.values() for t in (o.pay_time_s, o.refund_time_s) if t]
    return max([*times, ledger_latest_s or 0])


async def run_audit(engine: Engine, *, since_s: int | None = None,
                    until_s: int | None = None) -> tuple[Audit, Books]:
    """Gather and compare. Raises what `gather` raises."""
    books = await gather(engine, until_s=until_s)
    return audit(books, since_s=since_s, until_s=until_s), books


async def audit_report(engine: Engine, *, since_s: int | None = None, until_s: int | None = None,
                       threshold: int = 0) -> dict[str, Any]:
    """Run the audit, record its summary (everything but the items) in the ledger for
    /ops/audit/latest, and return the report document (`status` "ok" within `threshold`).

    Raises what `gather` raises, and LedgerError when the summary cannot be recorded.
    """
    result, books = await run_audit(engine, since_s=since_s, until_s=until_s)
    doc = document(result, games=engine.game_ids, as_of_s=books.as_of_s, since_s=since_s,
                   until_s=until_s, threshold=threshold)
    summary = {k: v for k, v in doc.items() if k != "items"}
    engine.ledger.record_audit(summary, str(doc["status"]), int(engine.clock()))
    return doc
