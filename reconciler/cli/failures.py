"""How a command that fails says so: one clear line (or one per problem), its exit status.

Rules: every failure ends here, never as a traceback. Exit statuses: 1 for errors
(configuration, a remote system, the ledger, a bad input file, a port taken), 2 for usage
errors (argparse's own and UsageError), 130 when interrupted (Ctrl-C). With `--log-format
json` a failure is one JSON log line (fields `problems` and `exit_status`), so a collector
never meets raw text. An unexpected exception (our bug) keeps its traceback only where a
collector files it (a JSON field) or at DEBUG; the terminal gets one line.
"""

from __future__ import annotations

import logging
import sys

from reconciler.errors import (
    ConfigError,
    InputError,
    InvariantError,
    ReconcilerError,
    UsageError,
)

log = logging.getLogger("reconciler.cli")

ERROR, USAGE, INTERRUPTED = 1, 2, 130


def describe(exc: BaseException, prog: str) -> tuple[int, str, list[str]]:
    """The exit status, the heading and the problem lines of a failure."""
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, "interrupted", []
    if isinstance(exc, UsageError):
        return USAGE, f"{prog}: error: {exc}", []
    if isinstance(exc, ConfigError):
        return ERROR, "configuration error:", exc.problems
    if isinstance(exc, InputError):
        return ERROR, f"{exc.subject}: nothing done:", exc.problems
    if isinstance(exc, InvariantError):
        return ERROR, f"internal error (a bug, please report it): {exc}", []
    if isinstance(exc, ReconcilerError):
        return ERROR, f"error: {exc}", []
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        reason = exc.strerror or str(exc) or type(exc).__name__
        return ERROR, f"error:{where} {reason}", []
    return ERROR, (f"internal error (a bug, please report it): {type(exc).__name__}: {exc} "
                   "(--log-level DEBUG shows the traceback)"), []


def report(exc: BaseException, *, prog: str, json_lines: bool) -> int:
    """Say why the command failed (stderr, or a JSON log line); returns the exit status."""
    status, heading, problems = describe(exc, prog)
    unexpected = not isinstance(exc, ReconcilerError | OSError | KeyboardInterrupt)
    if json_lines:
        log.error(heading.rstrip(":"), exc_info=exc if unexpected else None,
                  extra={"problems": problems, "exit_status": status})
        return status
    if unexpected:
        log.debug("traceback of the failure", exc_info=exc)
    print(heading, file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    return status
