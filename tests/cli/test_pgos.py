"""`reconciler pgos call` against the sandbox: a CLI command, a title-region Backend path and a
title-wide Backend path, each with the right auth; refusals and usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.sandbox.runner import Sandbox
from tests.engine.conftest import catalog_path
from tests.engine.test_faces import cli

__all__ = ["catalog_path"]


async def test_cli_command_then_backend_paths(sandbox: Sandbox, catalog_path: Path,
                                              tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    grant = json.dumps({"PlayerID": "p7", "Items": [{"ItemID": "gem_pack_100", "Amount": 2}],
                        "IdempotencyToken": "by-hand-1"})
    code, out, err = await cli(sandbox, catalog_path, db, "pgos", "call",
                               "grant-items-to-player", "--data", grant)
    assert code == 0, err
    answer = json.loads(out)
    assert answer["errno"] == 0 and answer["data"]["Instances"][0]["Amount"] == 2
    assert sandbox.pgos.players["p7"].instances

    code, out, err = await cli(sandbox, catalog_path, db, "pgos", "call",
                               "/economy/get_player_inventory", "--data",
                               '{"player_id": "p7"}')
    assert code == 0, err
    assert json.loads(out)["data"]["Instances"][0]["ItemID"] == "gem_pack_100"

    sandbox.pgos.title_files["/logo.jpg"] = {"size": 10}
    code, out, err = await cli(sandbox, catalog_path, db, "pgos", "call",
                               "/title_svr/get_title_file_info", "--title-wide", "--data",
                               '{"paths": ["/logo.jpg"]}')
    assert code == 0, err
    assert json.loads(out)["data"]["files"] == [{"path": "/logo.jpg", "exists": True,
                                                 "size": 10}]

    code, out, err = await cli(sandbox, catalog_path, db, "pgos", "call", "help", "--title")
    assert code == 0, err
    assert "get-player-inventory" in json.loads(out)["data"]["Commands"]
    assert sandbox.pgos.rejected == {}


async def test_refusals_print_the_answer_and_exit_1(sandbox: Sandbox, catalog_path: Path,
                                                    tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    code, out, err = await cli(sandbox, catalog_path, db, "pgos", "call", "make-me-rich")
    assert code == 1
    assert json.loads(out)["errno"] == 1002
    code, out, err = await cli(sandbox, catalog_path, db, "pgos", "call",
                               "/economy/get_player_inventory", "--data", "{}")
    assert code == 1 and json.loads(out)["errno"] == 1001
    # Title-wide auth on a title-region path: the sandbox checks the ticket, so it refuses.
    code, out, err = await cli(sandbox, catalog_path, db, "pgos", "call",
                               "/economy/get_player_inventory", "--title-wide", "--data",
                               '{"player_id": "p"}')
    assert code == 1 and json.loads(out)["errno"] == 1003
    assert "Traceback" not in out + err


@pytest.mark.parametrize(("argv", "status"), [
    (("get-player-inventory", "--title-wide"), 2),
    (("/economy/get_player_inventory", "--title"), 2),
    (("get-player-inventory", "--data", "[1]"), 2),
    (("get-player-inventory", "--data", "{"), 2),
    (("get-player-inventory", "--data", "{}", "--data-file", "x.json"), 2),
    (("get-player-inventory", "--data-file", "/missing/x.json"), 2),
    (("get-player-inventory", "--game", "1"), 1),  # a configuration problem
])
async def test_bad_arguments_get_one_clear_line(sandbox: Sandbox, catalog_path: Path,
                                                tmp_path: Path, argv: tuple[str, ...],
                                                status: int) -> None:
    code, out, err = await cli(sandbox, catalog_path, tmp_path / "l.db", "pgos", "call", *argv)
    assert code == status, out
    assert "Traceback" not in err and err.strip()
    assert sandbox.pgos.log == []
