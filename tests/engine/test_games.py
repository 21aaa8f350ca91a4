"""Several games in one ledger: each read with its own key, granted apart, kept apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import build_config
from reconciler.engine.passes import open_engine, run_pass
from reconciler.ledger import Ledger
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=300, seed=6),
                          extra_games={1220: "second-game-key-1220"})


async def test_two_games_settle_apart(sandbox: Sandbox, tmp_path: Path,
                                      catalog_path: Path) -> None:
    doc = {"games": [{"game_id": 1220, "shared_key_env": "KEY_1220",
                      "catalog": str(catalog_path)}]}
    env = sandbox.env(catalog_path) | {"RECONCILER_DB": str(tmp_path / "l.db"),
                                       "RECONCILER_IDENTITY": "same",
                                       "KEY_1220": "second-game-key-1220"}
    config = build_config(doc, env)
    async with open_engine(config) as engine:
        report = await run_pass(engine)
    assert report.settled and report.figures["orders"] == 600
    ledger = Ledger.open(tmp_path / "l.db")
    per_game = dict(ledger.db.execute("SELECT game_id, count(*) FROM orders GROUP BY game_id"))
    grants = dict(ledger.db.execute(
        "SELECT game_id, count(*) FROM effects WHERE kind = 'grant' GROUP BY game_id"))
    ledger.close()
    assert per_game == {9943: 300, 1220: 300}
    assert set(grants) == {9943, 1220}
    tokens = {t.split(":")[1] for t in sandbox.pgos.tokens}
    assert tokens == {"9943", "1220"}
    # A wrong key for the second game stops the pass with the game's refusal.
    bad = build_config(doc, env | {"KEY_1220": "a-wrong-but-strong-key"})
    async with open_engine(bad) as engine:
        with pytest.raises(Exception, match="41007"):
            await run_pass(engine)
