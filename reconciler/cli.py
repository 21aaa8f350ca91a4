"""The `reconciler` command line: parse arguments, wire things, call the library.

Rules: this is the only module that reads the clock or makes nonces for `sign`; everything it
calls takes them as arguments. Errors of the ReconcilerError family end the command with a
clear message and exit status 1 (2 for usage errors); no traceback, no secret.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from reconciler import __version__
from reconciler.auth import jogos, pgos, s2s, signed_headers
from reconciler.config import load_config
from reconciler.errors import ConfigError, ReconcilerError

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

    config = sub.add_parser("config", help="validate the configuration and show it (masked)")
    config.set_defaults(handler=cmd_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
