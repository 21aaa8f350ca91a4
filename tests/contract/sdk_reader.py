"""A PGOS front on loopback that reads requests the way Tencent's own SDK writes them.

It imports nothing of the reconciler's PGOS client or auth code. At start it asks the SDK
(`pgos_cli.pgos_backend_apis.MakeBusinessRequest`) to send one request to itself and learns
from it what the SDK sends: header names (exact spelling) and values, body keys and `version`.
Afterwards a request is accepted only when it carries the same headers with the same values, a
`ServerTicket` byte-equal to what the SDK's own `GenerateServerTicket` makes for these ids at
some second of the last few, and a body with exactly the SDK's keys. Accepted commands run on
the sandbox's PGOS economy, so a whole pass can settle through this front.
"""

from __future__ import annotations

import asyncio
import json
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pgos_cli import pgos_backend_apis, pgos_cli_config, pgos_tools

from reconciler.sandbox.pgos import CommandError, PgosSim

TRANSPORT = {"host", "user-agent", "accept", "accept-encoding", "connection", "content-length"}
TICKET_WINDOW_S = 10


def configure_sdk(title_region_id: str, server_key: str) -> None:
    """Give the SDK its configuration in memory (its `set-*` commands would write a file
    beside the installed package and print the secret)."""
    pgos_cli_config.gCfgContent = {"title-region": title_region_id, "secret-key": server_key}


def sdk_ticket_at(title_region_id: str, server_key: str, title_id: str, when_s: int) -> str:
    """The SDK's own ServerTicket for these ids at `when_s` (its clock, pinned)."""
    real = pgos_tools.time
    pgos_tools.time = types.SimpleNamespace(time=lambda: when_s)  # type: ignore[assignment]
    try:
        return str(pgos_tools.GenerateServerTicket(title_region_id, server_key, title_id))
    finally:
        pgos_tools.time = real


@dataclass
class Learned:
    """What the SDK sent when asked to: headers by exact name, and the body."""

    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


class SdkReadingPgos:
    """The front: strict SDK reading, then the sandbox's economy."""

    def __init__(self, sim: PgosSim, *, title_region_id: str, server_key: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.sim = sim
        self.region = title_region_id
        self.server_key = server_key
        self.title_id = title_region_id.split("_")[1]  # as MakeBusinessRequest derives it
        self.clock = clock
        self.learned = Learned()
        self.refusals: list[str] = []
        self.accepted = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _capture(self, request: web.Request) -> web.Response:
        self.learned.headers = {name.decode(): value.decode()
                                for name, value in request.raw_headers
                                if name.decode().lower() not in TRANSPORT}
        self.learned.body = json.loads(await request.read())
        return web.json_response({"errno": 0, "errmsg": "", "data": {}})

    def _problem(self, request: web.Request, body: bytes) -> str | None:
        sent = {name.decode(): value.decode() for name, value in request.raw_headers}
        for name, value in self.learned.headers.items():
            if name not in sent:
                return f"missing header {name} (as the SDK spells it); got {sorted(sent)}"
            if name != "ServerTicket" and sent[name] != value:
                return f"header {name}: {sent[name]!r}, the SDK sends {value!r}"
        now = int(self.clock())
        tickets = {sdk_ticket_at(self.region, self.server_key, self.title_id, t)
                   for t in range(now - TICKET_WINDOW_S, now + 2)}
        if sent["ServerTicket"] not in tickets:
            return "ServerTicket differs from the SDK's GenerateServerTicket for these ids"
        try:
            doc = json.loads(body)
        except ValueError:
            return "body is not JSON"
        if not isinstance(doc, dict) or sorted(doc) != sorted(self.learned.body):
            got = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
            return f"missing command/params; got keys {got}"
        if doc["version"] != self.learned.body["version"]:
            return f"version {doc['version']!r}, the SDK sends {self.learned.body['version']!r}"
        if not isinstance(doc["command"], str) or not isinstance(doc["params"], dict):
            return "command must be a string and params an object"
        return None

    async def _serve(self, request: web.Request) -> web.Response:
        body = await request.read()
        problem = self._problem(request, body)
        if problem is not None:
            self.refusals.append(problem)
            return web.json_response({"errno": 40000, "errmsg": problem, "data": {}})
        doc = json.loads(body)
        try:
            data = self.sim.run(doc["command"], doc["params"])
        except CommandError as exc:
            return web.json_response({"errno": exc.errno, "errmsg": str(exc), "data": {}})
        self.accepted += 1
        return web.json_response({"errno": 0, "errmsg": "", "data": data})

    async def start(self) -> SdkReadingPgos:
        """Serve on a free loopback port and learn the SDK's request. Raises OSError."""
        app = web.Application()
        app.router.add_post("/_capture", self._capture)
        app.router.add_post("/console/client/api", self._serve)
        app.router.add_post("/index/client/api", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        configure_sdk(self.region, self.server_key)
        await asyncio.to_thread(pgos_backend_apis.MakeBusinessRequest,
                                self.url + "/_capture", "get-player-inventory",
                                {"PlayerID": "probe"})
        assert self.learned.headers, "the SDK sent nothing to learn from"
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
