"""`reconciler catch-up`: one full pass now, or its plan (`--dry-run`), and what needs a person.

Rules: thin: load the configuration, run the engine's pass, print. Exit 0 when everything
settled, 3 when something needs attention (a dry run exits as the real pass would), 1 on
error, 2 on usage errors, 130 when interrupted. Ctrl-C stops starting work: orders under way
finish (a second Ctrl-C cuts them short; what was claimed stays in flight for the next pass),
the run is recorded as `interrupted`. At the end every attention item, unsettled effect and
quarantined row is listed with its order id and cause (the first `--problems`, then a count).
The figures print once: on a terminal where the pass's own INFO line already shows them, the
closing line is not repeated. The progress display is a live bar on a terminal, log lines
otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections import Counter
from typing import Any

from reconciler.cli.args import non_negative
from reconciler.cli.passes import parse_time
from reconciler.concurrency import freeze_startup_objects
from reconciler.config import load_config
from reconciler.core.plan import ActionKind
from reconciler.core.states import EffectState
from reconciler.engine.passes import (
    Engine,
    PassReport,
    describe,
    open_engine,
    run_pass,
    summary_line,
)
from reconciler.engine.scan import Scope
from reconciler.errors import UsageError
from reconciler.ledger.problems import Problem
from reconciler.progress import LogProgress, TerminalProgress

log = logging.getLogger("reconciler.cli")
SETTLED, ATTENTION, INTERRUPTED = 0, 3, 130


class Watched:
    """A progress display that also tells whether the pass has started acting."""

    def __init__(self) -> None:
        self.inner = TerminalProgress() if sys.stderr.isatty() else LogProgress()
        self.acting = False

    def pages(self, done: int, known: int) -> None:
        """Pages read so far."""
        self.inner.pages(done, known)

    def effects(self, done: int, total: int) -> None:
        """Effects settled so far (the pass is acting)."""
        self.acting = True
        self.inner.effects(done, total)

    def close(self) -> None:
        """End the display."""
        self.inner.close()


async def _run_interruptible(engine: Engine, dry_run: bool,
                             scope: Scope | None = None) -> PassReport | None:
    """The pass, with Ctrl-C handled: the first stops new work (and cancels a pass still
    reading, which has nothing under way), the second cancels. None when cancelled.

    Raises what the pass raises (ReconcilerError ...).
    """
    loop, progress, interrupts = asyncio.get_running_loop(), Watched(), [0]
    task = asyncio.create_task(run_pass(engine, dry_run=dry_run, progress=progress,
                                        scope=scope))

    def interrupted() -> None:
        interrupts[0] += 1
        engine.stopping.set()
        if interrupts[0] > 1 or not progress.acting:
            task.cancel()
            log.warning("interrupted: stopping now; what was claimed stays in flight for "
                        "the next pass")
        else:
            log.warning("interrupted: finishing the orders under way (Ctrl-C again to stop "
                        "at once)")

    loop.add_signal_handler(signal.SIGINT, interrupted)
    try:
        return await task
    except asyncio.CancelledError:
        if not interrupts[0]:
            raise
        return None
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        progress.close()


def plan_rows(report: PassReport) -> list[tuple[str, str, int]]:
    """(action, reason, count) of a plan, in the order actions run: counts per kind from the
    pass's figures (every action planned), split by reason when the report kept them all."""
    figures = report.figures
    planned = int(figures.get("planned", len(report.actions)))
    complete = len(report.actions) >= planned
    reasons = Counter((a.kind.value, a.reason) for a in report.actions if a.reason)
    rows = []
    for kind in ActionKind:
        count = int(figures.get(f"planned_{kind.value}", 0)) or \
            sum(1 for a in report.actions if a.kind is kind)
        split = sorted((r, n) for (k, r), n in reasons.items() if k == kind.value)
        if complete and split:
            rows += [(kind.value, str(reason), n) for reason, n in split]
        elif count:
            rows.append((kind.value, "" if complete else "(see the first actions)", count))
    return rows


def dry_run_waiting(engine: Engine, report: PassReport) -> dict[str, int]:
    """What would keep the real pass from settling (assuming every remote call succeeds):
    orders that would wait for attention, effects waiting for attention, rows quarantined.
    When the report kept only the first actions, an order waiting now counts as still
    waiting unless one of those resolves it (the prediction errs towards exit 3)."""
    view = engine.ledger.view(engine.game_ids)
    planned = {a.order.key for a in report.actions if a.kind is ActionKind.ATTENTION}
    resolved = {a.order.key for a in report.actions
                if a.kind in (ActionKind.GRANT, ActionKind.ADOPT)}
    waiting = {k for k, b in view.items() if b.attention and not b.adopted} - resolved
    stuck = {k for k, b in view.items()
             if EffectState.ATTENTION in (b.grant, b.arrived, b.revoke)}
    quarantined = engine.ledger.pending_counts(engine.game_ids)["quarantined"]
    new_attention = max(len(planned), int(report.figures.get("planned_attention", 0)))
    return {"orders_attention": new_attention + len(waiting - planned),
            "effects_attention": len(stuck),
            "quarantined": quarantined + int(report.figures.get("malformed", 0))}


