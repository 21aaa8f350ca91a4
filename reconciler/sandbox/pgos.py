"""The PGOS simulator: CLI HTTP API economy commands and Backend HTTP API paths.

Rules: built from the specs alone (`pgos_wire` reads requests; nothing here comes from the
reconciler's clients). Every request's credentials are checked; a CLI body is accepted only in
the configured envelope ("sdk": what Tencent's SDK sends, the default; "spec": the CLI spec's
`Command`/`Params`); integers must be JSON integers. Answers are `{"errno", "errmsg", "data"}`.
Grants and currency changes honour idempotency tokens (a seen token replays its first answer,
with `Replayed: true`); revocation is not idempotent. Economy command names and errnos are the
simulator's own assumptions (PGOS's economy reference is not public), configurable by `Commands`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from reconciler.sandbox import pgos_wire as wire
from reconciler.sandbox.faults import FaultInjector, Faults
from reconciler.sandbox.pgos_wire import E_AUTH, E_COMMAND, E_PARAM, WireError

CLI_REGION_PATH = "/console/client/api"  # CLI spec 2.1
CLI_TITLE_PATH = "/index/client/api"  # CLI spec 2.1
BACKEND_INVENTORY_PATH = "/economy/get_player_inventory"  # ASSUMPTION: not in the spec
TITLE_FILE_INFO_PATH = "/title_svr/get_title_file_info"  # Backend spec 2.5.2's example
MAX_TOKEN_BYTES = 128

# errno values: ASSUMPTIONS, PGOS's economy error numbers are not public (see README).
OK = 0
E_BALANCE = 1004
E_INSTANCE = 1005
E_TOKEN_REUSED = 1006
E_SYSTEM = 500
__all__ = ["E_AUTH", "E_COMMAND", "E_PARAM", "Commands", "PgosSim"]


@dataclass(frozen=True)
class Commands:
    """The economy command names the simulator answers to (its own assumptions)."""

    grant_items: str = "grant-items-to-player"
    revoke_instances: str = "batch-revoke-instances"
    inventory: str = "get-player-inventory"
    grant_currency: str = "grant-currency-to-player"
    subtract_currency: str = "subtract-player-currency"
    help: str = "help"


class CommandError(Exception):
    """A command failed with `errno`."""

    def __init__(self, errno: int, message: str) -> None:
        super().__init__(message)
        self.errno = errno


@dataclass
class Instance:
    """One item instance in a player's inventory."""

    InstanceID: str
    ItemID: str
    Amount: int
    Status: str
    IdempotencyToken: str
    AcquiredAt: int


@dataclass
class Player:
    """A player's inventory and balances."""

    instances: dict[str, Instance] = field(default_factory=dict)
    currency: dict[str, int] = field(default_factory=dict)


@dataclass
class LogEntry:
    """One economy command as the simulator applied (or replayed) it."""

    command: str
    player_id: str
    token: str | None
    params: dict[str, Any]
    replayed: bool


