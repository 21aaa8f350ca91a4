"""`reconciler ops pass|order|audit`: call a running daemon's operations API, signed.

Rules: the request is signed with the configured ops client (`OPS_CLIENT_ID` and the first of
`OPS_HMAC_SECRET`, `OPS_BASIC_SECRET`, `OPS_API_KEY`), a fresh nonce and the current time, over
the exact path sent; nothing else of the configuration is read (no Jogos or PGOS secret is
needed). One attempt, no retry. Exit 0 when the daemon answered 2xx, 1 otherwise (the reason
named: unreachable, unauthorized, not found, not accepting work).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from typing import Any
from urllib.parse import quote

import aiohttp

from reconciler.auth import s2s
from reconciler.cli.operator import story_lines
from reconciler.cli.service import daemon_base
from reconciler.clients.http import network_reason
from reconciler.config.partial import load_settings
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.secret import Secret

SETTINGS = ("RECONCILER_LISTEN", "OPS_CLIENT_ID", "OPS_HMAC_SECRET", "OPS_BASIC_SECRET",
            "OPS_API_KEY")
SCHEMES = (("OPS_HMAC_SECRET", s2s.Scheme.HMAC), ("OPS_BASIC_SECRET", s2s.Scheme.BASIC),
           ("OPS_API_KEY", s2s.Scheme.API_KEY))


def signer(values: dict[str, Any]) -> tuple[str, s2s.Scheme, Secret]:
    """The ops client id, the scheme it signs with and its secret.

    Raises ConfigError when no ops client or credential is configured.
    """
    client_id = values.get("OPS_CLIENT_ID")
    if not client_id:
        raise ConfigError("ops.client_id / OPS_CLIENT_ID: is required for `reconciler ops`")
    for name, scheme in SCHEMES:
        secret = values.get(name)
        if isinstance(secret, Secret):
            return str(client_id), scheme, secret
    raise ConfigError("ops: `reconciler ops` signs with OPS_HMAC_SECRET, OPS_BASIC_SECRET or "
                      "OPS_API_KEY; none is set (an ECDSA public key only verifies)")


async def call(method: str, base: str, path: str, values: dict[str, Any],
               timeout_s: float) -> tuple[int, Any]:
    """Send one signed request; returns the status and the parsed JSON answer.

    Raises ConfigError without credentials, ReconcilerError when the daemon is unreachable.
    """
    client_id, scheme, secret = signer(values)
    headers = s2s.request_headers(scheme, client_id=client_id, timestamp_s=int(time.time()),
                                  nonce=secrets.token_hex(12), pathname=path,
                                  secret=secret.reveal())
    url = base.rstrip("/") + path
    try:
        async with aiohttp.ClientSession() as session, session.request(
                method, url, headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            text = await response.text()
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise ReconcilerError(f"ops: {network_reason(url, exc, timeout_s)}") from exc
    try:
        return status, json.loads(text)
    except ValueError:
        return status, {"error": text.strip()[:200]}


def cmd_ops(args: argparse.Namespace) -> int:
    """Call the daemon's ops API; print its answer. Exit 0 on 2xx, 1 otherwise.

    Raises ConfigError (settings, credentials), ReconcilerError (unreachable).
    """
    values = load_settings(SETTINGS, args.config)
    base = args.url or daemon_base(str(values["RECONCILER_LISTEN"]))
    if args.ops_command == "pass":
        method, path = "POST", "/ops/pass"
    elif args.ops_command == "order":
        method, path = "GET", f"/ops/orders/{args.game}/{quote(args.order, safe='')}"
    else:
        method, path = "GET", "/ops/audit/latest"
    status, answer = asyncio.run(call(method, base, path, values, args.timeout_s))
    if not 200 <= status < 300:
        reason = answer.get("error") if isinstance(answer, dict) else answer
        hint = " (check OPS_CLIENT_ID and its secret against the daemon's)" \
            if status == 401 else ""
        raise ReconcilerError(f"ops {args.ops_command}: the daemon answered {status}: "
                              f"{reason}{hint}")
    if args.ops_command == "order" and args.format == "text":
        print("\n".join(story_lines(answer)))
    elif args.ops_command == "pass" and args.format == "text":
        print("pass triggered on the daemon (its figures: `journalctl -u reconciler`, "
              "/metrics)")
    else:
        print(json.dumps(answer, indent=2, sort_keys=True))
    return 0


def add_ops(sub: Any) -> None:
    """Register `ops pass`, `ops order` and `ops audit` on the top-level subparsers."""
    ops = sub.add_parser(
        "ops", help="call a running daemon's ops API (signed)",
        description="Call a running daemon's operations API, signed with the configured ops "
        "client (OPS_CLIENT_ID with OPS_HMAC_SECRET, OPS_BASIC_SECRET or OPS_API_KEY). "
        "Exit 0 when the daemon answered 2xx, 1 otherwise.")
    ops_sub = ops.add_subparsers(dest="ops_command", required=True, metavar="OPS_COMMAND")

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--url", help="the daemon's base URL (default: from "
                            "daemon.listen, e.g. http://127.0.0.1:8080)")
        parser.add_argument("--timeout-s", type=float, default=10.0, help="seconds to wait")
        parser.add_argument("--format", choices=("text", "json"), default="text",
                            help="text, or the daemon's JSON answer")
        parser.set_defaults(handler=cmd_ops)

    common(ops_sub.add_parser(
        "pass", help="run a pass now (POST /ops/pass)",
        description="Ask the daemon to start a full pass now (one at a time)."))
    order = ops_sub.add_parser(
        "order", help="an order's story (GET /ops/orders/GAME/ORDER)",
        description="The daemon's story of one order (from its ledger).")
    order.add_argument("game", type=int, help="Jogos game id")
    order.add_argument("order", help="Jogos order id")
    common(order)
    common(ops_sub.add_parser(
        "audit", help="the latest audit's summary (GET /ops/audit/latest)",
        description="The summary of the daemon's latest audit run."))
