"""PGOS CLI HTTP API client, plus the Backend inventory query.

Rules: command names and parameter keys come from `PgosApi` (configuration), because PGOS's
economy reference was not available; a fresh ServerTicket is made for every request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from reconciler.auth import pgos as pgos_auth
from reconciler.clients.http import post_json
from reconciler.clients.retry import PermanentError, RequestStats, RetryPolicy, TransientError

CLI_REGION_PATH = "/console/client/api"
CLI_TITLE_PATH = "/index/client/api"


@dataclass(frozen=True)
class PgosApi:
    """Names of the economy commands and the errno values the engine must recognise."""

    grant_items: str = "grant-items-to-player"
    revoke_instances: str = "batch-revoke-instances"
    inventory: str = "get-player-inventory"
    grant_currency: str = "grant-currency-to-player"
    subtract_currency: str = "subtract-player-currency"
    help: str = "help"
    transient_errnos: frozenset[int] = field(default_factory=lambda: frozenset({500}))
    insufficient_balance_errno: int = 1004
    instance_state_errno: int = 1005


class PgosCommandError(PermanentError):
    """A PGOS command refused with a non-transient errno."""

    def __init__(self, command: str, errno: int, errmsg: str) -> None:
        super().__init__(str(errno), f"PGOS {command}: {errmsg}")
        self.command = command
        self.errno = errno


class PgosClient:
    """Speaks to one PGOS title region."""

    def __init__(self, session: aiohttp.ClientSession, *, cli_url: str, title_id: str,
                 title_region_id: str, server_key: pgos_auth.ServerKey, api: PgosApi,
                 retry: RetryPolicy, timeout_s: float, stats: RequestStats,
                 clock: Callable[[], float]) -> None:
        self.session = session
        self.cli_url = cli_url.rstrip("/")
        self.title_id = title_id
        self.title_region_id = title_region_id
        self._key = server_key
        self.api = api
        self.retry = retry
        self.timeout_s = timeout_s
        self.stats = stats
        self.clock = clock

    def __repr__(self) -> str:
        return f"PgosClient(cli_url={self.cli_url!r}, region={self.title_region_id!r})"

    async def _once(self, path: str, command: str, params: dict[str, Any]) -> dict[str, Any]:
        region = self.title_region_id if path == CLI_REGION_PATH else None
        headers = pgos_auth.cli_headers(self._key, title_id=self.title_id,
                                        title_region_id=region, time_s=int(self.clock()))
        body = json.dumps({"Command": command, "Params": params}).encode()
        name = f"pgos.{command}"
        answer = await post_json(self.session, self.cli_url + path, body, headers,
                                 timeout_s=self.timeout_s, stats=self.stats, name=name)
        if not isinstance(answer, dict) or "errno" not in answer:
            self.stats.failures[f"{name}:shape"] += 1
            raise TransientError(f"PGOS {command}: answer has no errno")
        errno = answer.get("errno")
        if errno == 0:
            data = answer.get("data")
            return data if isinstance(data, dict) else {}
        errmsg = str(answer.get("errmsg", ""))
        self.stats.failures[f"{name}:errno{errno}"] += 1
        if not isinstance(errno, int) or errno in self.api.transient_errnos:
            raise TransientError(f"PGOS {command}: errno {errno}")
        raise PgosCommandError(command, errno, errmsg)

    async def command(self, command: str, params: dict[str, Any], *,
                      title: bool = False) -> dict[str, Any]:
        """Run a CLI command and return its `data`.

        Raises PgosCommandError, or TransientError once retries ran out.
        """
        path = CLI_TITLE_PATH if title else CLI_REGION_PATH
        return await self.retry.run(lambda: self._once(path, command, params))

    async def grant_items(self, player_id: str, items: list[dict[str, Any]],
                          token: str) -> dict[str, Any]:
        """Grant items (idempotent by `token`); returns data with `Instances`."""
        return await self.command(self.api.grant_items, {
            "PlayerID": player_id, "Items": items, "IdempotencyToken": token})

    async def revoke_instances(self, player_id: str, instance_ids: list[str]) -> dict[str, Any]:
        """Revoke instances (not idempotent: read the inventory first)."""
        return await self.command(self.api.revoke_instances, {
            "PlayerID": player_id, "InstanceIDs": instance_ids})

    async def inventory(self, player_id: str) -> dict[str, Any]:
        """The player's instances (every status) and balances."""
        return await self.command(self.api.inventory, {"PlayerID": player_id})

    async def change_currency(self, player_id: str, code: str, amount: int, token: str, *,
                              subtract: bool = False,
                              allow_negative: bool = False) -> dict[str, Any]:
        """Grant or subtract currency (idempotent by `token`)."""
        params: dict[str, Any] = {"PlayerID": player_id, "CurrencyCode": code,
                                  "Amount": amount, "IdempotencyToken": token}
        if allow_negative:
            params["AllowNegative"] = True
        name = self.api.subtract_currency if subtract else self.api.grant_currency
        return await self.command(name, params)

    async def help(self) -> dict[str, Any]:
        """The server's command list (`help` with help_command pgos_cli)."""
        return await self.command(self.api.help, {"help_command": "pgos_cli"}, title=True)
