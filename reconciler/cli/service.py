"""`reconciler run`, `check`, `config` and `sandbox`: the service and what stands around it.

Rules: thin: `run` hands the loaded configuration to the daemon; `check` is a health check
whose answer is its exit status (0 healthy, 1 otherwise); `config` validates everything and
prints it with every secret masked (a Secret prints as stars; a server key shows its public
id only); `sandbox` serves the simulators until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from reconciler.clients.health import fetch_health
from reconciler.config import Config, GameConfig, load_config


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
    """Exit 0 when the daemon answers /healthz with status ok, 1 otherwise.

    Raises ConfigError on bad configuration.
    """
    config = load_config(args.config)
    host = "127.0.0.1" if config.daemon.host in ("0.0.0.0", "::") else config.daemon.host  # noqa: S104
    url = args.url or f"http://{host}:{config.daemon.port}/healthz"

    status, text = asyncio.run(fetch_health(url, args.timeout_s))
    print(f"{url}: {status or 'unreachable'} {text.strip()}")
    return 0 if status == 200 else 1


def _game_rows(game: GameConfig) -> list[tuple[str, object]]:
    """One game's Jogos and PGOS settings, secrets masked."""
    rows: list[tuple[str, object]] = [
        ("jogos.base_url", game.jogos.base_url),
        ("jogos.game_id", game.jogos.game_id),
        ("jogos.shared_key", game.jogos.shared_key),
    ]
    pgos = game.pgos
    if pgos is not None:
        rows += [
            ("pgos.cli_url", pgos.cli_url),
            ("pgos.backend_url", pgos.backend_url),
            ("pgos.title_id", pgos.title_id),
            ("pgos.title_region_id", pgos.title_region_id),
            ("pgos.server_key", f"{pgos.key.secret_id}-{pgos.server_key}"),
        ]
    return rows


def config_rows(config: Config) -> list[tuple[str, object]]:
    """The configuration as (name, printable value) rows, every game's, secrets masked."""
    rows = [row for game in config.games for row in _game_rows(game)]
    if config.sink is not None:
        rows += [("fulfilment.url", config.sink.url), ("fulfilment.secret", config.sink.secret)]
    rows.append(("ledger.path", config.db_path))
    rows += [("catalog.path", f"{game.catalog_path} ({len(game.catalog)} products)")
             for game in config.games]
    rows += [
        ("engine", config.engine),
        ("policy", f"{config.policy}, clawback={config.clawback}"),
    ]
    return rows


def cmd_config(args: argparse.Namespace) -> int:
    """Validate the configuration and print it with secrets masked.

    Raises ConfigError listing every problem.
    """
    for name, value in config_rows(load_config(args.config)):
        print(f"{name:<22}{value}")
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
    run = sub.add_parser("run", help="the long-running service (systemd Type=notify)")
    run.set_defaults(handler=cmd_run)


def add_check(sub: Any) -> None:
    """Register `check` on the top-level subparsers."""
    check = sub.add_parser("check", help="exit 0 when the daemon is healthy, 1 otherwise")
    check.add_argument("--url", help="health URL (default: from daemon.listen)")
    check.add_argument("--timeout-s", type=float, default=5.0)
    check.set_defaults(handler=cmd_check)


def add_config(sub: Any) -> None:
    """Register `config` on the top-level subparsers."""
    config = sub.add_parser("config", help="validate the configuration and show it (masked)")
    config.set_defaults(handler=cmd_config)
