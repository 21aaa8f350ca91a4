"""Load (quick form): concurrent signed notifications while a full pass runs; every
acknowledged notification is recorded and settled. Long form: bench/load.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.ledger import Ledger
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from reconciler.testing.daemon import Daemon, until
from reconciler.testing.load import notification_load, wait_settled


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=3000, seed=40))


async def test_notifications_under_load_during_a_pass(sandbox: Sandbox, tmp_path: Path) -> None:
    daemon = Daemon(sandbox, tmp_path)
    await daemon.start()
    try:
        await until(lambda: sandbox.jogos.get_orders_calls > 0)  # the pass is running
        figures = await notification_load(sandbox, daemon.url + "/jogos/notify", count=300,
                                          concurrency=20)
        print("notification load:", figures.summary())
        assert figures.acknowledged == 300 and figures.refused == 0
        assert await wait_settled(sandbox, figures.acked_orders) == []
    finally:
        assert await daemon.stop() == 0
        daemon.close()
    ledger = Ledger.open(tmp_path / "ledger.db")
    recorded = {o for (o,) in ledger.db.execute("SELECT order_id FROM notifications")}
    ledger.close()
    assert set(figures.acked_orders) <= recorded
