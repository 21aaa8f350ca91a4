"""The operator's verbs against the sandbox and a running daemon: a dry run that exits as the
pass would, the list of what needs attention, an order's story, `retry` after a fix, Ctrl-C
during a pass, and `ops` calling the daemon signed. Real processes on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from pathlib import Path

from reconciler.sandbox.faults import Faults
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, new_server_key
from reconciler.testing.daemon import DROPPED_ENV, Daemon, finished_runs, until


def sandbox_env(sandbox: Sandbox, folder: Path, **extra: str) -> dict[str, str]:
    catalog = folder / "catalog.toml"
    catalog.write_text(SANDBOX_CATALOG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV)}
    return env | sandbox.env(catalog) | {
        "RECONCILER_DB": str(folder / "ledger.db"), "RECONCILER_IDENTITY": "same",
        "RECONCILER_BACKOFF_S": "0.01", "RECONCILER_BACKOFF_MAX_S": "0.02",
    } | extra


async def acli(env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    """Run the command line without blocking the sandbox's loop; no traceback allowed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reconciler", *argv, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    text_out, text_err = out.decode(), err.decode()
    assert "Traceback" not in text_out + text_err, text_err
    return proc.returncode or 0, text_out, text_err


def read_only(folder: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of a query on a read-only connection (the process under test keeps writing)."""
    conn = sqlite3.connect(f"file:{folder / 'ledger.db'}?mode=ro", uri=True, timeout=10)
    try:
        return list(conn.execute(sql).fetchall())
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def effects_by_state(folder: Path) -> dict[str, int]:
    return {str(s): int(str(n)) for s, n in read_only(
        folder, "SELECT state, count(*) FROM effects GROUP BY state")}


async def test_dry_run_exits_as_the_pass_would(sandbox: Sandbox, tmp_path: Path) -> None:
    linked = sandbox_env(sandbox, tmp_path, RECONCILER_IDENTITY="linked")
    code, out, _ = await acli(linked, "catch-up", "--dry-run", "--show", "2")
    assert code == 3, out
    assert "attention  unlinked_player" in out and "first 2 of" in out
    assert "would need attention" in out
    code, out, _ = await acli(sandbox_env(sandbox, tmp_path), "catch-up", "--dry-run")
    assert code == 0, out
    assert "grant" in out and "would settle everything" in out
    assert not (tmp_path / "ledger.db").exists()  # a dry run creates nothing


async def test_attention_listed_story_told_retry_after_a_fix(sandbox: Sandbox,
                                                             tmp_path: Path) -> None:
    wrong_key = new_server_key()
    good = sandbox_env(sandbox, tmp_path)
    code, out, _ = await acli(good | {"PGOS_SERVER_KEY": wrong_key}, "catch-up",
                              "--problems", "3")
    assert code == 3, out
    listed = [line.split() for line in out.splitlines() if line.startswith("  grant ")]
    assert len(listed) == 3 and "more" in out.splitlines()[-1]
    game_order = listed[0][1]
    assert game_order.startswith("9943/") and listed[0][2] == "attention"
    game, order = game_order.split("/")
    assert effects_by_state(tmp_path).get("attention", 0) > 3

    code, out, _ = await acli(good, "order", game, order)
    assert code == 0 and f"order {game}/{order}" in out
    assert "grant    attention  1 attempt" in out and "last error:" in out
    code, out, _ = await acli(good, "order", game, order, "--format", "json")
    assert json.loads(out)["effects"][0]["state"] == "attention"
    code, _, err = await acli(good, "order", game, "no-such-order")
    assert code == 1 and "not in the ledger" in err

    code, out, _ = await acli(good, "retry", "--order", order)
    assert code == 0 and f"grant:{game}:{order}" in out and "1 order queued" in out
    code, out, _ = await acli(good, "retry", "--now", "--kind", "grant")
    assert code == 0, out
    assert "settled now:" in out and "re-queued" in out
    code, out, _ = await acli(good, "catch-up")
    assert code == 0, out
    assert "needs attention" not in out
    assert set(effects_by_state(tmp_path)) == {"done"}


async def test_ctrl_c_finishes_the_work_under_way(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.pgos.injector.configure(Faults(latency_s=0.2))
    env = sandbox_env(sandbox, tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reconciler", "catch-up", env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    await until(lambda: (tmp_path / "ledger.db").exists() and
                effects_by_state(tmp_path).get("done", 0) >= 3, 60)  # it is acting
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode() + err.decode()
    assert proc.returncode == 130, text
    assert "Traceback" not in text and "interrupted" in out.decode()
    states = effects_by_state(tmp_path)
    assert "in_flight" not in states and states.get("done", 0) > 0  # under way: finished
    assert read_only(tmp_path, "SELECT status FROM runs ORDER BY id DESC")[0] == \
        ("interrupted",)
    sandbox.pgos.injector.configure(Faults())
    code, out, _ = await acli(env, "catch-up")  # the next pass settles the rest
    assert code == 0, out


async def test_ops_calls_the_daemon_signed(sandbox: Sandbox, tmp_path: Path) -> None:
    async with Daemon(sandbox, tmp_path) as daemon:
        await until(lambda: finished_runs(daemon) >= 1, 60)
        ledger = daemon.ledger()
        try:
            order = str(ledger.db.execute("SELECT order_id FROM effects WHERE kind = 'grant' "
                                          "LIMIT 1").fetchone()[0])
        finally:
            ledger.close()
        env = {k: v for k, v in daemon.env.items()
               if not k.startswith(("JOGOS_", "PGOS_", "RECONCILER_CATALOG"))}
        code, out, err = await acli(env, "ops", "order", "9943", order)
        assert code == 0, err
        assert f"order 9943/{order}" in out and "grant    done" in out
        code, out, err = await acli(env, "ops", "order", "9943", order, "--format", "json")
        assert json.loads(out)["order"]["order_id"] == order
        code, out, err = await acli(env, "ops", "pass")
        assert code == 0 and "pass triggered" in out, err
        await until(lambda: finished_runs(daemon) >= 2, 60)
        code, _, err = await acli(env, "ops", "audit")
        assert code == 1 and "404" in err and "no audit yet" in err
        code, _, err = await acli(env | {"OPS_HMAC_SECRET": "V3JvbmdTZWNyZXRWYWx1ZTEyMzQ1Ng=="},
                                  "ops", "pass")
        assert code == 1 and "401" in err and "OPS_CLIENT_ID" in err
