"""`reconciler run`, `check`, `config` and `sandbox`: the service and what stands around it.

Rules: thin: `run` hands the loaded configuration to the daemon; `check` is a health check
whose answer is its exit status (0 healthy, 1 otherwise) and reads no more configuration than
the address it asks; `config` validates everything `run` would (settings, the ops client's
key, the ledger file) and prints every setting with its source, every secret masked (a Secret
prints as stars; a server key shows its public id only); `sandbox` serves the simulators
until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from reconciler.clients.health import fetch_health
from reconciler.config import Config, load_config
from reconciler.config.describe import describe_config
from reconciler.config.partial import load_settings
from reconciler.core.jsontext import is_number
from reconciler.errors import ConfigError
from reconciler.ledger.connection import file_problem
from reconciler.runtime.state import ops_clients


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Run every simulator on loopback until interrupted; print URLs and environment.

    Raises OSError when a port cannot be bound.
    """
    from reconciler.sandbox.cli import serve

    return serve(args)


def cmd_run(args: argparse.Namespace) -> int:
    """The long-running service. Raises ConfigError on bad configuration."""
    from reconciler.daemon import serve

    return asyncio.run(serve(load_config(args.config)))


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when the daemon answers /healthz with status ok, 1 otherwise. With --url nothing
    else is read; without it only daemon.listen.

    Raises ConfigError when daemon.listen is not valid.
    """
    url = args.url
    if url is None:
        listen = str(load_settings(["RECONCILER_LISTEN"], args.config)["RECONCILER_LISTEN"])
        url = f"{daemon_base(listen)}/healthz"
    status, text = asyncio.run(fetch_health(url, args.timeout_s))
    print(f"{url}: {status or 'unreachable'} {text.strip()}")
    return 0 if status == 200 else 1


def daemon_base(listen: str) -> str:
    """The loopback URL of a daemon listening on `listen` (HOST:PORT).

    Raises ConfigError when `listen` is not HOST:PORT.
    """
    host, colon, port = listen.rpartition(":")
    if not colon or not host or not is_number(port):
        raise ConfigError(f"daemon.listen / RECONCILER_LISTEN: must be HOST:PORT, got {listen!r}")
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host  # noqa: S104
    return f"http://{host}:{port}"


def ledger_problem(path: Path) -> str | None:
    """Why `run` could not open the ledger at `path` (without creating it), or None."""
    problem = file_problem(path)
    return None if problem is None else f"ledger.path / RECONCILER_DB: {problem}"


def preflight(config: Config) -> None:
    """What `run` checks beyond the settings: the ops client's ECDSA key, the ledger file
    (a PostgreSQL ledger is not reached from here).

    Raises ConfigError listing every problem.
    """
    problems = []
    try:
        ops_clients(config)
    except ConfigError as exc:
        problems += [f"ops.ecdsa_public_key / OPS_ECDSA_PUBLIC_KEY: {p}" for p in exc.problems]
    problem = ledger_problem(config.db_path) if isinstance(config.db_path, Path) else None
    if problem is not None:
        problems.append(problem)
    if problems:
        raise ConfigError(problems)


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cmd_config(args: argparse.Namespace) -> int:
    """Validate everything `run` would and print every setting with its source (secrets
    masked), as a table or (--format json) a document.

    Raises ConfigError listing every problem.
    """
    config, shown = describe_config(args.config)
    preflight(config)
    if args.format == "json":
        print(json.dumps({
            "schema": "reconciler.config/1", "valid": True,
            "games": [g.jogos.game_id for g in config.games],
            "settings": [{"section": r.section, "key": r.key, "value": r.value,
                          "source": r.source, "origin": r.origin} for r in shown],
        }, indent=2))
        return 0
    games = ", ".join(str(g.jogos.game_id) for g in config.games)
    print(f"configuration valid: games {games}; {len(shown)} settings "
          "(value, source, where it was read; secrets masked)")
    section = None
    for row in shown:
        if row.section != section:
            section = row.section
            print(f"[[{section[:5]}]] {section}" if section.startswith("games[") else
                  f"[{section}]")
        print(f"  {row.key:<28} {_text(row.value):<40} {row.source:<12} {row.origin}".rstrip())
    return 0


def add_sandbox(sub: Any) -> None:
    """Register `sandbox` on the top-level subparsers."""
    sandbox = sub.add_parser(
        "sandbox", help="run simulated Jogos, PGOS and a game server on loopback",
        description="Start the simulators, print their URLs and the environment that points "
        "the reconciler at them, and serve until interrupted.",
    )
    sandbox.add_argument("--orders", type=int, default=5000, help="orders to generate")
    sandbox.add_argument("--seed", type=int, default=1, help="seed of the generated orders")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    sandbox.add_argument("--jogos-port", type=int, default=0, help="port (default: any free)")
    sandbox.add_argument("--pgos-port", type=int, default=0, help="port (default: any free)")
    sandbox.add_argument("--game-server-port", type=int, default=0, help="port (default: free)")
    sandbox.add_argument("--max-page-size", type=int, default=100, help="getOrders page cap")
    sandbox.add_argument(
        "--catalog", default="state/sandbox-catalog.toml", help="where to write its catalog"
    )
    sandbox.add_argument(
        "--env-file", default="state/sandbox.env", help="where to write the environment (0600)"
    )
    sandbox.set_defaults(handler=cmd_sandbox)


def add_run(sub: Any) -> None:
    """Register `run` on the top-level subparsers."""
    run = sub.add_parser(
        "run", help="the long-running service (systemd Type=notify)",
        description="Serve Jogos notifications, player links, the ops API, /healthz and "
        "/metrics, and run the schedule (passes, drains, the daily audit) until SIGTERM or "
        "Ctrl-C; work under way finishes, the exit status is 0. Exit 1 when the "
        "configuration is invalid or the port is taken.")
    run.set_defaults(handler=cmd_run)


def add_check(sub: Any) -> None:
    """Register `check` on the top-level subparsers."""
    check = sub.add_parser(
        "check", help="exit 0 when the daemon is healthy, 1 otherwise",
        description="Ask a running daemon's /healthz: exit 0 when it answers 200 (the last "
        "successful pass is recent), 1 otherwise. Needs no secret: only daemon.listen, or "
        "nothing with --url.")
    check.add_argument("--url", help="health URL (default: http://<daemon.listen>/healthz)")
    check.add_argument("--timeout-s", type=float, default=5.0, help="seconds to wait")
    check.set_defaults(handler=cmd_check)


def add_config(sub: Any) -> None:
    """Register `config` on the top-level subparsers."""
    config = sub.add_parser(
        "config", help="validate the configuration and show every setting (masked)",
        description="Validate everything `reconciler run` would (every setting, every game, "
        "the ops client's key, the ledger file) and print each setting with its value, its "
        "source (environment, file, secret file, credential, default) and where it was "
        "read; secrets are masked. Exit 0 when valid, 1 with one line per problem.")
    config.add_argument("--format", choices=("text", "json"), default="text",
                        help="a table, or a JSON document for tooling")
    config.set_defaults(handler=cmd_config)
