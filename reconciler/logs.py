"""Logging set-up: plain text or one JSON object per line, with journald priorities.

Rules: configured once, by the command line; modules only call logging.getLogger(__name__)
and pass figures as `extra={...}`, which JSON lines carry as fields of their own. A record with
an exception keeps its traceback (JSON: `exc_type`, `exc`, `traceback`). Under systemd
(`JOURNAL_STREAM` set) each line starts with its syslog priority `<N>`, which journald strips
and files, so `journalctl -p warning` filters. Records go to whatever `sys.stderr` is when they
are written, so a live progress bar that takes over stderr keeps them above itself.
APScheduler's chatter is kept at WARNING.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from reconciler.errors import ConfigError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
            logging.CRITICAL: 2}
STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}
QUIET = ("apscheduler", "aiohttp.access")


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra={...}` fields of a record (anything not a standard LogRecord attribute)."""
    return {k: v for k, v in vars(record).items() if k not in STANDARD and not k.startswith("_")}


def priority(level: int) -> int:
    """The syslog priority of a logging level (7 debug ... 2 critical)."""
    for threshold in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if level >= threshold:
            return PRIORITY[threshold]
    return PRIORITY[logging.DEBUG]


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in fields(record).items():
            doc.setdefault(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            doc["exc_type"] = record.exc_info[0].__name__
            doc["exc"] = str(record.exc_info[1])
            doc["traceback"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the `sys.stderr` of the moment (rich's live display redirects it)."""

    def __init__(self, journald: bool) -> None:
        super().__init__(sys.stderr)
        self.journald = journald

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if self.journald:
            prefix = f"<{priority(record.levelno)}>"
            text = "\n".join(prefix + line for line in text.split("\n"))
        return text


def under_journald() -> bool:
    """True when stderr is the journal stream systemd announced in JOURNAL_STREAM."""
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return device.isdigit() and inode.isdigit() and \
        (st.st_dev, st.st_ino) == (int(device), int(inode))


def setup_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Send logs to stderr as text or JSON at `level`.

    Raises ConfigError for an unknown format or level.
    """
    if fmt not in ("text", "json"):
        raise ConfigError(f"--log-format: must be text or json, got {fmt!r}")
    if level.upper() not in LEVELS:
        raise ConfigError(f"--log-level: must be one of {', '.join(LEVELS)}, got {level!r}")
    handler = CurrentStderrHandler(journald=under_journald())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
