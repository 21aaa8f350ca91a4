"""The daemon's runtime in-process: one HTTP session, and a notification taken in through the
engine (recorded, counted, queued for the store) without the handler touching the ledger."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from reconciler.core import jsontext
from reconciler.core.models import notification_kind, parse_order
from reconciler.core.notify import NoteStatus
from reconciler.errors import LedgerError
from reconciler.runtime import open_runtime
from reconciler.sandbox.orders import OrderMix
from reconciler.sandbox.runner import Sandbox, SandboxOptions
from tests.engine.conftest import ConfigFactory


@pytest.fixture
def sandbox_options() -> SandboxOptions:
    return SandboxOptions(mix=OrderMix(count=20, seed=11))


async def test_one_http_session_for_everything(make_config: ConfigFactory) -> None:
    async with open_runtime(make_config()) as runtime:
        assert runtime.engine.session is not None
        assert runtime.public_keys.session is runtime.engine.session
    assert runtime.engine.session.closed


async def test_a_notification_is_recorded_counted_and_confirmed(
        sandbox: Sandbox, make_config: ConfigFactory) -> None:
    (order,) = sandbox.jogos.add_orders(9943, 1)
    body = sandbox.jogos.notification_body(9943, str(order["orderId"]), "pay")
    doc = jsontext.loads(body)
    told = parse_order(9943, doc)
    async with open_runtime(make_config()) as runtime:
        assert await runtime.take_in_notification(told, notification_kind(doc), body) \
            is NoteStatus.PENDING
        assert await runtime.take_in_notification(told, notification_kind(doc), body) is None
        assert runtime.notifications == {"pay": 1, "duplicate": 1}
        await runtime.confirmer.idle()  # the store listed it: confirmed and settled
        (note,) = runtime.engine.ledger.db.execute(
            "SELECT status FROM notifications WHERE order_id = ?", [told.order_id]).fetchall()
        assert note[0] == "confirmed"
        await runtime.confirmer.stop()
    assert f"grant:9943:{told.order_id}" in sandbox.pgos.tokens


async def test_notifications_that_arrive_together_commit_together(
        sandbox: Sandbox, make_config: ConfigFactory) -> None:
    orders = sandbox.jogos.add_orders(9943, 5)
    bodies = [sandbox.jogos.notification_body(9943, str(o["orderId"]), "pay") for o in orders]
    async with open_runtime(make_config()) as runtime:
        group = runtime.group()
        groups, writes = group.groups, group.writes
        statuses = await asyncio.gather(*(
            runtime.take_in_notification(parse_order(9943, jsontext.loads(b)), "pay", b)
            for b in bodies))
        assert statuses == [NoteStatus.PENDING] * 5
        assert (group.groups - groups, group.writes - writes) == (1, 5)  # one COMMIT
        (count,) = runtime.engine.ledger.db.execute(
            "SELECT count(*) FROM notifications").fetchone()
        assert count == 5
        await runtime.confirmer.idle()
        await runtime.confirmer.stop()


async def test_a_failed_group_commit_records_nothing_and_starts_nothing(
        sandbox: Sandbox, make_config: ConfigFactory) -> None:
    (order,) = sandbox.jogos.add_orders(9943, 1)
    body = sandbox.jogos.notification_body(9943, str(order["orderId"]), "pay")
    told = parse_order(9943, jsontext.loads(body))
    async with open_runtime(make_config()) as runtime:
        ledger = runtime.engine.ledger
        real = ledger.grouped

        @contextmanager
        def failing_commit() -> Iterator[None]:
            with pytest.raises(RuntimeError), real():
                yield
                raise RuntimeError("rolled back")  # the block fails: nothing commits
            raise LedgerError("ledger: grouped: disk I/O error")

        ledger.grouped = failing_commit  # type: ignore[method-assign]
        with pytest.raises(LedgerError):
            await runtime.take_in_notification(told, "pay", body)
        ledger.grouped = real  # type: ignore[method-assign]
        assert runtime.notifications == {"error": 1}
        assert runtime.confirmer.queue == [] and not runtime.confirmer.figures
        (count,) = ledger.db.execute("SELECT count(*) FROM notifications").fetchone()
        assert count == 0
