"""`reconciler run`: the long-running service (systemd Type=notify).

Rules: one asyncio process that wires the runtime (engine and shared state), the schedule of
jobs (the reconcile pass, the drain and the audit, always) and the HTTP site, and nothing
else. On SIGTERM/SIGINT: STOPPING=1, no new work, in-flight work finishes within
stop_timeout_s, exit 0. What was cut short stays `in_flight` in the ledger and is settled at
the next start. On a shared ledger (PostgreSQL) every daemon serves requests and the one that
holds the leader's lock runs the schedule (runtime.leader).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from jobs.audit import audit
from jobs.drain import drain
from jobs.reconcile import reconcile, sweep
from reconciler import systemd
from reconciler.config import Config
from reconciler.runtime import Runtime, open_runtime
from reconciler.runtime.leader import Leadership
from reconciler.runtime.schedule import Jobs, Schedule
from reconciler.server.site import Site

log = logging.getLogger("reconciler.daemon")


async def serve(config: Config) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status.

    Raises ConfigError when the ledger cannot be opened, OSError when the port is taken.
    """
    settings = config.daemon
    async with open_runtime(config) as runtime:
        shared = runtime.engine.ledger.shared
        runtime.leading = not shared
        schedule = Schedule(runtime, Jobs(reconcile=reconcile, drain=drain, audit=audit,
                                           sweep=sweep),
                            leading=not shared)
        site = Site(runtime)
        await site.start()
        schedule.start()
        leadership = _leadership(config, runtime, schedule) if shared else None
        if leadership is not None:
            leadership.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        systemd.notify(f"READY=1\nSTATUS=serving on {settings.host}:{settings.port}")
        log.info("reconciler running on %s:%s (pass every %ss, drain every %ss)",
                 settings.host, settings.port, settings.pass_interval_s,
                 settings.drain_interval_s)
        await stop.wait()
        systemd.notify("STOPPING=1")
        log.info("stopping: finishing work under way (at most %ss)", settings.stop_timeout_s)
        runtime.stop()
        if leadership is not None:
            await leadership.stop()
        schedule.shutdown()
        await runtime.confirmer.stop()
        await site.stop()
        await runtime.wait_for_tasks(settings.stop_timeout_s)
        await site.cleanup()
        log.info("stopped")
    return 0


def _leadership(config: Config, runtime: Runtime, schedule: Schedule) -> Leadership:
    """The election on a shared ledger: the schedule runs while this daemon leads."""
    from reconciler.ledger.leader import LeaderLock

    def changed(leading: bool) -> None:
        runtime.leading = leading
        schedule.lead(leading)

    lock = LeaderLock(str(config.db_path), config.ledger_password)
    return Leadership(lock, config.daemon.leader_check_s, changed)
