"""`reconciler sign`: the headers of a signed request, for curl or a by-hand check.

Rules: one sub-command per scheme, each with only its own flags; argparse refuses what is
missing or conflicting (exit 2). The only place that reads the clock or makes nonces for
`sign`; the signers in `reconciler.auth` take both as arguments. Other argument problems (an
unreadable file, an empty body, a malformed key or parameter) raise UsageError (exit 2).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from reconciler.auth import jogos, pgos, s2s, signed_headers
from reconciler.errors import ConfigError, UsageError

S2S_SCHEMES = {
    "s2s-hmac": s2s.Scheme.HMAC, "s2s-ecdsa": s2s.Scheme.ECDSA,
    "s2s-basic": s2s.Scheme.BASIC, "s2s-api-key": s2s.Scheme.API_KEY,
}


def _secret_arg(args: argparse.Namespace) -> str:
    """The value of --secret or the content of --secret-file (argparse requires exactly one).

    Raises UsageError when the file cannot be read or the value is empty.
    """
    if args.secret_file is not None:
        try:
            value = Path(args.secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"--secret-file {args.secret_file}: cannot read: "
                             f"{exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise UsageError(f"--secret-file {args.secret_file}: not UTF-8 text") from exc
        if not value:
            raise UsageError(f"--secret-file {args.secret_file}: the file is empty")
        return value
    if not args.secret:
        raise UsageError("--secret: empty")
    return str(args.secret)


def _body_arg(args: argparse.Namespace) -> bytes:
    """The exact body bytes from --body or --body-file ('-' reads standard input).

    Raises UsageError when the file cannot be read or the body is empty.
    """
    if args.body_file is not None:
        if args.body_file == "-":
            body = sys.stdin.buffer.read()
        else:
            try:
                body = Path(args.body_file).read_bytes()
            except OSError as exc:
                raise UsageError(f"--body-file {args.body_file}: cannot read: "
                                 f"{exc.strerror}") from exc
        if not body:
            raise UsageError(f"--body-file {args.body_file}: empty; a Jogos request always "
                             "has a JSON body")
        return body
    if not args.body:
        raise UsageError("--body: empty; a Jogos request always has a JSON body")
    return str(args.body).encode("utf-8")


def _print_headers(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        if name.lower() != "content-type":
            print(f"{name}: {value}")


def _now(args: argparse.Namespace) -> int:
    return args.timestamp if args.timestamp is not None else int(time.time())


def _server_key(args: argparse.Namespace) -> pgos.ServerKey:
    """The PGOS server key given. Raises UsageError when it is not shaped ID-XXXX-..."""
    try:
        return pgos.split_server_key(_secret_arg(args))
    except ConfigError as exc:
        raise UsageError(f"--secret: {exc.problems[0]}") from exc


def sign_jogos(args: argparse.Namespace) -> int:
    """`sign jogos`: Authorization over the exact body. Raises UsageError."""
    body = _body_arg(args)
    _print_headers(jogos.signed_headers(body, _secret_arg(args)))
    return 0


def sign_pgos_ticket(args: argparse.Namespace) -> int:
    """`sign pgos-ticket`: the Backend form, or the CLI form with --cli. Raises UsageError."""
    if args.cli and not args.title_id:
        raise UsageError("--title-id is required with --cli (the CLI ticket names the title)")
    if not args.cli and not args.title_region_id:
        raise UsageError("--title-region-id is required (the Backend ticket names the region)")
    key = _server_key(args)
    if args.cli:
        _print_headers(pgos.cli_headers(key, title_id=args.title_id,
                                        title_region_id=args.title_region_id, time_s=_now(args)))
    else:
        _print_headers(pgos.backend_headers(key, title_id=args.title_id or "",
                                            title_region_id=args.title_region_id,
                                            time_s=_now(args)))
    return 0


def sign_pgos_title(args: argparse.Namespace) -> int:
    """`sign pgos-title`: the title-wide Timestamp and Signature. Raises UsageError."""
    _print_headers(pgos.title_headers(_server_key(args), title_id=args.title_id,
                                      timestamp_s=_now(args)))
    return 0


def sign_s2s(args: argparse.Namespace) -> int:
    """The yac-* service-to-service schemes. Raises UsageError."""
    kind = S2S_SCHEMES[args.scheme]
    secret = private_key = None
    try:
        if kind is s2s.Scheme.ECDSA:
            private_key = s2s.load_ec_key(_secret_arg(args))
        else:
            secret = _secret_arg(args)
        headers = s2s.request_headers(
            kind, client_id=args.client_id, timestamp_s=_now(args),
            nonce=args.nonce or secrets.token_hex(8), pathname=getattr(args, "path", "/"),
            secret=secret, private_key=private_key)
    except ConfigError as exc:
        raise UsageError(f"--secret: {exc.problems[0]}") from exc
    except TypeError as exc:
        raise UsageError("--secret-file: an ECDSA private key is needed, not a public one") \
            from exc
    _print_headers(headers)
    return 0


def sign_signed_headers(args: argparse.Namespace) -> int:
    """The signed-headers scheme: parameters, then `sign:`. Raises UsageError."""
    params: dict[str, object] = {}
    for pair in args.param:
        name, eq, value = pair.partition("=")
        if not eq or not name:
            raise UsageError(f"--param {pair!r}: expected NAME=VALUE")
        params[name] = value
    params.setdefault("timestamp", _now(args))
    app_secret = _secret_arg(args)
    for name, value in params.items():
        print(f"{name}: {value}")
    print(f"sign: {signed_headers.sign(params, app_secret)}")
    return 0


def _secret_flags(parser: argparse.ArgumentParser, what: str) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--secret", help=f"the {what} (visible in the process list)")
    group.add_argument("--secret-file", metavar="FILE", help=f"read the {what} from a file")
    parser.add_argument("--timestamp", type=int, help="Unix time to use instead of now")


def add_sign(sub: Any) -> None:
    """Register `sign SCHEME` on the top-level subparsers, one sub-command per scheme."""
    sign = sub.add_parser(
        "sign", help="print the auth headers of a request (curl-ready)",
        description="Print the headers of a signed request as 'Name: value' lines, one "
        "scheme per sub-command, each with only its own flags (`reconciler sign SCHEME -h`).")
    schemes = sign.add_subparsers(dest="scheme", required=True, metavar="SCHEME")
    jogos_cmd = schemes.add_parser(
        "jogos", help="Jogos Authorization over the exact body",
        description="Jogos API and notification signature over the exact body bytes.")
    body = jogos_cmd.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", help="the request body (exact bytes are signed)")
    body.add_argument("--body-file", metavar="FILE", help="read the body from a file ('-' for "
                      "standard input)")
    _secret_flags(jogos_cmd, "game's shared key")
    jogos_cmd.set_defaults(handler=sign_jogos)
    ticket = schemes.add_parser(
        "pgos-ticket", help="PGOS ServerTicket (Backend, or CLI with --cli)",
        description="PGOS headers with an AES ServerTicket: the Backend API's title-region "
        "form, or with --cli the CLI API's (which names the title).")
    ticket.add_argument("--cli", action="store_true", help="the CLI form (needs --title-id)")
    ticket.add_argument("--title-id", help="PGOS title id (required with --cli)")
    ticket.add_argument("--title-region-id", help="PGOS title region id (required without "
                        "--cli)")
    _secret_flags(ticket, "server key ID-XXXX-XXXX-XXXX-XXXX")
    ticket.set_defaults(handler=sign_pgos_ticket)
    title = schemes.add_parser(
        "pgos-title", help="PGOS title-wide Timestamp and Signature",
        description="PGOS Backend title-wide headers (Timestamp, sha256 Signature).")
    title.add_argument("--title-id", required=True, help="PGOS title id")
    _secret_flags(title, "server key ID-XXXX-XXXX-XXXX-XXXX")
    title.set_defaults(handler=sign_pgos_title)
    for scheme, what in (("s2s-hmac", "client secret (Base64)"),
                         ("s2s-ecdsa", "ECDSA P-256 private key (PEM)"),
                         ("s2s-basic", "client secret"), ("s2s-api-key", "api key")):
        s2s_cmd = schemes.add_parser(
            scheme, help=f"service-to-service yac-* headers ({scheme[4:]})",
            description=f"Service-to-service yac-* headers signed with the {what}.")
        s2s_cmd.add_argument("--client-id", required=True, help="yac-client-id")
        if scheme in ("s2s-hmac", "s2s-ecdsa"):
            s2s_cmd.add_argument("--path", default="/", help="the request's path name")
        s2s_cmd.add_argument("--nonce", help="nonce to use instead of a random one")
        _secret_flags(s2s_cmd, what)
        s2s_cmd.set_defaults(handler=sign_s2s)
    signed = schemes.add_parser(
        "signed-headers", help="signed request headers (MD5 `sign`)",
        description="The signed-request-headers scheme: each parameter, then `sign`.")
    signed.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter (repeat)")
    _secret_flags(signed, "app secret")
    signed.set_defaults(handler=sign_signed_headers)
