"""Probe a running daemon's /healthz (for `reconciler check`)."""

from __future__ import annotations

import aiohttp


async def fetch_health(url: str, timeout_s: float) -> tuple[int, str]:
    """(HTTP status, body) of the health URL; (0, error name) when it cannot be reached."""
    try:
        async with aiohttp.ClientSession() as session, session.get(
                url, timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            return response.status, await response.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return 0, type(exc).__name__
