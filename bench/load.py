"""Notification load, long form: a daemon subprocess, a sandbox in this process, N signed
notifications at a given concurrency while the daemon's first pass runs.

    .venv/bin/python bench/load.py --orders 20000 --notifications 3000 --concurrency 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from reconciler.testing.daemon import Daemon, until
from reconciler.testing.load import notification_load, wait_settled


async def run(orders: int, count: int, concurrency: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="reconciler-load-"))
    options = SandboxOptions(mix=OrderMix(count=orders, seed=3))
    async with Sandbox(options) as sandbox, Daemon(sandbox, folder) as daemon:
        await until(lambda: sandbox.jogos.get_orders_calls > 0)
        figures = await notification_load(sandbox, daemon.url + "/jogos/notify",
                                          count=count, concurrency=concurrency)
        missing = await wait_settled(sandbox, figures.acked_orders, timeout_s=600)
    return {"orders_in_pass": orders, "concurrency": concurrency, **figures.summary(),
            "acknowledged_not_settled": len(missing)}


def main() -> int:
    parser = argparse.ArgumentParser(description="notification load against the daemon")
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--notifications", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    result = asyncio.run(run(args.orders, args.notifications, args.concurrency))
    print(json.dumps(result, indent=2))
    return 1 if result["acknowledged_not_settled"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
