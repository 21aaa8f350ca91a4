"""`reconciler order` and `reconciler retry`: an operator reads an order's story and sends
what waits for attention back to work, from the local ledger.

Rules: both read only the ledger's path from the configuration (no secret needed), and never
create a ledger: a missing file is an error. `retry` re-queues (effects in `attention` become
`failed`, core.states.REQUEUE); the next pass or the daemon's drain re-sends them with the
payload and idempotency token first recorded. `retry --now` (which needs the whole
configuration) settles the re-queued orders at once, from the ledger's record of them, and
exits 0 when they settled, 3 when something still needs attention. Orders waiting for a
catalog entry or a player link need no retry: every pass plans them again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.config import load_config
from reconciler.config.partial import load_settings
from reconciler.config.schema import BY_ENV
from reconciler.core.models import RefundStatus
from reconciler.engine.passes import open_engine, settle_orders
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.ledger import Ledger

KINDS = ("grant", "arrived", "revoke")
SHOWN = 20


def open_ledger(config_path: str | None) -> Ledger:
    """The existing ledger named by ledger.path / RECONCILER_DB (a file, or a PostgreSQL URL
    with RECONCILER_DB_PASSWORD when one is configured).

    Raises ConfigError when a setting is invalid or the file does not exist.
    """
    names = ["RECONCILER_DB"] + [n for n in ("RECONCILER_DB_PASSWORD",) if n in BY_ENV]
    values = load_settings(names, config_path)
    location = str(values["RECONCILER_DB"])
    password = values.get("RECONCILER_DB_PASSWORD")
    if location.startswith(("postgresql://", "postgres://")):
        return Ledger.open(location, password=password.reveal() if password else None)
    if not Path(location).exists():
        raise ConfigError(f"ledger.path / RECONCILER_DB: {location} does not exist (has a pass "
                          "run with this configuration?)")
    return Ledger.open(location)


def when(seconds: object) -> str:
    """A Unix time as a UTC date and time, or '-'."""
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return "-"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def story_lines(story: dict[str, Any]) -> list[str]:
    """An order's story (the ledger's read model, or the ops API's answer) as text."""
    o = story["order"]
    refund = o.get("refund_status")
    refund_text = "none" if refund is None else \
        f"{RefundStatus(refund).name.lower()} at {when(o.get('refund_time_s'))}"
    lines = [
        f"order {o['game_id']}/{o['order_id']}",
        f"  store    user {o['user_id']}, product {o['product_id']}, paid "
        f"{when(o.get('pay_time_s'))}, delivered {'yes' if o.get('arrived_status') else 'no'}, "
        f"refund {refund_text}",
        f"  ledger   first seen {when(o.get('first_seen_s'))}, changed "
        f"{when(o.get('changed_s'))}, adopted {'yes' if o.get('adopted') else 'no'}, "
        f"attention {o.get('attention') or '-'}",
    ]
    lines.append("  effects" if story["effects"] else "  effects  none")
    for e in story["effects"]:
        kind = e["id"].split(":", 1)[0]
        attempts = f"{e['attempts']} attempt{'s' * (e['attempts'] != 1)}"
        player = f", player {e['player_id']}" if e.get("player_id") else ""
        error = f", last error: {e['last_error']}" if e.get("last_error") else ""
        lines.append(f"    {kind:<8} {e['state']:<10} {attempts}{player}{error}")
    lines.append("  notifications" if story["notifications"] else "  notifications  none")
    for n in story["notifications"]:
        detail = f" ({n['detail']})" if n.get("detail") else ""
        lines.append(f"    {when(n['received_s'])}  {n['paytype']:<8} {n['status']}{detail}")
    return lines


def cmd_order(args: argparse.Namespace) -> int:
    """Print an order's story from the local ledger. Exit 0, or 1 when it is not there.

    Raises ConfigError (no ledger), LedgerError, ReconcilerError (an unknown order).
    """
    ledger = open_ledger(args.config)
    try:
        story = ledger.story(args.game, args.order)
    finally:
        ledger.close()
    if story is None:
        raise ReconcilerError(f"order {args.game}/{args.order} is not in the ledger")
    if args.format == "json":
        print(json.dumps(story, indent=2, sort_keys=True, default=str))
    else:
        print("\n".join(story_lines(story)))
    return 0


