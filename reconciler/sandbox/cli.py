"""`reconciler sandbox`: serve the simulators until interrupted.

Rules: the sandbox's keys are throwaway, made per run; they are written to an env file with
mode 0600 (for `set -a; . state/sandbox.env`) rather than printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions


def write_private(path: Path, text: str) -> None:
    """Write `text` to a new or existing file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.chmod(path, 0o600)


def serve(args: argparse.Namespace) -> int:
    """Write the catalog, start the sandbox, describe it, serve until SIGINT/SIGTERM.

    Raises OSError when a file cannot be written or a port cannot be bound.
    """
    catalog = Path(args.catalog).resolve()
    write_private(catalog, SANDBOX_CATALOG)
    return asyncio.run(_serve(args, catalog))


async def _serve(args: argparse.Namespace, catalog: Path) -> int:
    options = SandboxOptions(
        mix=OrderMix(count=args.orders, seed=args.seed), host=args.host,
        max_page_size=args.max_page_size,
        ports=(args.jogos_port, args.pgos_port, args.game_server_port),
    )
    async with Sandbox(options) as sandbox:
        env_file = Path(args.env_file)
        env = sandbox.env(catalog)
        write_private(env_file, "".join(f"{k}={v}\n" for k, v in env.items()))
        print(f"jogos        {sandbox.urls['jogos']}  ({args.orders} orders, game "
              f"{options.game_id})")
        print(f"pgos         {sandbox.urls['pgos']}  (title {options.title_id}, region "
              f"{options.title_region_id})")
        print(f"game server  {sandbox.urls['game_server']}")
        print(f"inspect      {sandbox.urls['jogos']}/_sandbox/jogos  "
              f"{sandbox.urls['pgos']}/_sandbox/pgos")
        print(f"environment  {env_file} (keys included, mode 0600): set -a; . {env_file}; set +a")
        for name in env:
            print(f"  {name}")
        print("serving; Ctrl-C stops", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    return 0
