"""The `reconciler` command line: parse arguments, wire things, call the library.

Rules: this is the only module that reads the clock or makes nonces for `sign`; everything it
calls takes them as arguments. Errors of the ReconcilerError family end the command with a
clear message and exit status 1 (2 for usage errors); no traceback, no secret.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from reconciler import __version__
from reconciler.auth import jogos, pgos, s2s, signed_headers
from reconciler.cli_pgos import add_pgos_parser
from reconciler.clients.health import fetch_health
from reconciler.config import load_config
from reconciler.core.jsontext import is_number
from reconciler.engine.passes import describe, open_engine, run_pass, summary_line
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.ledger import Ledger
from reconciler.logs import setup_logging
from reconciler.progress import LogProgress, TerminalProgress

Handler = Callable[[argparse.Namespace], int]


def _secret_arg(args: argparse.Namespace, name: str, what: str) -> str:
    """The value of --NAME or the content of --NAME-file.

    Raises ConfigError when neither or both are given, or the file cannot be read.
    """
    value = getattr(args, name)
    file = getattr(args, f"{name}_file")
    flag = "--" + name.replace("_", "-")
    if (value is None) == (file is None):
        raise ConfigError(f"{flag} or {flag}-file is required for {what} (exactly one)")
    if file is not None:
        try:
            return str(Path(file).read_text(encoding="utf-8")).strip()
        except OSError as exc:
            raise ConfigError(f"{flag}-file {file}: cannot read: {exc.strerror}") from exc
    return str(value)


def _body_arg(args: argparse.Namespace) -> bytes:
    """The exact body bytes from --body or --body-file ('-' reads standard input)."""
    if args.body_file is not None:
        if args.body_file == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(args.body_file).read_bytes()
        except OSError as exc:
            raise ConfigError(f"--body-file {args.body_file}: cannot read: {exc.strerror}") from exc
    return str(args.body or "").encode("utf-8")


def _print_headers(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        if name.lower() != "content-type":
            print(f"{name}: {value}")


def cmd_sign(args: argparse.Namespace) -> int:
    """Print the headers of a signed request as `Name: value` lines.

    Raises ConfigError on missing or unreadable keys.
    """
    now_s = args.timestamp if args.timestamp is not None else int(time.time())
    nonce = args.nonce or secrets.token_hex(8)
    scheme = args.scheme
    if scheme == "jogos":
        key = _secret_arg(args, "secret", "jogos (the shared key)")
        _print_headers(jogos.signed_headers(_body_arg(args), key))
    elif scheme in ("pgos-ticket", "pgos-title"):
        server_key = pgos.split_server_key(_secret_arg(args, "secret", f"{scheme} (server key)"))
        if scheme == "pgos-title":
            if not args.title_id:
                raise ConfigError("--title-id is required for pgos-title")
            headers = pgos.title_headers(server_key, title_id=args.title_id, timestamp_s=now_s)
            _print_headers(headers)
        elif args.cli:
            if not args.title_id:
                raise ConfigError("--title-id is required for pgos-ticket --cli")
            _print_headers(pgos.cli_headers(
                server_key, title_id=args.title_id, title_region_id=args.title_region_id,
                time_s=now_s,
            ))
        else:
            if not args.title_region_id:
                raise ConfigError("--title-region-id is required for pgos-ticket")
            _print_headers(pgos.backend_headers(
                server_key, title_id=args.title_id or "", title_region_id=args.title_region_id,
                time_s=now_s,
            ))
    elif scheme.startswith("s2s-"):
        if not args.client_id:
            raise ConfigError(f"--client-id is required for {scheme}")
        kind = {
            "s2s-hmac": s2s.Scheme.HMAC, "s2s-ecdsa": s2s.Scheme.ECDSA,
            "s2s-basic": s2s.Scheme.BASIC, "s2s-api-key": s2s.Scheme.API_KEY,
        }[scheme]
        secret = private_key = None
        if kind is s2s.Scheme.ECDSA:
            private_key = s2s.load_ec_key(_secret_arg(args, "secret", "s2s-ecdsa (private key)"))
        else:
            secret = _secret_arg(args, "secret", scheme)
        _print_headers(s2s.request_headers(
            kind, client_id=args.client_id, timestamp_s=now_s, nonce=nonce, pathname=args.path,
            secret=secret, private_key=private_key,
        ))
    else:  # signed-headers
        params: dict[str, object] = {}
        for pair in args.param:
            name, eq, value = pair.partition("=")
            if not eq:
                raise ConfigError(f"--param {pair!r}: expected NAME=VALUE")
            params[name] = value
        params.setdefault("timestamp", now_s)
        app_secret = _secret_arg(args, "secret", "signed-headers (app secret)")
        for name, value in params.items():
            print(f"{name}: {value}")
        print(f"sign: {signed_headers.sign(params, app_secret)}")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Run every simulator on loopback until interrupted; print URLs and environment.

    Raises OSError when a port cannot be bound.
    """
    from reconciler.sandbox.cli import serve

    return serve(args)


