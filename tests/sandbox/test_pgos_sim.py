"""Conformance of the PGOS simulator: tickets, envelopes, economy commands, Backend paths."""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp
import pytest
from Crypto.Cipher import AES
from Crypto.Util.Padding import pad

from reconciler.auth import pgos
from reconciler.sandbox import pgos as sim
from reconciler.sandbox.runner import Sandbox, SandboxOptions


def cli_headers(sandbox: Sandbox, *, time_s: int | None = None, region: str | None = None,
                title_id: str | None = None, key: str | None = None) -> dict[str, str]:
    o = sandbox.options
    return pgos.cli_headers(
        pgos.split_server_key(key or o.server_key), title_id=title_id or o.title_id,
        title_region_id=region or o.title_region_id,
        time_s=time_s if time_s is not None else int(sandbox.pgos.clock()),
    )


def raw_ticket(server_key: str, claims: dict[str, Any]) -> str:
    """A ticket over arbitrary JSON, straight from pycryptodome and the spec's key and IV."""
    aes_key = server_key.split("-", 1)[1].replace("-", "").encode()
    cipher = AES.new(aes_key, AES.MODE_CBC, b"$3,.'/&^rgnjkl!#")
    return base64.b64encode(cipher.encrypt(pad(json.dumps(claims).encode(), 16))).decode()


async def call(http: aiohttp.ClientSession, sandbox: Sandbox, command: str,
               params: dict[str, Any], *, path: str = sim.CLI_REGION_PATH,
               headers: dict[str, str] | None = None, spec: bool = False) -> Any:
    body = {"Command": command, "Params": params} if spec else {
        "command": command, "params": params, "version": "0.2.15"}
    async with http.post(sandbox.urls["pgos"] + path, json=body,
                         headers=headers or cli_headers(sandbox)) as response:
        assert response.status == 200
        return await response.json()


async def grant(http: aiohttp.ClientSession, sandbox: Sandbox, token: str,
                player: str = "p1") -> Any:
    return await call(http, sandbox, "grant-items-to-player", {
        "PlayerID": player, "Items": [{"ItemID": "gem_pack_100", "Amount": 1}],
        "IdempotencyToken": token})


