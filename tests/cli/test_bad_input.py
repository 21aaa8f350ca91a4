"""Every sub-command, given each class of bad input, fails with a clear message and its
documented exit status (1 error, 2 usage), never a traceback. Real processes: `python -m
reconciler` with a clean environment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.sandbox.runner import SANDBOX_CATALOG
from reconciler.testing.daemon import DROPPED_ENV, OPS_ID, OPS_SECRET, free_port
from tests.conftest import register

SHARED = "9c1e4b7a2f6d8e03b5a7c9d1"
SERVER_KEY = "SBOX-Q7WZ-K2PA-9MDX-R4TB"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A valid configuration whose remote systems are closed ports (nothing is reached)."""
    register(SHARED, SERVER_KEY, OPS_SECRET)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(SANDBOX_CATALOG)
    dead = "http://127.0.0.1:9"
    base = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV)}
    return base | {
        "JOGOS_BASE_URL": dead, "JOGOS_GAME_ID": "9943", "JOGOS_SHARED_KEY": SHARED,
        "PGOS_CLI_URL": dead, "PGOS_TITLE_ID": "5", "PGOS_TITLE_REGION_ID": "sbx_5_1_sandbox",
        "PGOS_SERVER_KEY": SERVER_KEY, "RECONCILER_CATALOG": str(catalog),
        "RECONCILER_DB": str(tmp_path / "ledger.db"), "RECONCILER_MAX_ATTEMPTS": "1",
        "RECONCILER_LISTEN": f"127.0.0.1:{free_port()}",
    }


def cli(env: dict[str, str], *argv: str, stdin: bytes = b"",
        cwd: Path | None = None) -> tuple[int, str, str]:
    """Run the command line; assert no traceback anywhere; return status, stdout, stderr."""
    result = subprocess.run([sys.executable, "-m", "reconciler", *argv], env=env,
                            input=stdin, capture_output=True, timeout=60, check=False, cwd=cwd)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert "Traceback" not in out + err, (argv, err)
    return result.returncode, out, err


def test_a_bad_log_level_is_a_usage_error(env: dict[str, str]) -> None:
    code, _, err = cli(env, "--log-level", "bogus", "config")
    assert code == 2 and "--log-level" in err and "DEBUG" in err
    assert cli(env, "--log-level", "debug", "config")[0] == 0  # any case


@pytest.mark.parametrize(("argv", "needle"), [
    (["catch-up", "--show", "5"], "--dry-run"),
    (["catch-up", "--dry-run", "--show", "-3"], "--show"),
    (["catch-up", "--problems", "x"], "--problems"),
    (["demo", "--orders", "0"], "--orders"),
    (["sandbox", "--orders", "many"], "--orders"),
    (["check", "--timeout-s", "soon"], "--timeout-s"),
    (["config", "--format", "yaml"], "--format"),
    (["order", "notanumber", "x"], "game"),
    (["retry", "--kind", "refund"], "--kind"),
    (["ops"], "OPS_COMMAND"),
    (["ops", "order", "9943"], "order"),
    (["players", "import"], "file"),
    (["audit", "--format", "pdf"], "--format"),
    (["pgos", "call"], "target"),
    (["sign"], "SCHEME"),
    (["sign", "jogos", "--secret", "k"], "--body"),
    (["sign", "jogos", "--body", "{}", "--body-file", "b.json", "--secret", "k"], "--body-file"),
    (["sign", "jogos", "--body", "", "--secret", "k"], "--body"),
    (["sign", "jogos", "--body", "{}"], "--secret"),
    (["sign", "s2s-hmac", "--client-id", "c", "--secret", "s", "--title-id", "5"],
     "--title-id"),
    (["sign", "s2s-basic", "--secret", "s"], "--client-id"),
    (["sign", "pgos-title", "--secret", SERVER_KEY], "--title-id"),
    (["sign", "pgos-ticket", "--cli", "--secret", SERVER_KEY], "--title-id"),
    (["sign", "pgos-ticket", "--title-region-id", "r", "--secret", "short"], "--secret"),
    (["sign", "pgos-ticket", "--title-region-id", "r", "--secret-file", "missing.key"],
     "missing.key"),
    (["sign", "signed-headers", "--param", "novalue", "--secret", "s"], "NAME=VALUE"),
    (["pgos", "call", "x", "--data", "not json"], "--data"),
    (["pgos", "call", "x", "--data", "{}", "--data-file", "d.json"], "--data"),
    (["pgos", "call", "/a/b", "--title"], "--title"),
])
def test_usage_errors_exit_2(env: dict[str, str], argv: list[str], needle: str) -> None:
    code, _, err = cli(env, *argv)
    assert code == 2, err
    assert needle in err
    assert "configuration error" not in err


