"""A probe for benchmarks, loaded into a process by `PYTHONPATH=bench/_probe` (Python imports
`sitecustomize` at start): no change to the code it watches. Only with PROBE_OUT set.

It records, in CLOCK_MONOTONIC seconds (shared by every process), each event-loop callback
that ran longer than PROBE_SLOW_MS (default 5 ms) with the GC time inside it, and each
garbage collection of the oldest generation or longer than 2 ms; written to PROBE_OUT as
JSON lines when the process exits. Cost: two clock reads per callback.
"""

from __future__ import annotations

import asyncio.events
import atexit
import gc
import json
import os
import time
from typing import Any

OUT = os.environ.get("PROBE_OUT")


def install(out: str) -> None:
    records: list[dict[str, Any]] = []
    slow_s = float(os.environ.get("PROBE_SLOW_MS", "5")) / 1000
    started: list[float] = []
    in_gc = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            took = time.perf_counter() - started.pop()
            in_gc[0] += took
            if info["generation"] == 2 or took > 0.002:
                records.append({"t": time.monotonic(), "kind": "gc",
                                "gen": info["generation"], "ms": round(took * 1000, 2)})

    gc.callbacks.append(on_gc)
    run = asyncio.events.Handle._run

    def timed_run(self: asyncio.events.Handle) -> None:
        t0, gc0 = time.perf_counter(), in_gc[0]
        run(self)
        took = time.perf_counter() - t0
        if took > slow_s:
            callback = self._callback  # type: ignore[attr-defined]
            name = getattr(callback, "__qualname__", repr(callback)[:80])
            task = getattr(callback, "__self__", None)
            if isinstance(task, asyncio.Task):
                name = getattr(task.get_coro(), "__qualname__", name)
            records.append({"t": time.monotonic(), "kind": "slow", "ms": round(took * 1000, 2),
                            "gc_ms": round((in_gc[0] - gc0) * 1000, 2), "what": name})

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]

    def dump() -> None:
        with open(out, "w") as file:
            file.writelines(json.dumps(r) + "\n" for r in records)

    atexit.register(dump)


if OUT:
    install(OUT)
