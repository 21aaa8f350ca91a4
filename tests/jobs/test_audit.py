"""The daemon's audit job: the same audit as `reconciler audit`, a warning above threshold."""

from __future__ import annotations

import logging

import pytest

from jobs.audit import audit as audit_job
from reconciler.runtime import open_runtime
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import SandboxOptions
from tests.engine.conftest import ConfigFactory


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=40, seed=5))


async def test_daemon_audit_above_threshold_is_a_warning(
        make_config: ConfigFactory, caplog: pytest.LogCaptureFixture) -> None:
    """The daemon's morning audit is the default one: above its threshold it warns (what the
    `reconciler audit` unit signals with exit 3 and OnFailure=), and records its summary."""
    async with open_runtime(make_config()) as runtime:
        with caplog.at_level(logging.INFO, logger="jobs.audit"):
            await audit_job(runtime)  # no pass yet: every paid order is paid_not_granted
        latest = runtime.engine.ledger.last_run_of_kind("audit")
    (record,) = [r for r in caplog.records if r.name == "jobs.audit"]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("audit: over_threshold, ")
    assert latest is not None and latest["status"] == "over_threshold"
