"""`reconciler pgos ...`: an operator's direct line to PGOS (what `stripe get/post` are to Stripe).

Rules: one attempt per call (a revocation is not idempotent, so nothing here retries on its
own); the answer is printed as JSON whatever its errno; exit 0 when PGOS said errno 0, 1 when
it refused or could not be reached, 2 for usage errors (UsageError: --data problems, flags that
do not fit the target). Secrets come from the configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from reconciler.clients.pgos import PgosClient, PgosCommandError, PgosEndpoint
from reconciler.clients.retry import RequestStats, RetryPolicy
from reconciler.config import Config, load_config
from reconciler.errors import ConfigError, UsageError

ONCE = RetryPolicy(max_attempts=1)


def _client(config: Config, session: aiohttp.ClientSession, game_id: int | None) -> PgosClient:
    """The PGOS client of the game chosen with --game (without it, the first configured).

    Raises ConfigError when that game is not configured or has no PGOS title region.
    """
    games = [g for g in config.games if game_id is None or g.jogos.game_id == game_id]
    if not games:
        raise ConfigError(f"--game {game_id}: not a configured game")
    pgos = games[0].pgos
    if pgos is None:
        raise ConfigError("PGOS is not configured (PGOS_CLI_URL, PGOS_SERVER_KEY, ...)")
    return PgosClient(session, PgosEndpoint.of(pgos), api=config.pgos_api, retry=ONCE,
                      timeout_s=config.engine.timeout_s, stats=RequestStats(), clock=time.time)


def _json_object(text: str, what: str) -> dict[str, Any]:
    """Parse a JSON object given on the command line. Raises UsageError."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{what}: not JSON ({exc.args[0][:80]})") from exc
    if not isinstance(value, dict):
        raise UsageError(f"{what}: must be a JSON object")
    return value


def _payload(args: argparse.Namespace) -> dict[str, Any]:
    """The object from --data or --data-file ('-' for stdin); `{}` when neither is given.

    Raises UsageError when both are given or the file cannot be read.
    """
    if args.data is not None and args.data_file is not None:
        raise UsageError("--data and --data-file: give one, not both")
    if args.data_file is None:
        return _json_object(args.data or "{}", "--data")
    try:
        text = sys.stdin.read() if args.data_file == "-" else \
            Path(args.data_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--data-file {args.data_file}: cannot read ({exc})") from exc
    return _json_object(text, f"--data-file {args.data_file}")


def cmd_pgos_call(args: argparse.Namespace) -> int:
    """Send one CLI command (a name) or one Backend request (a path starting with '/').

    Raises UsageError on bad arguments, ConfigError on bad configuration.
    """
    target: str = args.target
    backend = target.startswith("/")
    if args.title and backend:
        raise UsageError("--title is for CLI commands; a Backend path takes --title-wide")
    if args.title_wide and not backend:
        raise UsageError("--title-wide is for a Backend path (starting with '/')")
    payload = _payload(args)
    config = load_config(args.config)

    async def go() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            client = _client(config, session, args.game)
            if backend:
                return await client.backend(target, payload, title_wide=args.title_wide)
            return await client.command(target, payload, title=args.title)

    try:
        data = asyncio.run(go())
    except PgosCommandError as exc:
        print(json.dumps({"errno": exc.errno, "errmsg": exc.message}, indent=2))
        return 1
    print(json.dumps({"errno": 0, "data": data}, indent=2, sort_keys=True))
    return 0


def cmd_pgos_help(args: argparse.Namespace) -> int:
    """Ask PGOS for its command list, to map the real command names.

    Raises ConfigError without PGOS configuration, UpstreamError when PGOS refuses.
    """
    config = load_config(args.config)

    async def go() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            return await _client(config, session, None).help()

    print(json.dumps(asyncio.run(go()), indent=2, sort_keys=True))
    return 0


def add_pgos(sub: Any) -> None:
    """Register `pgos help` and `pgos call` on the top-level subparsers."""
    pgos_cmd = sub.add_parser(
        "pgos", help="PGOS utilities: help, call",
        description="An operator's direct line to PGOS, with the configured title region "
        "and key: one attempt per call, no retry.")
    pgos_sub = pgos_cmd.add_subparsers(dest="pgos_command", required=True,
                                       metavar="PGOS_COMMAND")
    pgos_sub.add_parser(
        "help", help="list the server's CLI commands",
        description="Ask PGOS for its CLI command list (to map the real command names onto "
        "PGOS_CMD_*).").set_defaults(handler=cmd_pgos_help)
    call = pgos_sub.add_parser(
        "call", help="send any CLI command or Backend request and print the JSON answer",
        description="TARGET is a CLI command name (title-region command; --title for a title "
        "command) or a Backend HTTP API path starting with '/' (title-region-wide ServerTicket; "
        "--title-wide for the sha256 signature). One attempt, no retry.",
        epilog="examples: reconciler pgos call get-player-inventory --data "
        "'{\"PlayerID\": \"p1\"}'  |  reconciler pgos call /economy/get_player_inventory "
        "--data '{\"player_id\": \"p1\"}'  |  reconciler pgos call "
        "/title_svr/get_title_file_info --title-wide --data '{\"paths\": [\"/logo.jpg\"]}'",
    )
    call.add_argument("target", help="a CLI command name, or a Backend path such as /a/b")
    call.add_argument("--data", help="the params (CLI) or body (Backend) as a JSON object")
    call.add_argument("--data-file", help="read --data from a file ('-' for stdin)")
    call.add_argument("--title", action="store_true", help="a title command (CLI title path)")
    call.add_argument("--title-wide", action="store_true",
                      help="Backend: title-wide auth (Timestamp + sha256 Signature)")
    call.add_argument("--game", type=int, help="which configured game's title region")
    call.set_defaults(handler=cmd_pgos_call)
