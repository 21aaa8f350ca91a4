"""README's first command: the sandbox in-process with generated orders, then full passes.

Pass 1 settles every order; refunds then arrive at the store; pass 2 revokes them; pass 3
finds nothing left to do.

Rules: everything lives under one folder (default state/demo/), made afresh each run; the
sandbox's throwaway keys are never printed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from reconciler.concurrency import freeze_startup_objects
from reconciler.config import build_config
from reconciler.engine.passes import open_engine, run_pass, summary_line
from reconciler.progress import LogProgress, TerminalProgress
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions


def prepare(folder: Path) -> Path:
    """Empty `folder` and write the sandbox catalog into it; returns the catalog's path."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    catalog = folder / "catalog.toml"
    catalog.write_text(SANDBOX_CATALOG, encoding="utf-8")
    return catalog


async def run_demo(folder: Path, catalog: Path, orders: int, seed: int) -> int:
    """Start the sandbox, run three passes (refunds arrive before the second), show what each
    did; returns the exit status of the last pass.

    Raises ReconcilerError when a pass fails.
    """
    options = SandboxOptions(mix=OrderMix(count=orders, seed=seed))
    async with Sandbox(options) as sandbox:
        env = sandbox.env(catalog) | {"RECONCILER_DB": str(folder / "ledger.db"),
                                      "RECONCILER_IDENTITY": "same"}
        config = build_config({}, env)
        print(f"sandbox: {orders} Jogos orders at {sandbox.urls['jogos']}, "
              f"PGOS at {sandbox.urls['pgos']}; ledger {folder / 'ledger.db'}")
        status = 0
        for number in (1, 2, 3):
            if number == 2:
                refunded = refund_some(sandbox, options.game_id, share=0.03)
                print(f"store: {refunded} granted orders refunded since pass 1")
            progress = TerminalProgress() if sys.stderr.isatty() else LogProgress()
            async with open_engine(config) as engine:
                freeze_startup_objects()  # a long pass: no full GC over what lives for good
                report = await run_pass(engine, progress=progress)
            progress.close()
            print(f"pass {number}: {summary_line(report.figures, report.pending)}")
            status = 0 if report.settled else 3
        jogos, pgos = sandbox.jogos.stats(), sandbox.pgos.stats()
        game = jogos["games"][str(options.game_id)]
        print(f"jogos: {game['orders']} orders, {game['delivered']} marked delivered, "
              f"{jogos['arrived_calls']} arrivedorder calls")
        print(f"pgos: {pgos['players']} players, instances {pgos['instances']}, "
              f"commands {pgos['commands']}, replayed {pgos['replayed']}")
    return status


def refund_some(sandbox: Sandbox, game_id: int, share: float) -> int:
    """Refund every n-th order that was granted (refunds arrive weeks later)."""
    granted = {entry.token for entry in sandbox.pgos.log if entry.token}
    book = sandbox.jogos.books[game_id]
    step = max(1, round(1 / share))
    count = 0
    for index, order in enumerate(book.orders):
        token = f"grant:{game_id}:{order['orderId']}"
        if index % step == 0 and token in granted and order["refundStatus"] is None:
            sandbox.jogos.refund(game_id, order["orderId"])
            count += 1
    return count
