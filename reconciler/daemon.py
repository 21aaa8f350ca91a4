"""`reconciler run`: the long-running service (systemd Type=notify).

Rules: one asyncio process. APScheduler 3.x (AsyncIOScheduler) runs the reconcile pass, the
drain and (when configured) the audit; one instance of each at a time, missed runs coalesce.
On SIGTERM/SIGINT: STOPPING=1, no new work, in-flight work finishes within stop_timeout_s,
exit 0. What was cut short stays `in_flight` in the ledger and is settled at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime, timedelta

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from jobs.audit import audit
from jobs.drain import drain
from jobs.reconcile import reconcile
from reconciler import systemd
from reconciler.auth import s2s
from reconciler.clients.public_key import PublicKeyCache
from reconciler.config import Config
from reconciler.engine.passes import open_engine
from reconciler.errors import InvariantError
from reconciler.server.app import build_app
from reconciler.server.guard import listen
from reconciler.server.state import DaemonState

log = logging.getLogger("reconciler.daemon")
MISFIRE_GRACE_S = 60


def ops_clients(config: Config) -> dict[str, s2s.ClientCredentials]:
    """The service-to-service clients allowed on /ops/ and /link."""
    client = config.daemon.ops_client
    if client is None:
        return {}
    key = s2s.load_ec_key(client.ecdsa_public_key_pem) if client.ecdsa_public_key_pem else None
    return {client.client_id: s2s.ClientCredentials(
        client.client_id, hmac_secret=client.hmac_secret, basic_secret=client.basic_secret,
        api_key=client.api_key, ecdsa_public_key=key)}


async def serve(config: Config) -> int:
    """Run until SIGTERM or SIGINT; returns the exit status.

    Raises ConfigError when the ledger cannot be opened, OSError when the port is taken.
    The user-token key is fetched through the engine's HTTP session (one session per daemon).
    """
    settings = config.daemon
    async with open_engine(config) as engine:
        if engine.session is None:
            raise InvariantError("the engine owns no HTTP session")
        keys = PublicKeyCache(engine.session, config.jogos.public_key_url,
                              ttl_s=settings.public_key_ttl_s,
                              min_refetch_s=settings.public_key_min_refetch_s,
                              timeout_s=config.engine.timeout_s)
        state = DaemonState(config, engine, keys, ops_clients(config))
        runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False,
                               shutdown_timeout=5, keepalive_timeout=settings.keepalive_s)
        await runner.setup()
        assert runner.server is not None
        listener, guard = await listen(runner.server, settings.host, settings.port,
                                       max_connections=settings.max_connections,
                                       header_timeout_s=settings.header_timeout_s)
        state.connections = guard.figures
        scheduler = AsyncIOScheduler(timezone="UTC")
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S,
                  "args": [state]}
        now = datetime.now().astimezone()
        scheduler.add_job(reconcile, "interval", seconds=settings.pass_interval_s,
                          id="reconcile", next_run_time=now, **common)
        scheduler.add_job(drain, "interval", seconds=settings.drain_interval_s, id="drain",
                          next_run_time=now + timedelta(seconds=settings.drain_interval_s),
                          **common)
        scheduler.add_job(audit, CronTrigger.from_crontab(settings.audit_cron, timezone="UTC"),
                          id="audit", **common)
        watchdog_s = systemd.watchdog_interval_s()
        if watchdog_s:
            scheduler.add_job(systemd.notify, "interval", seconds=watchdog_s, id="watchdog",
                              args=["WATCHDOG=1"], max_instances=1, coalesce=True)

        def trigger() -> None:
            job = scheduler.get_job("reconcile")
            if job is not None:
                job.modify(next_run_time=datetime.now().astimezone())

        state.trigger_pass = trigger
        scheduler.start()
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
        engine.stopping.set()
        scheduler.shutdown(wait=False)
        await state.confirmer.stop()
        listener.close()
        await runner.shutdown()
        running = [t for t in state.tasks if not t.done()]
        if running:
            _, late = await asyncio.wait(running, timeout=settings.stop_timeout_s)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d tasks cut short; their effects stay in flight for next start",
                            len(late))
        await runner.cleanup()
        log.info("stopped")
    return 0
