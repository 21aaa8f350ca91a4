"""`reconciler sign`: the headers of a signed request, for curl or a by-hand check.

Rules: the only place that reads the clock or makes nonces for `sign`; the signers in
`reconciler.auth` take both as arguments. Usage problems (a missing key, an unreadable file, a
malformed parameter) raise ConfigError; `main` prints them.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from reconciler.auth import jogos, pgos, s2s, signed_headers
from reconciler.errors import ConfigError

SIGN_SCHEMES = (
    "jogos", "pgos-ticket", "pgos-title", "s2s-hmac", "s2s-ecdsa", "s2s-basic", "s2s-api-key",
    "signed-headers",
)
S2S_SCHEMES = {
    "s2s-hmac": s2s.Scheme.HMAC, "s2s-ecdsa": s2s.Scheme.ECDSA,
    "s2s-basic": s2s.Scheme.BASIC, "s2s-api-key": s2s.Scheme.API_KEY,
}


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
    """The exact body bytes from --body or --body-file ('-' reads standard input).

    Raises ConfigError when the file cannot be read.
    """
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


def _sign_pgos(args: argparse.Namespace, scheme: str, now_s: int) -> None:
    """pgos-ticket (Backend or --cli form) and pgos-title. Raises ConfigError."""
    server_key = pgos.split_server_key(_secret_arg(args, "secret", f"{scheme} (server key)"))
    if scheme == "pgos-title":
        if not args.title_id:
            raise ConfigError("--title-id is required for pgos-title")
        _print_headers(pgos.title_headers(server_key, title_id=args.title_id, timestamp_s=now_s))
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


def _sign_s2s(args: argparse.Namespace, scheme: str, now_s: int, nonce: str) -> None:
    """The yac-* service-to-service schemes. Raises ConfigError."""
    if not args.client_id:
        raise ConfigError(f"--client-id is required for {scheme}")
    kind = S2S_SCHEMES[scheme]
    secret = private_key = None
    if kind is s2s.Scheme.ECDSA:
        private_key = s2s.load_ec_key(_secret_arg(args, "secret", "s2s-ecdsa (private key)"))
    else:
        secret = _secret_arg(args, "secret", scheme)
    _print_headers(s2s.request_headers(
        kind, client_id=args.client_id, timestamp_s=now_s, nonce=nonce, pathname=args.path,
        secret=secret, private_key=private_key,
    ))


def _sign_signed_headers(args: argparse.Namespace, now_s: int) -> None:
    """The signed-headers scheme: parameters, then `sign:`. Raises ConfigError."""
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
        _sign_pgos(args, scheme, now_s)
    elif scheme.startswith("s2s-"):
        _sign_s2s(args, scheme, now_s, nonce)
    else:
        _sign_signed_headers(args, now_s)
    return 0


def add_sign(sub: Any) -> None:
    """Register `sign` on the top-level subparsers."""
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
