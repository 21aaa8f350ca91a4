"""The daemon's schedule: APScheduler 3.x (AsyncIOScheduler) runs the reconcile pass (first at
start, then every `pass_interval_s`), the drain (every `drain_interval_s`), the audit (always, on
`audit_cron`, UTC) and, under systemd's watchdog, WATCHDOG=1 at half its interval.

Rules: one instance of each job at a time, missed runs coalesce, 60 s misfire grace. The jobs
are handed in as functions of the Runtime (they live in jobs/, above this package). A pass
asked for over the ops API runs the reconcile job now (`Runtime.trigger_pass`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from reconciler import systemd
from reconciler.runtime.state import Runtime

MISFIRE_GRACE_S = 60
Job = Callable[[Runtime], Awaitable[None]]


@dataclass(frozen=True)
class Jobs:
    """The scheduled jobs, each a function of the Runtime."""

    reconcile: Job
    drain: Job
    audit: Job


class Schedule:
    """The jobs on their timers, sharing one Runtime."""

    def __init__(self, runtime: Runtime, jobs: Jobs) -> None:
        settings = runtime.config.daemon
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S,
                  "args": [runtime]}
        now = datetime.now().astimezone()
        self.scheduler.add_job(jobs.reconcile, "interval", seconds=settings.pass_interval_s,
                               id="reconcile", next_run_time=now, **common)
        self.scheduler.add_job(jobs.drain, "interval", seconds=settings.drain_interval_s,
                               id="drain",
                               next_run_time=now + timedelta(seconds=settings.drain_interval_s),
                               **common)
        self.scheduler.add_job(jobs.audit,
                               CronTrigger.from_crontab(settings.audit_cron, timezone="UTC"),
                               id="audit", **common)
        watchdog_s = systemd.watchdog_interval_s()
        if watchdog_s:
            self.scheduler.add_job(systemd.notify, "interval", seconds=watchdog_s,
                                   id="watchdog", args=["WATCHDOG=1"], max_instances=1,
                                   coalesce=True)
        runtime.trigger_pass = self.trigger_pass

    def trigger_pass(self) -> None:
        """Run the reconcile job now (it still runs one at a time)."""
        job = self.scheduler.get_job("reconcile")
        if job is not None:
            job.modify(next_run_time=datetime.now().astimezone())

    def start(self) -> None:
        """Start the timers (in the running event loop)."""
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop the timers; jobs under way go on (the runtime waits for them)."""
        self.scheduler.shutdown(wait=False)