def _requeue(ledger: Ledger, args: argparse.Namespace) -> list[tuple[int, str]]:
    """Re-queue and say what was done; returns the orders to settle (re-queued or already
    failed)."""
    games, orders, kinds = args.game or [], args.order or [], args.kind or []
    moved = ledger.requeue(games, orders, kinds, int(time.time()))
    failed = ledger.failed_keys(games, orders, kinds)
    if moved:
        print(f"re-queued {len(moved)} effect{'s' * (len(moved) != 1)} (attention -> failed):")
        for effect_id, _, _ in moved[:SHOWN]:
            print(f"  {effect_id}")
        if len(moved) > SHOWN:
            print(f"  ... and {len(moved) - SHOWN} more")
    else:
        print("no effect waits for attention" + (" among those asked for" if
                                                  games or orders or kinds else ""))
    return sorted({(g, o) for _, g, o in moved} | set(failed))


def cmd_retry(args: argparse.Namespace) -> int:
    """Re-queue effects waiting for attention; with --now settle them at once.
    Exit 0 (settled or queued), 3 when --now left something needing attention.

    Raises ConfigError, LedgerError, UpstreamError (with --now).
    """
    if not args.now:
        ledger = open_ledger(args.config)
        try:
            keys = _requeue(ledger, args)
        finally:
            ledger.close()
        if keys:
            print(f"{len(keys)} order{'s' * (len(keys) != 1)} queued: the next pass or the "
                  "daemon's drain re-sends them (or run `reconciler retry --now`)")
        return 0
    config = load_config(args.config)

    async def go() -> int:
        async with open_engine(config) as engine:
            keys = _requeue(engine.ledger, args)
            if not keys:
                return 0
            outcomes: Counter[str] = await settle_orders(engine, engine.ledger.orders(keys))
            done = sum(n for k, n in outcomes.items() if k.endswith(":done"))
            rest = {k: n for k, n in outcomes.items() if not k.endswith(":done")}
            print(f"settled now: {done} done" + "".join(f", {k}={n}" for k, n in rest.items()))
            return 3 if rest else 0

    return asyncio.run(go())


def add_order(sub: Any) -> None:
    """Register `order` on the top-level subparsers."""
    order = sub.add_parser(
        "order", help="an order's story from the local ledger",
        description="Print what the local ledger knows of one order: the store's last word, "
        "the ledger's flags, every effect (state, attempts, player, last error) and every "
        "notification. Needs only ledger.path. Exit 0, 1 when the order is not there.")
    order.add_argument("game", type=int, help="Jogos game id")
    order.add_argument("order", help="Jogos order id")
    order.add_argument("--format", choices=("text", "json"), default="text",
                       help="text, or the ledger's JSON (as GET /ops/orders answers)")
    order.set_defaults(handler=cmd_order)


def add_retry(sub: Any) -> None:
    """Register `retry` on the top-level subparsers."""
    retry = sub.add_parser(
        "retry", help="re-queue effects waiting for attention (after a fix)",
        description="After fixing what stopped them (a key, a PGOS setting, a player's "
        "balance), send effects waiting for attention back to work: they become `failed`, "
        "and the next pass or the daemon's drain re-sends them with the payload and "
        "idempotency token first recorded. Without filters every such effect is re-queued. "
        "--now settles them at once (exit 0 when they settled, 3 when something still "
        "needs attention). Orders waiting for a catalog entry or a player link need no "
        "retry: every pass plans them again.")
    retry.add_argument("--order", action="append", metavar="ORDER",
                       help="only this order (repeat for more)")
    retry.add_argument("--kind", action="append", choices=KINDS,
                       help="only effects of this kind (repeat for more)")
    retry.add_argument("--game", action="append", type=int, metavar="GAME",
                       help="only this game (repeat for more)")
    retry.add_argument("--now", action="store_true",
                       help="settle the re-queued orders now (needs the whole configuration)")
    retry.set_defaults(handler=cmd_retry)
