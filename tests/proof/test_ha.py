"""High availability (quick form): two daemons on one PostgreSQL; the leader is SIGKILLed at
random moments during passes and notification load; the other takes over within twice its
lock-check interval; no double grant or revocation, no lost order, no acknowledgement left
unrecorded. Long form: bench/ha.py."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from reconciler.core.catalog import parse_catalog
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox, SandboxOptions
from reconciler.testing.books import delivered_at_start
from reconciler.testing.ha import campaign
from reconciler.testing.postgres import TempPostgres

CHECK_S = 1.0


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=600, seed=31), max_page_size=50)


async def test_the_leader_killed_at_random_moments(sandbox: Sandbox, tmp_path: Path,
                                                   postgres_server: TempPostgres) -> None:
    catalog = parse_catalog(tomllib.loads(SANDBOX_CATALOG))
    figures = await campaign(sandbox, tmp_path, postgres_server.create_database(), catalog,
                             delivered_at_start(sandbox), kills=3, seed=3, check_s=CHECK_S,
                             max_kill_s=1.5)
    print("ha campaign:", figures.summary())
    assert figures.kills == 3 and figures.refunded > 0
    assert max(figures.takeovers_s) <= 2 * CHECK_S, figures.takeovers_s
    assert (figures.double_grants, figures.double_revocations, figures.lost_orders,
            figures.unrecorded_acks) == (0, 0, 0, 0)
    assert figures.violations == []
    assert figures.acknowledged == figures.notifications
