"""The daemon's schedule: APScheduler 3.x (AsyncIOScheduler) runs the full sweep (first at
start, then every `sweep_interval_s`, default daily), the head scan (every `pass_interval_s`,
the first one interval after start), the drain (every `drain_interval_s`), the audit (always, on
`audit_cron`, UTC) and, under systemd's watchdog, WATCHDOG=1 at half its interval.

Rules: one instance of each job at a time, missed runs coalesce, 60 s misfire grace. The jobs
are handed in as functions of the Runtime (they live in jobs/, above this package). A pass
asked for over the ops API runs the reconcile job now (`Runtime.trigger_pass`). With
`leading=False` (a shared ledger, before the election) the pass, drain and audit jobs wait
paused until `lead(True)`; `lead(False)` pauses them again at once. The watchdog never pauses.
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
LEADER_JOBS = ("reconcile", "sweep", "drain", "audit")
Job = Callable[[Runtime], Awaitable[None]]


@dataclass(frozen=True)
class Jobs:
    """The scheduled jobs, each a function of the Runtime."""

    reconcile: Job  # the head scan, every pass_interval_s
    drain: Job
    audit: Job
    sweep: Job | None = None  # the full pass, first at start, then every sweep_interval_s


class Schedule:
    """The jobs on their timers, sharing one Runtime."""

    def __init__(self, runtime: Runtime, jobs: Jobs, *, leading: bool = True) -> None:
        settings = runtime.config.daemon
        self.runtime, self.jobs, self.leading = runtime, jobs, leading
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S,
                  "args": [runtime]}
        now = datetime.now().astimezone()
        head_first = now + timedelta(seconds=settings.pass_interval_s) if jobs.sweep else now
        self.scheduler.add_job(jobs.reconcile, "interval", seconds=settings.pass_interval_s,
                               id="reconcile", next_run_time=head_first if leading else None,
                               **common)
        if jobs.sweep is not None:
            self.scheduler.add_job(jobs.sweep, "interval", seconds=settings.sweep_interval_s,
                                   id="sweep", next_run_time=now if leading else None, **common)
        self.scheduler.add_job(jobs.drain, "interval", seconds=settings.drain_interval_s,
                               id="drain",
                               next_run_time=now + timedelta(seconds=settings.drain_interval_s)
                               if leading else None, **common)
        self.scheduler.add_job(jobs.audit,
                               CronTrigger.from_crontab(settings.audit_cron, timezone="UTC"),
                               id="audit", **common)
        if not leading:
            self.scheduler.get_job("audit").pause()
        watchdog_s = systemd.watchdog_interval_s()
        if watchdog_s:
            self.scheduler.add_job(systemd.notify, "interval", seconds=watchdog_s,
                                   id="watchdog", args=["WATCHDOG=1"], max_instances=1,
                                   coalesce=True)
        runtime.trigger_pass = self.trigger_pass

    def trigger_pass(self) -> None:
        """Run the reconcile job now (it still runs one at a time); a follower runs one pass
        of its own (the orders it settles are held from the leader's)."""
        now = datetime.now().astimezone()
        if not self.leading:
            self.scheduler.add_job(self.jobs.reconcile, "date", run_date=now, id="asked-pass",
                                   args=[self.runtime], replace_existing=True, max_instances=1,
                                   misfire_grace_time=MISFIRE_GRACE_S)
            return
        job = self.scheduler.get_job("reconcile")
        if job is not None:
            job.modify(next_run_time=now)

    def lead(self, leading: bool) -> None:
        """Resume the pass, drain and audit jobs (a pass and a drain at once), or pause them
        at once."""
        self.leading = leading
        now = datetime.now().astimezone()
        for job_id in LEADER_JOBS:
            job = self.scheduler.get_job(job_id)
            if job is None:
                continue
            if not leading:
                job.pause()
            elif job_id == "audit":
                job.resume()
            else:
                job.modify(next_run_time=now)

    def start(self) -> None:
        """Start the timers (in the running event loop)."""
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop the timers; jobs under way go on (the runtime waits for them)."""
        self.scheduler.shutdown(wait=False)