@pytest.mark.parametrize("command", [
    ["config"], ["run"], ["catch-up"], ["catch-up", "--dry-run"], ["audit"],
    ["players", "import", "-"], ["retry", "--now"], ["pgos", "help"], ["check"],
])
def test_bad_configuration_exits_1_naming_the_key(env: dict[str, str], tmp_path: Path,
                                                   command: list[str]) -> None:
    cases = {
        "RECONCILER_LISTEN": ("abc", "RECONCILER_LISTEN"),
        "PGOS_SERVER_KEY_FILE": (str(tmp_path / "latin1.key"), "not UTF-8"),
        "JOGOS_SHARED_KEY_FILE": (str(tmp_path / "empty.key"), str(tmp_path / "empty.key")),
    }
    (tmp_path / "latin1.key").write_bytes(b"\xff\xfeSBOX-\xe9")
    (tmp_path / "empty.key").write_bytes(b"")
    for name, (value, needle) in cases.items():
        if command == ["check"] and name != "RECONCILER_LISTEN":
            continue  # check reads daemon.listen only
        bad = dict(env) | {name: value}
        bad.pop(name.removesuffix("_FILE"), None) if name.endswith("_FILE") else None
        code, _, err = cli(bad, *command)
        assert code == 1, (command, name, err)
        assert "configuration error" in err and needle in err, (command, name, err)


def test_check_with_a_url_needs_no_configuration(env: dict[str, str]) -> None:
    bare = {k: v for k, v in env.items() if not k.startswith(DROPPED_ENV)}
    code, out, err = cli(bare, "check", "--url", f"http://127.0.0.1:{free_port()}/healthz",
                         "--timeout-s", "2")
    assert code == 1 and "unreachable" in out and "required" not in err


def test_a_busy_port_in_json_is_one_json_line(env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = cli(env | {"RECONCILER_LISTEN": f"127.0.0.1:{port}"},
                           "--log-format", "json", "run")
    assert code == 1
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert lines and lines[-1]["level"] == "error" and lines[-1]["exit_status"] == 1
    assert "address already in use" in lines[-1]["msg"].lower()


def test_a_connection_error_names_the_host_and_the_reason(env: dict[str, str]) -> None:
    code, _, err = cli(env, "catch-up")
    assert code == 1
    assert "127.0.0.1:9" in err and "cannot connect" in err and "refused" in err.lower()


def test_players_import_problems_are_not_configuration_errors(env: dict[str, str]) -> None:
    code, _, err = cli(env, "players", "import", "-", stdin=b"user_id,player\nu1,p1\n")
    assert code == 1
    assert "configuration error" not in err and "-: nothing done" in err
    assert "line 1" in err


def test_ledger_tools_without_a_ledger(env: dict[str, str]) -> None:
    for argv in (["order", "9943", "x"], ["retry"]):
        code, _, err = cli(env, *argv)
        assert code == 1 and "does not exist" in err, err


def test_ops_without_credentials_or_daemon(env: dict[str, str]) -> None:
    code, _, err = cli(env, "ops", "pass")
    assert code == 1 and "OPS_CLIENT_ID" in err
    code, _, err = cli(env | {"OPS_CLIENT_ID": OPS_ID, "OPS_HMAC_SECRET": OPS_SECRET},
                       "ops", "pass")
    assert code == 1 and "cannot connect to 127.0.0.1" in err


def test_an_unreadable_config_file(env: dict[str, str], tmp_path: Path) -> None:
    code, _, err = cli(env, "--config", str(tmp_path / "nope.toml"), "config")
    assert code == 1 and "nope.toml" in err