def _require(params: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = params.get(name)
    if value is None or value == "" or not isinstance(value, kind) or isinstance(value, bool):
        raise CommandError(E_PARAM, f"parameter {name} is missing or invalid")
    return value


class PgosSim:
    """State and HTTP app of the simulated PGOS title region."""

    def __init__(
        self,
        *,
        title_id: str,
        title_region_id: str,
        server_key: str,
        names: Commands | None = None,
        envelope: str = "sdk",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if envelope not in ("sdk", "spec"):
            raise ValueError("envelope must be 'sdk' or 'spec'")
        self.title = wire.Title(title_id, title_region_id, server_key)
        self.title_id = title_id
        self.title_region_id = title_region_id
        self.envelope = envelope
        self.names = names or Commands()
        self.title_files: dict[str, dict[str, Any]] = {}
        self.clock = clock
        self.players: dict[str, Player] = {}
        self.tokens: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self.log: list[LogEntry] = []
        self.rejected: dict[str, int] = {}
        self._next_instance = 1
        self.injector = FaultInjector(lambda: {"errno": E_SYSTEM, "errmsg": "system error",
                                               "data": {}})

    # -- economy ------------------------------------------------------------------------------
    def player(self, player_id: str) -> Player:
        """The player's state, created empty on first use (PGOS players exist once logged in)."""
        return self.players.setdefault(player_id, Player())

    def _idempotent(
        self, command: str, params: dict[str, Any], apply: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        token = _require(params, "IdempotencyToken", str)
        if len(token.encode()) > MAX_TOKEN_BYTES:
            raise CommandError(E_PARAM, f"IdempotencyToken is longer than {MAX_TOKEN_BYTES} bytes")
        digest = hashlib.sha256(
            json.dumps({k: v for k, v in params.items() if k != "IdempotencyToken"},
                       sort_keys=True).encode()
        ).hexdigest()
        seen = self.tokens.get(token)
        player_id = str(params.get("PlayerID"))
        if seen is not None:
            if seen[0] != command or seen[1] != digest:
                raise CommandError(E_TOKEN_REUSED, "IdempotencyToken reused with other parameters")
            self.log.append(LogEntry(command, player_id, token, params, True))
            return {**seen[2], "Replayed": True}
        data = apply()
        self.tokens[token] = (command, digest, data)
        self.log.append(LogEntry(command, player_id, token, params, False))
        return {**data, "Replayed": False}

    def grant_items(self, params: dict[str, Any]) -> dict[str, Any]:
        """Grant items: one instance per entry of `Items`."""
        player_id = _require(params, "PlayerID", str)
        items = _require(params, "Items", list)
        for item in items:
            if not isinstance(item, dict):
                raise CommandError(E_PARAM, "Items entries must be objects")
            _require(item, "ItemID", str)
            if _require(item, "Amount", int) <= 0:
                raise CommandError(E_PARAM, "Amount must be positive")

        def apply() -> dict[str, Any]:
            player = self.player(player_id)
            created = []
            for item in items:
                instance = Instance(
                    f"inst-{self._next_instance:08d}", item["ItemID"], item["Amount"],
                    "Available", params["IdempotencyToken"], int(self.clock()),
                )
                self._next_instance += 1
                player.instances[instance.InstanceID] = instance
                created.append(asdict(instance))
            return {"Instances": created}

        return self._idempotent(self.names.grant_items, params, apply)

    def revoke_instances(self, params: dict[str, Any]) -> dict[str, Any]:
        """Revoke instances, all or none; an instance not Available is an error."""
        player = self.player(_require(params, "PlayerID", str))
        ids = _require(params, "InstanceIDs", list)
        if not ids:
            raise CommandError(E_PARAM, "InstanceIDs is empty")
        for instance_id in ids:
            instance = player.instances.get(str(instance_id))
            if instance is None:
                raise CommandError(E_INSTANCE, f"instance {instance_id} not found")
            if instance.Status != "Available":
                raise CommandError(E_INSTANCE, f"instance {instance_id} is {instance.Status}")
        for instance_id in ids:
            player.instances[str(instance_id)].Status = "Revoked"
        self.log.append(LogEntry(self.names.revoke_instances, params["PlayerID"], None, params,
                                 False))
        return {"Revoked": list(ids)}

    def inventory(self, player_id: str) -> dict[str, Any]:
        """Every instance (any status) and every balance of a player."""
        player = self.player(player_id)
        return {
            "PlayerID": player_id,
            "Instances": [asdict(i) for i in player.instances.values()],
            "Currencies": dict(player.currency),
        }

    def change_currency(self, params: dict[str, Any], sign: int) -> dict[str, Any]:
        """Grant (+1) or subtract (-1) currency; subtraction fails on insufficient balance
        unless `AllowNegative` is true."""
        player_id = _require(params, "PlayerID", str)
        code = _require(params, "CurrencyCode", str)
        amount = _require(params, "Amount", int)
        if amount <= 0:
            raise CommandError(E_PARAM, "Amount must be positive")
        command = self.names.grant_currency if sign > 0 else self.names.subtract_currency

        def apply() -> dict[str, Any]:
            player = self.player(player_id)
            balance = player.currency.get(code, 0) + sign * amount
            if balance < 0 and not params.get("AllowNegative"):
                raise CommandError(E_BALANCE, f"insufficient {code} balance")
            player.currency[code] = balance
            return {"CurrencyCode": code, "Balance": balance}

        return self._idempotent(command, params, apply)

    def consume(self, player_id: str, instance_id: str) -> None:
        """The player uses an item (test control). Raises KeyError for an unknown instance."""
        self.players[player_id].instances[instance_id].Status = "Consumed"

    def spend(self, player_id: str, code: str, amount: int) -> None:
        """The player spends currency in game (test control)."""
        player = self.player(player_id)
        player.currency[code] = player.currency.get(code, 0) - amount

    def run(self, command: str, params: dict[str, Any]) -> dict[str, Any]:
        """Execute one CLI command. Raises CommandError."""
        n = self.names
        if command == n.grant_items:
            return self.grant_items(params)
        if command == n.revoke_instances:
            return self.revoke_instances(params)
        if command == n.inventory:
            return self.inventory(_require(params, "PlayerID", str))
        if command == n.grant_currency:
            return self.change_currency(params, +1)
        if command == n.subtract_currency:
            return self.change_currency(params, -1)
        if command == n.help:
            if params.get("help_command") not in (None, "pgos_cli"):
                raise CommandError(E_PARAM, "help_command must be pgos_cli")
            return {"Commands": sorted([n.grant_items, n.revoke_instances, n.inventory,
                                        n.grant_currency, n.subtract_currency, n.help])}
        raise CommandError(E_COMMAND, f"unknown command {command!r}")

    # -- HTTP ---------------------------------------------------------------------------------
    def _error(self, errno: int, message: str, reason: str) -> web.Response:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        return web.json_response({"errno": errno, "errmsg": message, "data": {}})

    async def _cli(self, request: web.Request, *, region: bool) -> web.Response:
        sdk = self.envelope == "sdk"
        try:
            wire.check_cli_auth(self.title, request.headers, region=region, sdk=sdk,
                                now_s=int(self.clock()))
        except WireError as exc:
            return self._error(exc.errno, str(exc), "auth")
        try:
            command, params = wire.read_envelope(await request.read(), sdk=sdk)
        except WireError as exc:
            return self._error(exc.errno, str(exc), "param")
        if not region and command != self.names.help:
            return self._error(E_COMMAND, f"{command!r} is not a title command", "command")
        try:
            data = self.run(command, params)
        except CommandError as exc:
            reason = {E_PARAM: "param", E_COMMAND: "command",
                      E_TOKEN_REUSED: "token_reused"}.get(exc.errno, "command_failed")
            return self._error(exc.errno, str(exc), reason)
        return web.json_response({"errno": OK, "errmsg": "", "data": data})

    async def cli_region(self, request: web.Request) -> web.Response:
        """POST /console/client/api: title region commands."""
        return await self._cli(request, region=True)

    async def cli_title(self, request: web.Request) -> web.Response:
        """POST /index/client/api: title commands (only help here)."""
        return await self._cli(request, region=False)

    async def _backend_body(self, request: web.Request, *, title_wide: bool) -> dict[str, Any]:
        """Check a Backend request's auth and read its body. Raises WireError."""
        now_s = int(self.clock())
        if title_wide:
            wire.check_title_wide_auth(self.title, request.headers, now_s=now_s)
        else:
            wire.check_backend_auth(self.title, request.headers, now_s=now_s)
        return wire.read_object(await request.read())

    async def backend_inventory(self, request: web.Request) -> web.Response:
        """POST /economy/get_player_inventory (title-region ServerTicket, `player_id`)."""
        try:
            body = await self._backend_body(request, title_wide=False)
        except WireError as exc:
            return self._error(exc.errno, str(exc), "auth" if exc.errno == E_AUTH else "param")
        player_id = body.get("player_id")
        if not isinstance(player_id, str) or not player_id:
            return self._error(E_PARAM, "player_id must be a non-empty string", "param")
        return web.json_response({"errno": OK, "errmsg": "", "data": self.inventory(player_id)})

    async def title_file_info(self, request: web.Request) -> web.Response:
        """POST /title_svr/get_title_file_info (title-wide Signature, `paths`): what the
        simulator knows of each path (files are set by tests in `title_files`)."""
        try:
            body = await self._backend_body(request, title_wide=True)
        except WireError as exc:
            return self._error(exc.errno, str(exc), "auth" if exc.errno == E_AUTH else "param")
        paths = body.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            return self._error(E_PARAM, "paths must be a list of strings", "param")
        files = [{"path": p, "exists": p in self.title_files, **self.title_files.get(p, {})}
                 for p in paths]
        return web.json_response({"errno": OK, "errmsg": "", "data": {"files": files}})

    async def inspect(self, request: web.Request) -> web.Response:
        """GET /_sandbox/pgos: counts."""
        return web.json_response(self.stats())

    async def set_faults(self, request: web.Request) -> web.Response:
        """POST /_sandbox/pgos/faults with the fields of Faults."""
        try:
            self.injector.configure(Faults(**(await request.json())))
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    def stats(self) -> dict[str, Any]:
        """Players, instances by status, commands applied and replayed, rejections."""
        statuses: dict[str, int] = {}
        for player in self.players.values():
            for instance in player.instances.values():
                statuses[instance.Status] = statuses.get(instance.Status, 0) + 1
        applied: dict[str, int] = {}
        replayed = 0
        for entry in self.log:
            applied[entry.command] = applied.get(entry.command, 0) + 1
            replayed += entry.replayed
        return {
            "players": len(self.players), "instances": statuses, "commands": applied,
            "replayed": replayed, "rejected": dict(self.rejected),
            "faults": self.injector.counters.__dict__,
        }

    def app(self) -> web.Application:
        """The aiohttp application serving both the CLI and the Backend API."""
        app = web.Application(middlewares=[self.injector.middleware])
        app.router.add_post(CLI_REGION_PATH, self.cli_region)
        app.router.add_post(CLI_TITLE_PATH, self.cli_title)
        app.router.add_post(BACKEND_INVENTORY_PATH, self.backend_inventory)
        app.router.add_post(TITLE_FILE_INFO_PATH, self.title_file_info)
        app.router.add_get("/_sandbox/pgos", self.inspect)
        app.router.add_post("/_sandbox/pgos/faults", self.set_faults)
        return app
