"""Who schedules: on a shared ledger (PostgreSQL) one daemon at a time leads, the others serve
requests only.

Rules: every `check_s` the lock is tried (a follower) or confirmed (the leader), in a worker
thread, bounded by `check_s`; a check that fails, errs or does not answer in time means "not
leading", and the schedule's jobs are paused at once (work under way finishes; each order is
still held by one process at a time, so an overlap moves nothing twice). Gaining the lead
resumes the jobs and runs a pass and a drain at once (a dead leader's effects in flight are
settled by them). A SQLite ledger has no election: the one daemon leads from its start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger("reconciler.daemon")


class Lock(Protocol):
    """The leader's lock (ledger.leader.LeaderLock)."""

    def check(self) -> bool: ...

    def release(self) -> None: ...


class Leadership:
    """Tries or confirms the lock every `check_s`; calls `on_change(leading)` on each change."""

    def __init__(self, lock: Lock, check_s: float, on_change: Callable[[bool], None]) -> None:
        self.lock = lock
        self.check_s = check_s
        self.on_change = on_change
        self.leading = False
        self.changes = 0
        self._task: asyncio.Task[None] | None = None
        self._check: asyncio.Future[bool] | None = None

    def start(self) -> None:
        """Start checking in the running loop (the first check at once)."""
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="leadership")

    async def _loop(self) -> None:
        while True:
            self._set(await self.check_once())
            await asyncio.sleep(self.check_s)

    async def check_once(self) -> bool:
        """One bounded check; True while leading. Never raises (a failure is "not leading")."""
        if self._check is None or self._check.done():
            self._check = asyncio.ensure_future(asyncio.to_thread(self.lock.check))
        try:
            return await asyncio.wait_for(asyncio.shield(self._check), self.check_s)
        except TimeoutError:
            log.warning("leader lock: no answer within %ss: not leading", self.check_s)
            return False
        except Exception:  # check() never raises; a thread that could not start
            log.exception("leader lock check failed: not leading")
            return False

    def _set(self, leading: bool) -> None:
        if leading == self.leading:
            return
        self.leading = leading
        self.changes += 1
        log.log(logging.INFO if leading else logging.WARNING,
                "leadership %s", "gained: scheduling" if leading else "lost: not scheduling")
        self.on_change(leading)

    async def stop(self) -> None:
        """Stop checking and give the lead up (another daemon takes it at its next check)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._check is not None and not self._check.done():
            await asyncio.gather(self._check, return_exceptions=True)
        if self.leading:
            self._set(False)
        await asyncio.to_thread(self.lock.release)
