"""Shared fixtures: the sandbox simulators on free loopback ports, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    """Override in a test module to change what the sandbox simulates."""
    return SandboxOptions(mix=OrderMix(count=250, seed=7))


@pytest.fixture
async def sandbox(sandbox_options: SandboxOptions) -> AsyncIterator[Sandbox]:
    """Every simulator, started on free ports and stopped after the test."""
    async with Sandbox(sandbox_options) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client session for talking to the simulators."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session
