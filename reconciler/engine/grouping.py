"""Group commit: the executor's ledger writes that fall due together commit in one transaction.

Rules: a write is queued with `run` and the caller waits until it is committed, so the rule of
the executor holds unchanged: an effect's intent is durable before its remote call (the claim's
caller goes on only after the COMMIT), and an outcome is durable before the order's next step.
Writes queued during one turn of the event loop are flushed together at the next (no timer: a
busy loop turns slowly and groups more, an idle one commits at once). Inside the group each
write runs in a savepoint of its own (Ledger.grouped's step), so one that fails is rolled back
alone and raises to its own caller, and a failed statement never leaves PostgreSQL's
transaction aborted; if the transaction ends under a write, or the COMMIT fails, every caller
of the group gets that error, the writes not yet run never run, and nothing of it is durable
(its effects stay as they were: a claim not committed sent nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from reconciler.ledger import GroupBroken, Ledger

T = TypeVar("T")


class GroupCommit:
    """Queues ledger writes and commits those of one event-loop turn in one transaction."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.queue: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self.groups = 0  # transactions committed
        self.writes = 0  # writes they held

    async def run(self, write: Callable[[], T]) -> T:
        """Queue `write` (a ledger call) and return its result once committed.

        Raises what `write` raised, or LedgerError when the group's COMMIT failed.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if not self.queue:
            asyncio.get_running_loop().call_soon(self._flush)
        self.queue.append((write, future))
        return await future

    def _flush(self) -> None:
        batch, self.queue = self.queue, []
        results: list[tuple[bool, Any]] = []
        try:
            with self.ledger.grouped() as step:
                for write, _ in batch:
                    try:
                        results.append((True, step(write)))
                    except GroupBroken:
                        raise  # the transaction is gone: no write of the group may go on
                    except Exception as exc:  # rolled back to its savepoint; its caller's
                        results.append((False, exc))
        except Exception as exc:  # the COMMIT failed: nothing of the group is durable
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.groups += 1
        self.writes += len(batch)
        for (ok, value), (_, future) in zip(results, batch, strict=True):
            if future.done():  # its caller was cancelled meanwhile
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
