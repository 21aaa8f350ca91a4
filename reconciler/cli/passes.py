"""`reconciler demo` and `audit`: the sandbox's demo, the audit report (`catch-up` is in
`catch_up`).

Rules: thin: parse, load the configuration, call the engine, print. Exit 0 when the audit is
within its threshold, 3 above it, 1 on error (`main` turns a ReconcilerError into 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.cli.args import positive
from reconciler.config import load_config
from reconciler.core.jsontext import is_number
from reconciler.engine.passes import open_engine


def cmd_demo(args: argparse.Namespace) -> int:
    """README's first command: the sandbox and three full passes.

    Raises ReconcilerError when a pass fails.
    """
    from reconciler.demo import prepare, run_demo

    folder = Path(args.folder)
    catalog = prepare(folder)
    return asyncio.run(run_demo(folder, catalog.resolve(), args.orders, args.seed))


def parse_time(text: str | None, flag: str) -> int | None:
    """A Unix time from digits or a YYYY-MM-DD[THH:MM[:SS]] UTC date.

    Raises ValueError (naming the flag) when it is neither.
    """
    if text is None:
        return None
    if is_number(text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{flag} {text!r}: expected YYYY-MM-DD or a Unix time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def output_problem(output: str) -> str | None:
    """Why a report cannot be written to `output` (a folder, no such folder, not writable),
    or None when it can."""
    target = Path(output)
    folder = target.parent
    if target.is_dir():
        return f"--output {output}: is a folder, not a file"
    if not folder.is_dir():
        return f"--output {output}: the folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK) or (
            target.exists() and not os.access(target, os.W_OK)):
        return f"--output {output}: not writable"
    return None


def audit_arguments(args: argparse.Namespace) -> tuple[int | None, int | None]:
    """The audit's period from `--since`/`--until`, after checking every flag the audit
    takes, before anything runs.

    Raises ValueError with one line for the operator: a date that is not one, an empty or
    inverted period, a negative threshold, an output that cannot be written.
    """
    since_s, until_s = parse_time(args.since, "--since"), parse_time(args.until, "--until")
    if since_s is not None and until_s is not None and since_s >= until_s:
        raise ValueError(f"--since {args.since} is not before --until {args.until}: the "
                         "period [since, until) would be empty")
    if args.threshold < 0:
        raise ValueError(f"--threshold {args.threshold}: must be 0 or more (discrepancies "
                         "tolerated)")
    problem = output_problem(args.output) if args.output else None
    if problem is not None:
        raise ValueError(problem)
    return since_s, until_s


def cmd_audit(args: argparse.Namespace) -> int:
    """Three-way audit report. Exit 0 within the threshold, 3 above it, 2 for a bad flag
    (one line, before anything runs), 1 on error.

    Raises ConfigError (configuration, a report that cannot be written) and UpstreamError (a
    book unreadable).
    """
    from reconciler.engine.audit import audit_report
    from reconciler.report import render

    try:
        since_s, until_s = audit_arguments(args)
    except ValueError as exc:
        print(f"reconciler audit: error: {exc}", file=sys.stderr)
        return 2
    config = load_config(args.config)

    async def go() -> dict[str, object]:
        async with open_engine(config) as engine:
            return await audit_report(engine, since_s=since_s, until_s=until_s,
                                      threshold=args.threshold)

    doc = asyncio.run(go())
    text = render(doc, args.format)
    if args.output:
        from reconciler.private_files import write_private

        write_private(Path(args.output), text)  # 0600: a report names orders and players
        print(f"audit: {doc['status']}, {doc['total']} discrepancies -> {args.output}")
    else:
        sys.stdout.write(text)
    return 0 if doc["status"] == "ok" else 3


def add_demo(sub: Any) -> None:
    """Register `demo` on the top-level subparsers."""
    demo = sub.add_parser(
        "demo", help="the sandbox and three full passes against it",
        description="Start simulated Jogos and PGOS servers on loopback with generated "
        "orders, then run three passes: the first grants and marks delivered every paid "
        "order, refunds arrive and the second revokes them, the third finds nothing to do.")
    demo.add_argument("--orders", type=positive, default=5000, help="orders to generate")
    demo.add_argument("--seed", type=int, default=1, help="seed of the generated orders")
    demo.add_argument("--folder", default="state/demo", help="where the demo's files go")
    demo.set_defaults(handler=cmd_demo)


def add_audit(sub: Any) -> None:
    """Register `audit` on the top-level subparsers."""
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
