"""A bench-only sandbox process: `reconciler sandbox` plus a control port for benchmarks.

Run as a script (its own process, its own core). Besides the simulators it serves, on a
separate port with no injected latency:

    POST /orders {"count": n, "product_id": "1001"}  add n new paid orders (newest) and return,
        for each, the exact notification body and its Authorization header
    POST /times {"orders": [...]}   for each order: monotonic times at which its grant tokens
        reached PGOS (first, last, how many) and its arrivedorder reached Jogos
    GET  /counts                    getOrders calls, PGOS grant tokens, arrivedorder calls

Times are `time.monotonic()` of this process: CLOCK_MONOTONIC, shared by every process on
Linux, so the benchmark can subtract its own send times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _procs import latency_covers_work

from reconciler.auth import jogos as jogos_auth
from reconciler.sandbox.faults import Faults
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions


class TimedTokens(dict[str, Any]):
    """PGOS idempotency tokens that remember when each grant token was first stored."""

    def __init__(self) -> None:
        super().__init__()
        self.grant_times: dict[str, list[float]] = {}

    def __setitem__(self, key: str, value: Any) -> None:
        now = time.monotonic()
        if key.startswith("grant:") and key not in self:
            parts = key.split(":")
            if len(parts) >= 3:
                self.grant_times.setdefault(parts[2], []).append(now)
        super().__setitem__(key, value)


class TimedCalls(list[tuple[int, str]]):
    """Jogos arrivedorder calls that remember when each order was first marked."""

    def __init__(self) -> None:
        super().__init__()
        self.times: dict[str, float] = {}

    def append(self, item: tuple[int, str]) -> None:
        self.times.setdefault(item[1], time.monotonic())
        super().append(item)


def control_app(sandbox: Sandbox) -> web.Application:
    """Routes that add orders and report when they were granted and marked."""
    jogos, pgos = sandbox.jogos, sandbox.pgos
    tokens, arrived = pgos.tokens, jogos.arrived_calls
    assert isinstance(tokens, TimedTokens) and isinstance(arrived, TimedCalls)
    game_id = sandbox.options.game_id
    shared_key = sandbox.options.shared_key

    async def orders(request: web.Request) -> web.Response:
        doc = await request.json()
        made = jogos.add_orders(game_id, int(doc.get("count", 1)))
        answer = []
        for order in made:
            if doc.get("product_id"):
                order["productId"] = str(doc["product_id"])
            body = jogos.notification_body(game_id, order["orderId"], doc.get("paytype", "pay"))
            answer.append({"order_id": order["orderId"], "product_id": order["productId"],
                           "body": body.decode(),
                           "authorization": jogos_auth.sign(body, shared_key)})
        return web.json_response({"orders": answer, "total": len(jogos.books[game_id].orders)})

    async def times(request: web.Request) -> web.Response:
        doc = await request.json()
        answer = {}
        for order_id in doc["orders"]:
            granted = tokens.grant_times.get(order_id)
            answer[order_id] = {
                "grant_first": granted[0] if granted else None,
                "grant_last": granted[-1] if granted else None,
                "grant_tokens": len(granted) if granted else 0,
                "arrived": arrived.times.get(order_id),
            }
        return web.json_response(answer)

    async def counts(request: web.Request) -> web.Response:
        return web.json_response({"get_orders_calls": jogos.get_orders_calls,
                                  "grant_tokens": sum(map(len, tokens.grant_times.values())),
                                  "arrived_calls": len(arrived),
                                  "orders": len(jogos.books[game_id].orders)})

    app = web.Application()
    app.router.add_post("/orders", orders)
    app.router.add_post("/times", times)
    app.router.add_get("/counts", counts)
    return app


async def serve(args: argparse.Namespace) -> None:
    folder = Path(args.folder)
    catalog = folder / "catalog.toml"
    catalog.write_text(SANDBOX_CATALOG)
    options = SandboxOptions(mix=OrderMix(count=args.orders, seed=args.seed),
                             max_page_size=args.page_size)
    sandbox = Sandbox(options)
    sandbox.pgos.tokens = TimedTokens()
    sandbox.jogos.arrived_calls = TimedCalls()
    faults = Faults(latency_s=args.latency_ms / 1000, latency_covers_work=latency_covers_work())
    sandbox.jogos.injector.configure(faults)
    sandbox.pgos.injector.configure(faults)
    async with sandbox:
        runner = web.AppRunner(control_app(sandbox), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        env = sandbox.env(catalog) | {"BENCH_CONTROL_URL": f"http://127.0.0.1:{port}"}
        tmp = folder / "sandbox.env.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write("".join(f"{k}={v}\n" for k, v in env.items()))
        tmp.rename(folder / "sandbox.env")  # atomic: the reader sees all or nothing
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", required=True)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
