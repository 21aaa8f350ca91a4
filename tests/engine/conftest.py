"""Engine fixtures: a configuration pointing at the sandbox, and a fresh ledger path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.config import Config, build_config
from reconciler.sandbox.runner import SANDBOX_CATALOG, Sandbox

ConfigFactory = Callable[..., Config]


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(SANDBOX_CATALOG)
    return path


@pytest.fixture
def make_config(sandbox: Sandbox, tmp_path: Path, catalog_path: Path) -> ConfigFactory:
    """build(**env overrides) -> Config for this sandbox (identity `same`, fast retries)."""

    def build(**over: str) -> Config:
        env = sandbox.env(catalog_path) | {
            "RECONCILER_DB": str(tmp_path / "ledger.db"),
            "RECONCILER_IDENTITY": "same",
            "RECONCILER_BACKOFF_S": "0.01",
            "RECONCILER_BACKOFF_MAX_S": "0.05",
            "RECONCILER_TIMEOUT_S": "2",
        }
        env.update(over)
        return build_config({}, env)

    return build
