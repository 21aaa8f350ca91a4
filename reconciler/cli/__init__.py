"""The `reconciler` command line: parse arguments, call the library, print, exit.

Rules: a thin face, one module per concern (`signing`, `passes`, `service`, `ledger_tools`,
`operator`, `ops`, `pgos`), each registering its own sub-commands; this module only wires the
parser, sets up logging and hands every failure to `failures`, which turns it into one clear
line and an exit status: 0 ok, 1 error, 2 usage, 3 needs attention (passes, audit), 130
interrupted. No traceback, no secret. Every command has a description and shows its defaults.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from reconciler import __version__
from reconciler.cli.catch_up import add_catch_up
from reconciler.cli.failures import report
from reconciler.cli.ledger_migrate import add_ledger
from reconciler.cli.ledger_tools import add_players
from reconciler.cli.operator import add_order, add_retry
from reconciler.cli.ops import add_ops
from reconciler.cli.passes import add_audit, add_demo
from reconciler.cli.pgos import add_pgos
from reconciler.cli.service import add_check, add_config, add_run, add_sandbox
from reconciler.cli.signing import add_sign
from reconciler.logs import LEVELS, setup_logging

Handler = Callable[[argparse.Namespace], int]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default unless it has none (None, False) or its help names it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, [], argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An argument parser whose help shows defaults and which remembers its own name (for a
    usage error raised after parsing)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.set_defaults(cli_prog=self.prog)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command, in the order `--help` lists them."""
    parser = Parser(
        prog="reconciler",
        description="Keep Jogos orders, the local ledger and PGOS inventories in agreement. "
        "Start with `reconciler demo`: a sandbox of simulated Jogos and PGOS servers and "
        "three passes (grant, revoke the refunds, nothing left to do).",
        epilog="Exit status: 0 ok, 1 error, 2 usage error, 3 something needs attention "
        "(catch-up, audit, retry), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}")
    parser.add_argument(
        "--config", metavar="FILE", help="TOML configuration (default: $RECONCILER_CONFIG)"
    )
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="log lines as text or JSON (for journald or a collector)")
    parser.add_argument("--log-level", default="INFO", type=str.upper, choices=LEVELS,
                        help="the least severe log lines shown")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=Parser)
    for add in (add_demo, add_catch_up, add_run, add_check, add_config, add_order, add_retry,
                add_ops, add_audit, add_players, add_ledger, add_sign, add_pgos, add_sandbox):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status (see the module's rules).

    Raises SystemExit for --help, --version and argparse's usage errors (exit status 2).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        setup_logging(args.log_format, args.log_level)
        handler: Handler = args.handler
        return handler(args)
    except (Exception, KeyboardInterrupt) as exc:  # every failure: one line, its status
        return report(exc, prog=getattr(args, "cli_prog", "reconciler"),
                      json_lines=args.log_format == "json")
