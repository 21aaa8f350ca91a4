"""PGOS clients: the CLI HTTP API (economy commands) and the Backend HTTP API (both auth schemes).

Rules: the CLI request is what Tencent's SDK sends unless `PgosApi.envelope` says "spec";
every attempt carries a ServerTicket (or title-wide signature) of its own second; answers are
`{"errno", "errmsg", "data"}` on both APIs (the Backend spec shows no answer; we assume the
CLI's form). Retries happen here and only here, for transient failures. A CLI ticket is the
same bytes for every request of one second (AES-CBC with the spec's constant IV over the same
claims), so its headers are made once per second and reused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from reconciler.auth import pgos as pgos_auth
from reconciler.clients.http import post_json
from reconciler.clients.retry import PermanentError, RequestStats, RetryPolicy, TransientError
from reconciler.config import PgosConfig
from reconciler.core.pgos_api import Envelope, InventoryVia, PgosApi

__all__ = ["PgosApi", "PgosClient", "PgosCommandError", "PgosEndpoint"]


class PgosCommandError(PermanentError):
    """A PGOS command refused with a non-transient errno."""

    def __init__(self, command: str, errno: int, errmsg: str) -> None:
        super().__init__(str(errno), f"PGOS {command}: {errmsg}")
        self.command = command
        self.errno = errno


@dataclass(frozen=True)
class PgosEndpoint:
    """Where one title region lives and the key that opens it."""

    cli_url: str
    backend_url: str
    title_backend_url: str
    title_id: str
    title_region_id: str
    server_key: pgos_auth.ServerKey

    @classmethod
    def of(cls, config: PgosConfig) -> PgosEndpoint:
        """The endpoint a configured title region describes (the key already validated)."""
        return cls(config.cli_url, config.backend_url, config.title_backend_url,
                   config.title_id, config.title_region_id, config.key)


class PgosClient:
    """Speaks to one PGOS title region, through the CLI and the Backend HTTP APIs."""

    def __init__(self, session: aiohttp.ClientSession, endpoint: PgosEndpoint, *,
                 api: PgosApi, retry: RetryPolicy, timeout_s: float, stats: RequestStats,
                 clock: Callable[[], float]) -> None:
        self.session = session
        self.endpoint = endpoint
        self.api = api
        self.retry = retry
        self.timeout_s = timeout_s
        self.stats = stats
        self.clock = clock
        self._cli_made: dict[bool, tuple[int, dict[str, str]]] = {}  # by `title`: (second, ...)

    @property
    def title_region_id(self) -> str:
        """The title region this client speaks to."""
        return self.endpoint.title_region_id

    def __repr__(self) -> str:
        e = self.endpoint
        return f"PgosClient(cli_url={e.cli_url!r}, region={e.title_region_id!r})"

    def _cli_headers(self, *, title: bool) -> dict[str, str]:
        e, sdk = self.endpoint, self.api.envelope is Envelope.SDK
        # The SDK always names the region; the spec lets a title command leave it empty.
        region = e.title_region_id if sdk or not title else None
        now_s = int(self.clock())
        made = self._cli_made.get(title)
        if made is None or made[0] != now_s:
            made = (now_s, pgos_auth.cli_headers(
                e.server_key, title_id=e.title_id, title_region_id=region, time_s=now_s,
                verification_type="SecretKey" if sdk else None))
            self._cli_made[title] = made
        return made[1]

    def _answer(self, name: str, what: str, answer: Any) -> dict[str, Any]:
        """`data` of a successful answer. Raises TransientError or PgosCommandError."""
        if not isinstance(answer, dict) or "errno" not in answer:
            self.stats.failures[f"{name}:shape"] += 1
            raise TransientError(f"PGOS {what}: answer has no errno")
        errno = answer.get("errno")
        if errno == 0 and not isinstance(errno, bool):
            data = answer.get("data")
            return data if isinstance(data, dict) else {}
        errmsg = str(answer.get("errmsg", ""))[:300]
        self.stats.failures[f"{name}:errno{str(errno)[:12]}"] += 1
        if not isinstance(errno, int) or isinstance(errno, bool) \
                or errno in self.api.transient_errnos:
            raise TransientError(f"PGOS {what}: errno {str(errno)[:12]}")
        raise PgosCommandError(what, errno, errmsg)

    async def _cli_once(self, command: str, params: dict[str, Any], *,
                        title: bool) -> dict[str, Any]:
        path = self.api.title_path if title else self.api.region_path
        body = json.dumps(self.api.body(command, params)).encode()
        name = f"pgos.{command}"
        answer = await post_json(self.session, self.endpoint.cli_url.rstrip("/") + path, body,
                                 self._cli_headers(title=title), timeout_s=self.timeout_s,
                                 stats=self.stats, name=name)
        return self._answer(name, command, answer)

    async def _backend_once(self, path: str, body: dict[str, Any], *,
                            title_wide: bool) -> dict[str, Any]:
        e = self.endpoint
        if title_wide:
            base = e.title_backend_url
            headers = pgos_auth.title_headers(e.server_key, title_id=e.title_id,
                                              timestamp_s=int(self.clock()))
        else:
            base = e.backend_url
            headers = pgos_auth.backend_headers(e.server_key, title_id=e.title_id,
                                                title_region_id=e.title_region_id,
                                                time_s=int(self.clock()))
        name = f"pgos.backend{path}"
        answer = await post_json(self.session, base.rstrip("/") + path,
                                 json.dumps(body).encode(), headers, timeout_s=self.timeout_s,
                                 stats=self.stats, name=name)
        return self._answer(name, path, answer)

    async def command(self, command: str, params: dict[str, Any], *,
                      title: bool = False, retry: RetryPolicy | None = None) -> dict[str, Any]:
        """Run a CLI command (a title command with `title`) and return its `data`.

        Raises PgosCommandError, or TransientError once retries ran out.
        """
        policy = retry or self.retry
        return await policy.run(lambda: self._cli_once(command, params, title=title),
                                stats=self.stats, name=f"pgos.{command}")

    async def backend(self, path: str, body: dict[str, Any], *, title_wide: bool = False,
                      retry: RetryPolicy | None = None) -> dict[str, Any]:
        """POST `body` to a Backend HTTP API path and return its `data`: title-region-wide
        (ServerTicket without title_id) or, with `title_wide`, signed with the title signature.

        Raises PgosCommandError, or TransientError once retries ran out.
        """
        policy = retry or self.retry
        return await policy.run(lambda: self._backend_once(path, body, title_wide=title_wide),
                                stats=self.stats, name=f"pgos.backend{path}")

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
        """The player's instances (every status) and balances, through the CLI or, where
        configured, the Backend HTTP API."""
        if self.api.inventory_via is InventoryVia.BACKEND:
            return await self.backend(self.api.backend_inventory_path, {"player_id": player_id})
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
        """The server's command list (`help` with help_command pgos_cli, a title command)."""
        return await self.command(self.api.help, {"help_command": "pgos_cli"}, title=True)
