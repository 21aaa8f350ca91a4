"""Start every simulator on loopback, and describe how to point the reconciler at them.

Rules: ports are chosen by the OS (port 0) unless given; keys are fresh per run unless given;
`Sandbox` is an async context manager that always stops what it started.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from reconciler.auth import s2s
from reconciler.core.secret_floor import SecretKind, weakness
from reconciler.sandbox.game_server import GameServerSim
from reconciler.sandbox.jogos import JogosSim
from reconciler.sandbox.jogos_pages import Readings
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.pgos import Commands, PgosSim
from reconciler.secret import Secret

SANDBOX_CATALOG = """\
# The sandbox's products (reconciler sandbox); 1001-1003 are what its orders buy.
[products."1001"]
items = [{ item_id = "gem_pack_100", amount = 1 }]

[products."1002"]
currency = [{ code = "GEM", amount = 500 }]

[products."1003"]
items = [{ item_id = "starter_sword", amount = 1 }, { item_id = "potion", amount = 3 }]
currency = [{ code = "GOLD", amount = 1000 }]
"""


def _fresh(kind: SecretKind, draw: Callable[[], str]) -> str:
    """A random throwaway key that the reconciler's secret floor accepts: drawn again when
    chance spelled a placeholder word into it (`...TODO...`) or repeated itself, which would
    make a configuration refuse it (1 server key in ~19,000, 1 client secret in ~11,500;
    tests start hundreds of sandboxes)."""
    while weakness(kind, key := draw()) is not None:
        pass
    return key


def new_server_key() -> str:
    """A fresh PGOS-style server key: SBOX-XXXX-XXXX-XXXX-XXXX."""
    alphabet = string.ascii_uppercase + string.digits

    def draw() -> str:
        return "SBOX-" + "-".join("".join(secrets.choice(alphabet) for _ in range(4))
                                  for _ in range(4))

    return _fresh(SecretKind.SERVER_KEY, draw)


@dataclass
class SandboxOptions:
    """What to simulate."""

    game_id: int = 9943
    mix: OrderMix = field(default_factory=OrderMix)
    host: str = "127.0.0.1"
    title_id: str = "5"
    title_region_id: str = "sbx_5_1_sandbox"
    shared_key: str = field(default_factory=lambda: _fresh(SecretKind.SHARED_KEY,
                                                           lambda: secrets.token_hex(16)))
    server_key: str = field(default_factory=new_server_key)
    s2s_client_id: str = "reconciler"
    s2s_secret: str = field(default_factory=lambda: _fresh(SecretKind.CLIENT_SECRET,
                                                           lambda: secrets.token_urlsafe(32)))
    app_secret: str = field(default_factory=lambda: _fresh(SecretKind.SHARED_KEY,
                                                           lambda: secrets.token_hex(16)))
    max_page_size: int = 100
    success_code: str | int = "200"
    names: Commands = field(default_factory=Commands)
    pgos_envelope: str = "sdk"  # "sdk" (what Tencent's SDK sends) or "spec" (Command/Params)
    ports: tuple[int, int, int] = (0, 0, 0)
    extra_games: dict[int, str] = field(default_factory=dict)  # more games: id -> shared key
    jogos_readings: Readings = field(default_factory=Readings)  # which reading of the spec
    game_server_prefix: str = ""  # e.g. "/studio": the game server answers /studio/grant


class Sandbox:
    """Jogos, PGOS and a game server running in this event loop."""

    def __init__(self, options: SandboxOptions | None = None) -> None:
        self.options = o = options or SandboxOptions()
        self.jogos = JogosSim({o.game_id: o.shared_key, **o.extra_games}, o.mix,
                              max_page_size=o.max_page_size, success_code=o.success_code,
                              readings=o.jogos_readings)
        self.pgos = PgosSim(title_id=o.title_id, title_region_id=o.title_region_id,
                            server_key=o.server_key, names=o.names,
                            envelope=o.pgos_envelope)
        self.game_server = GameServerSim(
            {o.s2s_client_id: s2s.ClientCredentials(
                o.s2s_client_id, hmac_secret=Secret(o.s2s_secret),
                basic_secret=Secret(o.s2s_secret),
            )},
            app_secret=o.app_secret, prefix=o.game_server_prefix,
        )
        self._runners: list[web.AppRunner] = []
        self.urls: dict[str, str] = {}

    async def start(self) -> Sandbox:
        """Bind and serve every simulator. Raises OSError when a port cannot be bound."""
        apps = {"jogos": self.jogos.app(), "pgos": self.pgos.app(),
                "game_server": self.game_server.app()}
        try:
            for (name, app), port in zip(apps.items(), self.options.ports, strict=True):
                runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                       shutdown_timeout=0.5)
                await runner.setup()
                self._runners.append(runner)
                site = web.TCPSite(runner, self.options.host, port)
                await site.start()
                sockets = runner.addresses
                bound_port = sockets[0][1]
                self.urls[name] = f"http://{self.options.host}:{bound_port}"
            self.urls["game_server"] += self.options.game_server_prefix  # SINK_URL, as is
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Stop every simulator that was started."""
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def env(self, catalog_path: Path | str) -> dict[str, str]:
        """The environment that points the reconciler at this sandbox."""
        o = self.options
        return {
            "JOGOS_BASE_URL": self.urls["jogos"],
            "JOGOS_GAME_ID": str(o.game_id),
            "JOGOS_SHARED_KEY": o.shared_key,
            "JOGOS_PUBLIC_KEY_URL": f"{self.urls['jogos']}/publicKey.json",
            "PGOS_CLI_URL": self.urls["pgos"],
            "PGOS_BACKEND_URL": self.urls["pgos"],
            "PGOS_TITLE_BACKEND_URL": self.urls["pgos"],
            "PGOS_ENVELOPE": o.pgos_envelope,
            "PGOS_TITLE_ID": o.title_id,
            "PGOS_TITLE_REGION_ID": o.title_region_id,
            "PGOS_SERVER_KEY": o.server_key,
            "RECONCILER_CATALOG": str(catalog_path),
        }

    def stats(self) -> dict[str, Any]:
        """Counts of every simulator."""
        return {"jogos": self.jogos.stats(), "pgos": self.pgos.stats(),
                "game_server": {"grants": len(self.game_server.grants),
                                "revokes": len(self.game_server.revokes),
                                "rejected": self.game_server.rejected}}
