"""Tencent's own PGOS SDK (`pgos-cli-python-sdk-v1`) as the contract of our PGOS wire format.

Both directions: the SDK's own request builder, aimed at our sandbox, is accepted; our client's
requests are accepted by a front that reads them as the SDK writes them (`sdk_reader`), and a
whole pass settles through it. The spec's envelope, tried against that front, is refused: the
test can fail.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pgos_cli import pgos_backend_apis

from reconciler.core.catalog import parse_catalog
from reconciler.core.pgos_api import SDK_CLI_VERSION
from reconciler.engine.passes import open_engine, run_pass
from reconciler.sandbox import pgos as sim
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.testing.books import check_books, delivered_at_start
from tests.contract.sdk_reader import SdkReadingPgos, configure_sdk
from tests.engine.conftest import ConfigFactory, catalog_path, make_config

__all__ = ["catalog_path", "make_config"]  # fixtures shared with the engine's tests


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=120, seed=5), title_region_id="sbx_5_1_sandbox")


@pytest.fixture
async def sdk_front(sandbox: Sandbox) -> AsyncIterator[SdkReadingPgos]:
    o = sandbox.options
    front = SdkReadingPgos(sandbox.pgos, title_region_id=o.title_region_id,
                           server_key=o.server_key)
    await front.start()
    yield front
    await front.stop()


async def sdk(url: str, command: str, params: dict[str, Any]) -> Any:
    """One request built and sent by the SDK's own MakeBusinessRequest."""
    return await asyncio.to_thread(pgos_backend_apis.MakeBusinessRequest, url, command, params)


async def test_the_sdks_own_requests_are_accepted_by_the_sandbox(sandbox: Sandbox) -> None:
    o = sandbox.options
    configure_sdk(o.title_region_id, o.server_key)
    region = sandbox.urls["pgos"] + sim.CLI_REGION_PATH
    granted = await sdk(region, "grant-items-to-player", {
        "PlayerID": "p1", "Items": [{"ItemID": "gem_pack_100", "Amount": 1}],
        "IdempotencyToken": "grant:1:sdk"})
    assert granted["errno"] == 0, granted
    inventory = await sdk(region, "get-player-inventory", {"PlayerID": "p1"})
    assert [i["ItemID"] for i in inventory["data"]["Instances"]] == ["gem_pack_100"]
    helped = await sdk(sandbox.urls["pgos"] + sim.CLI_TITLE_PATH, "help",
                       {"help_command": "pgos_cli"})
    assert "batch-revoke-instances" in helped["data"]["Commands"]
    configure_sdk(o.title_region_id, "SBOX-AAAA-BBBB-CCCC-DDDD")  # a wrong key is refused
    refused = await sdk(region, "get-player-inventory", {"PlayerID": "p1"})
    assert refused["errno"] == sim.E_AUTH
    assert sandbox.pgos.rejected == {"auth": 1}


async def test_the_front_learned_what_the_sdk_sends(sdk_front: SdkReadingPgos) -> None:
    headers = sdk_front.learned.headers
    assert headers["CLIVerificationType"] == "SecretKey"
    assert {"SecretID", "TitleID", "TitleRegionID", "ServerTicket"} <= set(headers)
    assert sorted(sdk_front.learned.body) == ["command", "params", "version"]
    assert sdk_front.learned.body["version"] == SDK_CLI_VERSION == pgos_backend_apis.gCliVersion


async def test_a_pass_settles_through_a_server_that_reads_like_the_sdk(
        sandbox: Sandbox, sdk_front: SdkReadingPgos, make_config: ConfigFactory) -> None:
    elsewhere = delivered_at_start(sandbox)
    config = make_config(PGOS_CLI_URL=sdk_front.url)
    async with open_engine(config) as engine:
        report = await run_pass(engine)
        helped = await engine.games[0].fulfilment.client.help()  # type: ignore[attr-defined]
    assert sdk_front.refusals == []
    assert report.settled, report.pending
    assert sdk_front.accepted > 50
    assert "grant-items-to-player" in helped["Commands"]
    catalog = parse_catalog(tomllib.loads(SANDBOX_CATALOG))
    assert not check_books(sandbox, catalog, elsewhere).lines


async def test_the_specs_envelope_is_refused_by_that_server(
        sandbox: Sandbox, sdk_front: SdkReadingPgos, make_config: ConfigFactory) -> None:
    config = make_config(PGOS_CLI_URL=sdk_front.url, PGOS_ENVELOPE="spec",
                         RECONCILER_MAX_ATTEMPTS="1")
    async with open_engine(config) as engine:
        report = await run_pass(engine)
    assert not report.settled
    assert sdk_front.accepted == 0
    assert any("got keys ['Command', 'Params']" in r or "missing header" in r
               for r in sdk_front.refusals)
