"""Foreground work goes first: background steps wait while a request is answered."""

from __future__ import annotations

import asyncio

from reconciler.concurrency import Foreground


async def test_background_waits_for_the_foreground_then_goes_on() -> None:
    foreground = Foreground(hold_s=0)
    await foreground.quiet()  # nothing in the foreground: at once
    order: list[str] = []

    async def background() -> None:
        await foreground.quiet()
        order.append("background")

    with foreground.busy():
        task = asyncio.create_task(background())
        done, _ = await asyncio.wait({task}, timeout=0)  # it ran up to its wait
        assert not done and order == []
        order.append("foreground")  # the request is answered while the task waits
    await task
    assert order == ["foreground", "background"]
    assert foreground.active == 0


async def test_nested_requests_keep_the_background_waiting() -> None:
    foreground = Foreground(hold_s=0)
    with foreground.busy(), foreground.busy():
        assert foreground.active == 2
        waiter = asyncio.create_task(foreground.quiet())
        done, _ = await asyncio.wait({waiter}, timeout=0)
        assert not done
    await waiter
