"""`reconciler run`: the long-running service (systemd Type=notify).

Rules: one asyncio process that wires the runtime (engine and shared state), the schedule of
jobs (the reconcile pass, the drain and the audit, always) and the HTTP site, and nothing
else. On SIGTERM/SIGINT: STOPPING=1, no new work, in-flight work finishes within
stop_timeout_s, exit 0. What was cut short stays `in_flight` in the ledger and is settled at
the next start.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from jobs.audit import audit
from jobs.drain import drain
from jobs.reconcile import reconcile
from reconciler import systemd
from reconciler.config import Config
from reconciler.runtime import open_runtime
from reconciler.runtime.schedule import Jobs, Schedule
from reconciler.server.site import Site

log = logging.getLogger("reconciler.daemon")


async def serve(config: Config) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status.

    Raises ConfigError when the ledger cannot be opened, OSError when the port is taken.
    """
    settings = config.daemon
    async with open_runtime(config) as runtime:
        schedule = Schedule(runtime, Jobs(reconcile=reconcile, drain=drain, audit=audit))
        site = Site(runtime)
        await site.start()
        schedule.start()
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
        schedule.shutdown()
        await runtime.confirmer.stop()
        await site.stop()
        await runtime.wait_for_tasks(settings.stop_timeout_s)
        await site.cleanup()
        log.info("stopped")
    return 0
