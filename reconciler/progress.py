"""Progress of a pass on a terminal (one redrawn line) or as periodic log lines.

Rules: this is presentation only; it never changes what a pass does.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger("reconciler.progress")


class TerminalProgress:
    """A one-line bar on a terminal, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self._last = 0.0
        self._pages = (0, 0)
        self._effects = (0, 0)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        pages_done, pages_known = self._pages
        effects_done, effects_total = self._effects
        width = 24
        share = pages_done / pages_known if pages_known else 0.0
        if effects_total:
            share = effects_done / effects_total
        bar = "#" * int(share * width)
        self.stream.write(f"\r[{bar:<{width}}] pages {pages_done}/{pages_known}  "
                          f"effects {effects_done}/{effects_total}   ")
        self.stream.flush()

    def pages(self, done: int, known: int) -> None:
        """Record pages read."""
        self._pages = (done, known)
        self._draw(done >= known)

    def effects(self, done: int, total: int) -> None:
        """Record effects settled."""
        self._effects = (done, total)
        self._draw(done >= total)

    def close(self) -> None:
        """End the line."""
        self._draw(force=True)
        self.stream.write("\n")
        self.stream.flush()


class LogProgress:
    """A log line at most every `every_s` seconds (for journald and pipes)."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.every_s = every_s
        self._last = 0.0

    def _maybe(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s or done >= total:
            self._last = now
            log.info("%s %d/%d", what, done, total)

    def pages(self, done: int, known: int) -> None:
        """Log pages read."""
        self._maybe("pages", done, known)

    def effects(self, done: int, total: int) -> None:
        """Log effects settled."""
        self._maybe("effects", done, total)

    def close(self) -> None:
        """Nothing to end."""