async def test_grant_is_idempotent_by_token(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    first = await grant(http, sandbox, "grant:9943:A")
    assert first["errno"] == 0 and first["errmsg"] == ""
    assert first["data"]["Replayed"] is False
    (instance,) = first["data"]["Instances"]
    again = await grant(http, sandbox, "grant:9943:A")
    assert again["data"]["Replayed"] is True
    assert again["data"]["Instances"] == [instance]
    inventory = await call(http, sandbox, "get-player-inventory", {"PlayerID": "p1"})
    assert [i["InstanceID"] for i in inventory["data"]["Instances"]] == [instance["InstanceID"]]
    assert inventory["data"]["Instances"][0]["IdempotencyToken"] == "grant:9943:A"
    reused = await call(http, sandbox, "grant-items-to-player", {
        "PlayerID": "p1", "Items": [{"ItemID": "other", "Amount": 1}],
        "IdempotencyToken": "grant:9943:A"})
    assert reused["errno"] == sim.E_TOKEN_REUSED
    too_long = await grant(http, sandbox, "x" * 129)
    assert too_long["errno"] == sim.E_PARAM


async def test_revoke_is_not_idempotent(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    instance = (await grant(http, sandbox, "t1"))["data"]["Instances"][0]["InstanceID"]
    params = {"PlayerID": "p1", "InstanceIDs": [instance]}
    assert (await call(http, sandbox, "batch-revoke-instances", params))["errno"] == 0
    again = await call(http, sandbox, "batch-revoke-instances", params)
    assert again["errno"] == sim.E_INSTANCE and "Revoked" in again["errmsg"]
    inventory = sandbox.pgos.inventory("p1")
    assert inventory["Instances"][0]["Status"] == "Revoked"


async def test_revoke_meets_consumed_and_is_all_or_nothing(sandbox: Sandbox,
                                                           http: aiohttp.ClientSession) -> None:
    a = (await grant(http, sandbox, "t1"))["data"]["Instances"][0]["InstanceID"]
    b = (await grant(http, sandbox, "t2"))["data"]["Instances"][0]["InstanceID"]
    sandbox.pgos.consume("p1", b)
    answer = await call(http, sandbox, "batch-revoke-instances",
                        {"PlayerID": "p1", "InstanceIDs": [a, b]})
    assert answer["errno"] == sim.E_INSTANCE and "Consumed" in answer["errmsg"]
    assert sandbox.pgos.players["p1"].instances[a].Status == "Available"


async def test_currency(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    def params(token: str, amount: int, **extra: Any) -> dict[str, Any]:
        return {"PlayerID": "p2", "CurrencyCode": "GEM", "Amount": amount,
                "IdempotencyToken": token, **extra}

    granted = await call(http, sandbox, "grant-currency-to-player", params("c1", 500))
    assert granted["data"] == {"CurrencyCode": "GEM", "Balance": 500, "Replayed": False}
    assert (await call(http, sandbox, "grant-currency-to-player", params("c1", 500)))["data"][
        "Replayed"] is True
    sandbox.pgos.spend("p2", "GEM", 400)
    short = await call(http, sandbox, "subtract-player-currency", params("r1", 500))
    assert short["errno"] == sim.E_BALANCE
    negative = await call(http, sandbox, "subtract-player-currency",
                          params("r1", 500, AllowNegative=True))
    assert negative["data"]["Balance"] == -400
    assert sandbox.pgos.players["p2"].currency["GEM"] == -400


async def test_title_path_may_omit_the_region(sandbox: Sandbox,
                                               http: aiohttp.ClientSession) -> None:
    title_headers = cli_headers(sandbox)
    del title_headers["TitleRegionID"]
    answer = await call(http, sandbox, "help", {"help_command": "pgos_cli"},
                        path=sim.CLI_TITLE_PATH, headers=title_headers)
    assert answer["errno"] == 0
    assert "grant-items-to-player" in answer["data"]["Commands"]
    answer = await call(http, sandbox, "get-player-inventory", {"PlayerID": "p"},
                        path=sim.CLI_TITLE_PATH, headers=title_headers)
    assert answer["errno"] == sim.E_COMMAND
    answer = await call(http, sandbox, "get-player-inventory", {"PlayerID": "p"},
                        headers=title_headers)
    assert answer["errno"] == sim.E_AUTH and "TitleRegionID" in answer["errmsg"]


async def test_only_the_configured_envelope(sandbox: Sandbox,
                                            http: aiohttp.ClientSession) -> None:
    """The default (SDK) simulator refuses the spec's Command/Params, and the reverse."""
    refused = await call(http, sandbox, "get-player-inventory", {"PlayerID": "p"}, spec=True)
    assert refused["errno"] == sim.E_PARAM
    assert "got keys ['Command', 'Params']" in refused["errmsg"]
    no_type = cli_headers(sandbox)
    del no_type["CLIVerificationType"]
    answer = await call(http, sandbox, "get-player-inventory", {"PlayerID": "p"}, headers=no_type)
    assert answer["errno"] == sim.E_AUTH
    async with Sandbox(SandboxOptions(pgos_envelope="spec")) as spec_box:
        ok = await call(http, spec_box, "get-player-inventory", {"PlayerID": "p"}, spec=True,
                        headers=no_type | {"ServerTicket": cli_headers(spec_box)["ServerTicket"],
                                           "SecretID": cli_headers(spec_box)["SecretID"]})
        assert ok["errno"] == 0
        sdk_form = await call(http, spec_box, "get-player-inventory", {"PlayerID": "p"},
                              headers=cli_headers(spec_box))
        assert sdk_form["errno"] == sim.E_PARAM


async def test_integers_are_integers(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    as_text = await call(http, sandbox, "grant-items-to-player", {
        "PlayerID": "p1", "Items": [{"ItemID": "gem_pack_100", "Amount": "1"}],
        "IdempotencyToken": "t-text"})
    assert as_text["errno"] == sim.E_PARAM
    o = sandbox.options
    now = int(sandbox.pgos.clock())
    claims = {"title_id": o.title_id, "title_region_id": o.title_region_id,
              "secret_id": o.server_key.split("-")[0], "time": str(now)}
    headers = cli_headers(sandbox) | {"ServerTicket": raw_ticket(o.server_key, claims)}
    answer = await call(http, sandbox, "get-player-inventory", {"PlayerID": "p"}, headers=headers)
    assert answer["errno"] == sim.E_AUTH and "integer" in answer["errmsg"]
    claims["time"] = now
    headers["ServerTicket"] = raw_ticket(o.server_key, claims)
    answer = await call(http, sandbox, "get-player-inventory", {"PlayerID": "p"}, headers=headers)
    assert answer["errno"] == 0


async def test_cli_ticket_must_carry_title_id(sandbox: Sandbox,
                                              http: aiohttp.ClientSession) -> None:
    o = sandbox.options
    claims = {"title_region_id": o.title_region_id, "secret_id": o.server_key.split("-")[0],
              "time": int(sandbox.pgos.clock())}
    headers = cli_headers(sandbox) | {"ServerTicket": raw_ticket(o.server_key, claims)}
    answer = await call(http, sandbox, "get-player-inventory", {"PlayerID": "p"}, headers=headers)
    assert answer["errno"] == sim.E_AUTH and "title_id" in answer["errmsg"]


@pytest.mark.parametrize(
    "change",
    [
        {"time_s": 0},
        {"region": "sbx_5_2_other"},
        {"title_id": "6"},
        {"key": "SBOX-AAAA-BBBB-CCCC-DDDD"},
        {"key": "XXXX-AAAA-BBBB-CCCC-DDDD"},
    ],
)
async def test_ticket_refusals(sandbox: Sandbox, http: aiohttp.ClientSession,
                               change: dict[str, Any]) -> None:
    answer = await call(http, sandbox, "help", {}, headers=cli_headers(sandbox, **change))
    assert answer["errno"] == sim.E_AUTH
    assert sandbox.pgos.rejected["auth"] == 1


async def test_stale_ticket_just_past_two_hours(sandbox: Sandbox,
                                                http: aiohttp.ClientSession) -> None:
    now = int(sandbox.pgos.clock())
    ok = await call(http, sandbox, "help", {}, headers=cli_headers(sandbox, time_s=now - 7100))
    assert ok["errno"] == 0
    stale = await call(http, sandbox, "help", {}, headers=cli_headers(sandbox, time_s=now - 7300))
    assert stale["errno"] == sim.E_AUTH and "expired" in stale["errmsg"]


async def test_missing_parameter_unknown_command_bad_body(sandbox: Sandbox,
                                                          http: aiohttp.ClientSession) -> None:
    assert (await call(http, sandbox, "grant-items-to-player", {"PlayerID": "p"}))[
        "errno"] == sim.E_PARAM
    assert (await call(http, sandbox, "make-me-rich", {}))["errno"] == sim.E_COMMAND
    async with http.post(sandbox.urls["pgos"] + sim.CLI_REGION_PATH, data=b"[1,",
                         headers=cli_headers(sandbox)) as response:
        assert (await response.json())["errno"] == sim.E_PARAM


async def test_backend_inventory_uses_region_ticket(sandbox: Sandbox,
                                                    http: aiohttp.ClientSession) -> None:
    await grant(http, sandbox, "t9", player="p9")
    o = sandbox.options
    headers = pgos.backend_headers(pgos.split_server_key(o.server_key), title_id=o.title_id,
                                   title_region_id=o.title_region_id,
                                   time_s=int(sandbox.pgos.clock()))
    async with http.post(sandbox.urls["pgos"] + sim.BACKEND_INVENTORY_PATH,
                         json={"player_id": "p9"}, headers=headers) as response:
        answer = await response.json()
    assert answer["errno"] == 0 and len(answer["data"]["Instances"]) == 1
    headers["Titleregionid"] = "other"
    async with http.post(sandbox.urls["pgos"] + sim.BACKEND_INVENTORY_PATH,
                         json={"player_id": "p9"}, headers=headers) as response:
        assert (await response.json())["errno"] == sim.E_AUTH


async def test_title_wide_path_checks_the_signature(sandbox: Sandbox,
                                                    http: aiohttp.ClientSession) -> None:
    o = sandbox.options
    sandbox.pgos.title_files["/logo.jpg"] = {"size": 3}
    key = pgos.split_server_key(o.server_key)
    headers = pgos.title_headers(key, title_id=o.title_id,
                                 timestamp_s=int(sandbox.pgos.clock()))
    url = sandbox.urls["pgos"] + sim.TITLE_FILE_INFO_PATH
    async with http.post(url, json={"paths": ["/logo.jpg", "/x"]}, headers=headers) as response:
        answer = await response.json()
    assert answer["errno"] == 0
    assert answer["data"]["files"] == [{"path": "/logo.jpg", "exists": True, "size": 3},
                                       {"path": "/x", "exists": False}]
    stale = pgos.title_headers(key, title_id=o.title_id,
                               timestamp_s=int(sandbox.pgos.clock()) - 3600)
    wrong = headers | {"Signature": "0" * 64}
    for bad in (stale, wrong):
        async with http.post(url, json={"paths": []}, headers=bad) as response:
            assert (await response.json())["errno"] == sim.E_AUTH


async def test_configurable_command_names() -> None:
    names = sim.Commands(grant_items="economy.grant")
    pgos_sim = sim.PgosSim(title_id="5", title_region_id="r", server_key="AAAA-BBBB-CCCC-DDDD-EEEE",
                           names=names)
    data = pgos_sim.run("economy.grant", {"PlayerID": "p", "IdempotencyToken": "t",
                                          "Items": [{"ItemID": "i", "Amount": 2}]})
    assert data["Instances"][0]["Amount"] == 2
    with pytest.raises(sim.CommandError):
        pgos_sim.run("grant-items-to-player", {})
