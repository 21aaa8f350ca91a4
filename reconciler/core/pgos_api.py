"""How the reconciler speaks PGOS: command names, the request envelope, paths and errnos.

Rules: plain settings, no I/O. Defaults follow what Tencent's own Python SDK
(`pgos-cli-python-sdk-v1`, `pgos_backend_apis.MakeBusinessRequest`) sends, because the SDK is the
only PGOS client its makers wrote; the CLI spec's `Command`/`Params` form stays a setting.
Economy command names and errnos are our assumptions (PGOS's economy reference was not
available) and are configurable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Envelope(StrEnum):
    """The JSON body of a CLI request."""

    SDK = "sdk"  # {"command", "params", "version"} + header CLIVerificationType: SecretKey
    SPEC = "spec"  # {"Command", "Params"} as in the CLI HTTP API spec, section 2.5


class InventoryVia(StrEnum):
    """Which API reads a player's inventory."""

    CLI = "cli"
    BACKEND = "backend"


SDK_CLI_VERSION = "0.2.15"  # pgos_backend_apis.gCliVersion of SDK 0.2.16.168
SDK_BUNDLED_COMMANDS = frozenset({"import-title-data-json-content"})  # params under business_data
CLI_REGION_PATH = "/console/client/api"  # spec 2.1; the SDK's unused constants say .../cmd
CLI_TITLE_PATH = "/index/client/api"
BACKEND_INVENTORY_PATH = "/economy/get_player_inventory"  # our assumption
TITLE_BACKEND_URL = "https://server.pgosglobal.com"  # Backend spec 2.1.2


@dataclass(frozen=True)
class PgosApi:
    """Names of the economy commands, the wire form, and the errnos the engine recognises."""

    grant_items: str = "grant-items-to-player"
    revoke_instances: str = "batch-revoke-instances"
    inventory: str = "get-player-inventory"
    grant_currency: str = "grant-currency-to-player"
    subtract_currency: str = "subtract-player-currency"
    help: str = "help"
    transient_errnos: frozenset[int] = field(default_factory=lambda: frozenset({500}))
    insufficient_balance_errno: int = 1004
    instance_state_errno: int = 1005
    envelope: Envelope = Envelope.SDK
    cli_version: str = SDK_CLI_VERSION
    region_path: str = CLI_REGION_PATH
    title_path: str = CLI_TITLE_PATH
    inventory_via: InventoryVia = InventoryVia.CLI
    backend_inventory_path: str = BACKEND_INVENTORY_PATH

    def body(self, command: str, params: dict[str, object]) -> dict[str, object]:
        """The request body for `command` in the configured envelope."""
        if self.envelope is Envelope.SPEC:
            return {"Command": command, "Params": params}
        bundled = {"business_data": params} if command in SDK_BUNDLED_COMMANDS else params
        return {"command": command, "params": bundled, "version": self.cli_version}
