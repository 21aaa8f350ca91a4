"""One POST with a JSON answer: timing, classification of transport failures."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from reconciler.clients.retry import PermanentError, RequestStats, TransientError
from reconciler.core import jsontext


async def post_json(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: Mapping[str, str], *,
    timeout_s: float, stats: RequestStats, name: str, keep_long_numbers: bool = False,
) -> Any:
    """POST `body` and return the parsed JSON answer (see jsontext.loads for
    `keep_long_numbers`).

    Raises TransientError on network errors, timeouts, HTTP 429 or 5xx and bodies that are not
    JSON; PermanentError on any other non-2xx answer.
    """
    started = time.perf_counter()
    stats.requests[name] += 1
    try:
        async with session.post(url, data=body, headers=dict(headers),
                                timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            text = await response.read()
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        stats.failures[f"{name}:network"] += 1
        raise TransientError(f"{name}: {type(exc).__name__}") from exc
    finally:
        stats.seconds[name] = stats.seconds.get(name, 0.0) + time.perf_counter() - started
    if status == 429 or status >= 500:
        stats.failures[f"{name}:http{status}"] += 1
        raise TransientError(f"{name}: HTTP {status}")
    if not 200 <= status < 300:
        stats.failures[f"{name}:http{status}"] += 1
        raise PermanentError(f"http{status}", f"{name}: refused with HTTP {status}")
    try:
        return jsontext.loads(text, keep_long_numbers=keep_long_numbers)
    except ValueError as exc:
        stats.failures[f"{name}:malformed"] += 1
        raise TransientError(f"{name}: answer is not JSON") from exc
