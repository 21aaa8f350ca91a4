"""The `reconciler` command line: parse arguments, call the library, print, exit.

Rules: a thin face, one module per concern (`signing`, `passes`, `service`, `ledger_tools`,
`pgos`), each registering its own sub-commands; this module only wires the parser, sets up
logging and turns errors into exit statuses. Errors of the ReconcilerError family end the
command with a clear message and exit status 1 (2 for usage errors, from argparse); no
traceback, no secret.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from reconciler import __version__
from reconciler.cli.ledger_migrate import add_ledger
from reconciler.cli.ledger_tools import add_players
from reconciler.cli.passes import add_audit, add_catch_up, add_demo
from reconciler.cli.pgos import add_pgos
from reconciler.cli.service import add_check, add_config, add_run, add_sandbox
from reconciler.cli.signing import add_sign
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.logs import setup_logging

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command, in the order `--help` lists them."""
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
    for add in (add_sign, add_sandbox, add_catch_up, add_players, add_pgos, add_demo, add_audit,
                add_run, add_check, add_config, add_ledger):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit status.

    Raises SystemExit for --help, --version and usage errors (argparse's exit status 2).
    """
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