def _progress() -> TerminalProgress | LogProgress:
    return TerminalProgress() if sys.stderr.isatty() else LogProgress()


def cmd_catch_up(args: argparse.Namespace) -> int:
    """One full pass now. Exit 0 when everything settled, 3 when something needs attention.

    Raises ReconcilerError (configuration, upstream refusal); main turns it into exit 1.
    """
    config = load_config(args.config)

    async def go() -> int:
        progress = _progress()
        async with open_engine(config, dry_run=args.dry_run) as engine:
            report = await run_pass(engine, dry_run=args.dry_run, progress=progress)
        progress.close()
        if args.dry_run:
            planned = {k: v for k, v in report.figures.items() if k.startswith("planned_")}
            print(f"dry run: {report.figures.get('orders', 0)} orders, plan {planned or 'empty'}")
            for action in report.actions[: args.show]:
                print("  " + describe(action))
            if len(report.actions) > args.show:
                print(f"  ... and {len(report.actions) - args.show} more")
            return 0
        print(summary_line(report.figures, report.pending))
        return 0 if report.settled else 3

    return asyncio.run(go())


def cmd_players_import(args: argparse.Namespace) -> int:
    """Import Jogos user -> PGOS player links from a CSV (user_id,player_id[,game_id]).

    Every row is checked before anything is written. Raises ConfigError listing bad rows.
    """
    config = load_config(args.config)
    links = read_links_csv(Path(args.file), config.jogos.game_id)
    ledger = Ledger.open(config.db_path)
    try:
        count = ledger.link_many(links, int(time.time()), source=f"import:{Path(args.file).name}")
    finally:
        ledger.close()
    print(f"linked {count} players")
    return 0


def read_links_csv(path: Path, default_game_id: int) -> list[tuple[int, str, str]]:
    """Parse and check a links CSV. Raises ConfigError naming every bad row."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    fields = set(reader.fieldnames or ())
    if not {"user_id", "player_id"} <= fields:
        raise ConfigError(f"{path}: header must name user_id and player_id (game_id optional)")
    problems, links = [], []
    for line, row in enumerate(reader, start=2):
        user, player = (row.get("user_id") or "").strip(), (row.get("player_id") or "").strip()
        game = (row.get("game_id") or str(default_game_id)).strip()
        if not user or not player or not is_number(game):
            problems.append(f"{path}:{line}: user_id, player_id and a numeric game_id needed")
            continue
        links.append((int(game), user, player))
    if problems:
        raise ConfigError(problems)
    return links


def cmd_demo(args: argparse.Namespace) -> int:
    """README's first command: sandbox + two full passes.

    Raises ReconcilerError when a pass fails.
    """
    from reconciler.demo import prepare, run_demo

    folder = Path(args.folder)
    catalog = prepare(folder)
    return asyncio.run(run_demo(folder, catalog.resolve(), args.orders, args.seed))


def cmd_run(args: argparse.Namespace) -> int:
    """The long-running service. Raises ConfigError on bad configuration."""
    from reconciler.daemon import serve

    return asyncio.run(serve(load_config(args.config)))


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when the daemon answers /healthz with status ok, 1 otherwise."""
    config = load_config(args.config)
    host = "127.0.0.1" if config.daemon.host in ("0.0.0.0", "::") else config.daemon.host  # noqa: S104
    url = args.url or f"http://{host}:{config.daemon.port}/healthz"

    status, text = asyncio.run(fetch_health(url, args.timeout_s))
    print(f"{url}: {status or 'unreachable'} {text.strip()}")
    return 0 if status == 200 else 1