def print_plan(engine: Engine, report: PassReport, show: int) -> int:
    """The dry run's table, its first actions and the exit status the real pass would have."""
    print(f"dry run: {report.figures.get('orders', 0)} orders read; nothing was changed")
    rows = plan_rows(report)
    if rows:
        print(f"  {'action':<10} {'reason':<24} {'count':>7}")
        for kind, reason, n in rows:
            print(f"  {kind:<10} {reason or '-':<24} {n:>7}")
    else:
        print("  nothing to do")
    planned = int(report.figures.get("planned", len(report.actions)))
    if show and report.actions:
        print(f"first {min(show, len(report.actions))} of {planned} actions:")
        for action in report.actions[:show]:
            print("  " + describe(action))
        if planned > show:
            print(f"  ... and {planned - min(show, len(report.actions))} more")
    waiting = {k: v for k, v in dry_run_waiting(engine, report).items() if v}
    if waiting:
        parts = ", ".join(f"{k}={v}" for k, v in waiting.items())
        print(f"the pass would need attention ({parts}): exit {ATTENTION}")
        return ATTENTION
    print(f"the pass would settle everything: exit {SETTLED}")
    return SETTLED


def problem_line(p: Problem) -> str:
    """One line of the list of problems."""
    where = f"{p.game_id}/{p.order_id}" if p.order_id else f"{p.game_id}"
    tries = f" after {p.attempts} attempt{'s' * (p.attempts != 1)}" if p.attempts else ""
    return f"  {p.what:<11} {where:<42} {p.state:<16} {p.cause}{tries}"


def print_problems(engine: Engine, limit: int) -> None:
    """Every problem of the books (the first `limit`, then how many more), with causes."""
    found, total = engine.ledger.problems(engine.game_ids, limit)
    if not total:
        return
    print(f"needs attention: {total} (`reconciler order GAME ORDER` tells one's story; "
          "`reconciler retry` re-queues effects after a fix)")
    for problem in found:
        print(problem_line(problem))
    if total > len(found):
        print(f"  ... and {total - len(found)} more")


def figures_on_screen() -> bool:
    """True when the pass's own INFO line (with the figures) is on the same terminal."""
    return sys.stdout.isatty() and sys.stderr.isatty() and \
        logging.getLogger("reconciler.engine").isEnabledFor(logging.INFO)


def cmd_catch_up(args: argparse.Namespace) -> int:
    """One full pass now (or its plan). Exit 0 settled, 3 attention, 130 interrupted.

    Raises UsageError (--show without --dry-run), ConfigError, UpstreamError, LedgerError.
    """
    if args.show is not None and not args.dry_run:
        raise UsageError("--show lists a dry run's actions: add --dry-run (a real pass lists "
                         "what needs attention; see --problems)")
    scope = since_scope(args.since)
    config = load_config(args.config)

    async def go() -> int:
        async with open_engine(config, dry_run=args.dry_run) as engine:
            freeze_startup_objects()  # a long pass: no full GC over what lives for good
            report = await _run_interruptible(engine, args.dry_run, scope)
            if report is None or engine.stopping.is_set():
                figures = f": {summary_line(report.figures, report.pending)}" if report else ""
                print(f"interrupted{figures}; nothing under way was lost (what was claimed "
                      "stays in flight and the next pass settles it)")
                return INTERRUPTED
            if args.dry_run:
                return print_plan(engine, report, 20 if args.show is None else args.show)
            if not figures_on_screen():
                status = "settled" if report.settled else "needs attention"
                print(f"pass {status}: {summary_line(report.figures, report.pending)}")
            print_problems(engine, args.problems)
            return SETTLED if report.settled else ATTENTION

    return asyncio.run(go())


def add_catch_up(sub: Any) -> None:
    """Register `catch-up` on the top-level subparsers."""
    catch_up = sub.add_parser(
        "catch-up", help="run one full reconciliation pass now",
        description="Read every Jogos order, settle the differences, list what needs a "
        "person. Exit 0 when everything is settled, 3 when something needs attention, 1 on "
        "error, 130 when interrupted (Ctrl-C: orders under way finish, the run is recorded "
        "as interrupted; a second Ctrl-C stops at once, what was claimed stays in flight for "
        "the next pass). A dry run exits as the real pass would.",
    )
    catch_up.add_argument("--dry-run", action="store_true",
                          help="print the plan (counts per action and reason, the first "
                          "actions) and change nothing anywhere")
    catch_up.add_argument("--show", type=non_negative, metavar="N",
                          help="with --dry-run: how many actions to list (default 20)")
    catch_up.add_argument("--problems", type=non_negative, default=20, metavar="N",
                          help="how many attention items and unsettled effects to list")
    catch_up.add_argument("--since", metavar="DATE",
                          help="read back only to orders paid at or after DATE (YYYY-MM-DD "
                          "UTC or a Unix time): paging stops once the list is past it")
    catch_up.set_defaults(handler=cmd_catch_up)


def since_scope(text: str | None) -> Scope | None:
    """The scope of `--since` (None: the whole list). Raises UsageError for a bad date."""
    if text is None:
        return None
    try:
        since_s = parse_time(text, "--since")
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return None if since_s is None else Scope.since(since_s)
