"""One POST with a JSON answer: timing, classification of transport failures.

Rules: a transport failure is a TransientError whose message names the request, the host and
the reason (refused, no such host, timed out, disconnected), never the path or a secret.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from reconciler.clients.retry import PermanentError, RequestStats, TransientError
from reconciler.core import jsontext


def network_reason(url: str, exc: BaseException, timeout_s: float) -> str:
    """What went wrong on the way to `url`, naming the host and the reason (never a secret:
    the URL's path and query are left out)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    where = f"{host}:{parts.port}" if parts.port else host
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return f"no answer from {where} within {timeout_s:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        error = exc.os_error
        reason = os.strerror(error.errno) if error.errno and error.errno > 0 and not \
            isinstance(error, socket.gaierror) else error.strerror or str(error)
        return f"cannot connect to {where}: {reason}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{where} closed the connection before answering"
    detail = str(exc).strip()
    return f"{where}: {type(exc).__name__}" + (f" ({detail[:160]})" if detail else "")


@functools.lru_cache(maxsize=8)
def _timeout(total_s: float) -> aiohttp.ClientTimeout:
    """One ClientTimeout per distinct value (it is immutable)."""
    return aiohttp.ClientTimeout(total=total_s)


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
        async with session.post(url, data=body, headers=headers,
                                timeout=_timeout(timeout_s)) as response:
            text = await response.read()
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        stats.failures[f"{name}:network"] += 1
        raise TransientError(f"{name}: {network_reason(url, exc, timeout_s)}") from exc
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