def parse_time(text: str | None, flag: str) -> int | None:
    """A Unix time from digits or a YYYY-MM-DD[THH:MM[:SS]] UTC date.

    Raises ConfigError when it is neither.
    """
    if text is None:
        return None
    if is_number(text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{flag} {text!r}: expected YYYY-MM-DD or a Unix time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def cmd_audit(args: argparse.Namespace) -> int:
    """Three-way audit report. Exit 0 within the threshold, 3 above it, 1 on error.

    Raises ConfigError (bad flags or configuration) and UpstreamError (a book unreadable).
    """
    from reconciler.engine.audit import run_audit
    from reconciler.report import document, render

    config = load_config(args.config)
    since_s, until_s = parse_time(args.since, "--since"), parse_time(args.until, "--until")

    async def go() -> dict[str, object]:
        async with open_engine(config) as engine:
            result, books = await run_audit(engine, since_s=since_s, until_s=until_s)
            doc = document(result, games=engine.game_ids, as_of_s=books.as_of_s,
                           since_s=since_s, until_s=until_s, threshold=args.threshold)
            summary = {k: v for k, v in doc.items() if k != "items"}
            engine.ledger.record_audit(summary, str(doc["status"]), int(time.time()))
            return doc

    doc = asyncio.run(go())
    text = render(doc, args.format)
    if args.output:
        from reconciler.private_files import write_private

        write_private(Path(args.output), text)  # 0600: a report names orders and players
        print(f"audit: {doc['status']}, {doc['total']} discrepancies -> {args.output}")
    else:
        sys.stdout.write(text)
    return 0 if doc["status"] == "ok" else 3


def cmd_config(args: argparse.Namespace) -> int:
    """Validate the configuration and print it with secrets masked.

    Raises ConfigError listing every problem.
    """
    config = load_config(args.config)
    rows = [
        ("jogos.base_url", config.jogos.base_url),
        ("jogos.game_id", config.jogos.game_id),
        ("jogos.shared_key", config.jogos.shared_key),
    ]
    if config.pgos is not None:
        rows += [
            ("pgos.cli_url", config.pgos.cli_url),
            ("pgos.backend_url", config.pgos.backend_url),
            ("pgos.title_id", config.pgos.title_id),
            ("pgos.title_region_id", config.pgos.title_region_id),
            ("pgos.server_key", f"{config.pgos.key.secret_id}-{config.pgos.server_key}"),
        ]
    if config.sink is not None:
        rows += [("fulfilment.url", config.sink.url), ("fulfilment.secret", config.sink.secret)]
    rows += [
        ("ledger.path", config.db_path),
        ("catalog.path", f"{config.catalog_path} ({len(config.catalog)} products)"),
        ("engine", config.engine),
        ("policy", f"{config.policy}, clawback={config.clawback}"),
    ]
    for name, value in rows:
        print(f"{name:<22}{value}")
    return 0


SIGN_SCHEMES = (
    "jogos", "pgos-ticket", "pgos-title", "s2s-hmac", "s2s-ecdsa", "s2s-basic", "s2s-api-key",
    "signed-headers",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog="reconciler",
        description="Keep Jogos orders, the local ledger and PGOS inventories in agreement.",
    )
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}")
    parser.add_argument(
        "--config", metavar="FILE", help="TOML configuration (default: $RECONCILER_CONFIG)"
    )
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="log lines as text or JSON (for journald or a collector)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sign = sub.add_parser(
        "sign", help="print the auth headers of a request (curl-ready)",
        description="Print the headers of a signed request as 'Name: value' lines.",
    )
    sign.add_argument("scheme", choices=SIGN_SCHEMES)
    sign.add_argument("--body", help="request body (jogos); exact bytes are signed")
    sign.add_argument("--body-file", help="read the body from a file ('-' for stdin)")
    sign.add_argument(
        "--secret", help="shared key, server key, client secret, api key or app secret"
    )
    sign.add_argument("--secret-file", help="read the secret (or ECDSA private key) from a file")
    sign.add_argument("--title-id", help="PGOS title id")
    sign.add_argument("--title-region-id", help="PGOS title region id")
    sign.add_argument("--cli", action="store_true", help="pgos-ticket: the CLI form (title_id)")
    sign.add_argument("--client-id", help="s2s: yac-client-id")
    sign.add_argument("--path", default="/", help="s2s: the request's path name (default /)")
    sign.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="signed-headers: a parameter (repeat)",
    )
    sign.add_argument("--timestamp", type=int, help="Unix time to use instead of now")
    sign.add_argument("--nonce", help="s2s: nonce to use instead of a random one")
    sign.set_defaults(handler=cmd_sign)

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

    catch_up = sub.add_parser(
        "catch-up", help="run one full reconciliation pass now",
        description="Read every Jogos order, settle the differences, exit 0 when everything "
        "is settled, 3 when something needs attention, 1 on error.",
    )
    catch_up.add_argument("--dry-run", action="store_true",
                          help="print the plan and change nothing anywhere")
    catch_up.add_argument("--show", type=int, default=20, help="dry run: actions to list")
    catch_up.set_defaults(handler=cmd_catch_up)

    players = sub.add_parser("players", help="player links (Jogos user -> PGOS player)")
    players_sub = players.add_subparsers(dest="players_command", required=True)
    players_import = players_sub.add_parser("import", help="import links from a CSV file")
    players_import.add_argument("file", help="CSV with user_id,player_id[,game_id]")
    players_import.set_defaults(handler=cmd_players_import)

    add_pgos_parser(sub)

    demo = sub.add_parser("demo", help="run the sandbox and two full passes against it")
    demo.add_argument("--orders", type=int, default=5000, help="orders to generate")
    demo.add_argument("--seed", type=int, default=1, help="seed of the generated orders")
    demo.add_argument("--folder", default="state/demo", help="where the demo's files go")
    demo.set_defaults(handler=cmd_demo)

    audit = sub.add_parser(
        "audit", help="three-way audit report (exit 3 above the threshold)",
        description="Compare the store, the ledger and the game; write a report.")
    audit.add_argument("--format", choices=("json", "csv", "markdown", "html"), default="json")
    audit.add_argument("--output", help="write to this file (default: standard output)")
    audit.add_argument("--since", help="orders paid at or after (YYYY-MM-DD UTC or Unix time)")
    audit.add_argument("--until", help="orders paid before (YYYY-MM-DD UTC or Unix time)")
    audit.add_argument("--threshold", type=int, default=0,
                       help="discrepancies tolerated before exit 3 (default 0)")
    audit.set_defaults(handler=cmd_audit)

    run = sub.add_parser("run", help="the long-running service (systemd Type=notify)")
    run.set_defaults(handler=cmd_run)
    check = sub.add_parser("check", help="exit 0 when the daemon is healthy, 1 otherwise")
    check.add_argument("--url", help="health URL (default: from daemon.listen)")
    check.add_argument("--timeout-s", type=float, default=5.0)
    check.set_defaults(handler=cmd_check)

    config = sub.add_parser("config", help="validate the configuration and show it (masked)")
    config.set_defaults(handler=cmd_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_format, args.log_level)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print("configuration error:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    except ReconcilerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
