"""Progress of a pass: a live bar on a terminal (rich), or periodic log lines elsewhere.

Rules: presentation only; it never changes what a pass does. On a terminal the bar is drawn by
rich's live display, which takes over `sys.stderr` while it runs, so a log line written during
the pass (logs.setup_logging writes to whatever `sys.stderr` is at that moment) is printed above
the bar, never onto it. `close()` ends the display whatever happened.
"""

from __future__ import annotations

import logging
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

log = logging.getLogger("reconciler.progress")


class TerminalProgress:
    """Two bars (pages read, effects settled) redrawn by rich on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._bar = Progress(TextColumn("{task.description:<8}"), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                             redirect_stderr=True, redirect_stdout=False)
        self._pages = self._bar.add_task("pages", total=None)
        self._effects = self._bar.add_task("effects", total=None, visible=False)
        self._bar.start()

    def pages(self, done: int, known: int) -> None:
        """Record pages read."""
        self._bar.update(self._pages, completed=done, total=known)

    def effects(self, done: int, total: int) -> None:
        """Record effects settled."""
        self._bar.update(self._effects, completed=done, total=total, visible=True)

    def close(self) -> None:
        """Stop the live display, leaving the last state of the bars on screen."""
        self._bar.stop()


class LogProgress:
    """A log line at most every `every_s` seconds (for journald and pipes)."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.every_s = every_s
        self._last = 0.0

    def _maybe(self, what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s or done >= total:
            self._last = now
            log.info("%s %d/%d", what, done, total, extra={what: done, f"{what}_total": total})

    def pages(self, done: int, known: int) -> None:
        """Log pages read."""
        self._maybe("pages", done, known)

    def effects(self, done: int, total: int) -> None:
        """Log effects settled."""
        self._maybe("effects", done, total)

    def close(self) -> None:
        """Nothing to end."""
