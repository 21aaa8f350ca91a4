"""What only a shared ledger has: migrations recorded once however many open it, an order held
by one process at a time (released by the server when the holder's session ends), the
leader's lock, a connection that comes back, and no password in a URL."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from reconciler.core.catalog import CurrencyGrant, Product
from reconciler.core.models import Order
from reconciler.core.plan import Action, ActionKind
from reconciler.errors import ConfigError, LedgerError
from reconciler.ledger import Ledger, OrderBusy
from reconciler.ledger.leader import LeaderLock
from reconciler.ledger.pg_schema import MIGRATIONS
from reconciler.testing.postgres import TempPostgres

GEM = Product("p1", (), (CurrencyGrant("GEM", 5),))


def grant(order_id: str) -> Action:
    return Action(ActionKind.GRANT, Order(1, order_id, "u1", "p1", False, 100, None, None),
                  "player-1", GEM)


def terminate(url: str, application: str) -> None:
    """End every session of `application` on the server, as a dead process's would end."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE application_name = %s AND pid != pg_backend_pid()", [application])


@pytest.fixture
def url(postgres_server: TempPostgres) -> str:
    return postgres_server.create_database()


def test_migrations_are_applied_once_by_concurrent_openers(url: str) -> None:
    opened: list[Ledger] = []
    threads = [threading.Thread(target=lambda: opened.append(Ledger.open(url)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 4
    names = [n for (n,) in opened[0].db.execute(
        "SELECT name FROM _reconciler_migrations ORDER BY id")]
    assert names == [name for name, _ in MIGRATIONS]
    assert all(ledger.integrity_ok() and ledger.shared for ledger in opened)
    for ledger in opened:
        ledger.close()


def test_an_order_is_held_by_one_process_until_released_or_its_end(url: str) -> None:
    first, second = Ledger.open(url), Ledger.open(url)
    try:
        first.record_orders([grant("o1").order, grant("o2").order], 1)
        assert first.claim(grant("o1"), 10) is not None
        with pytest.raises(OrderBusy):
            second.claim(grant("o1"), 11)
        assert second.claim(grant("o2"), 11) is not None  # other orders are free
        first.release_order(1, "o1")
        again = second.claim(grant("o1"), 12)  # the crash path: in flight, claimed again
        assert again is not None and again.attempts == 2
        second.close()  # a dead holder: the server lets the order go as its session ends
        deadline = time.monotonic() + 5
        while True:
            try:
                assert first.claim(grant("o1"), 13) is not None
                break
            except OrderBusy:
                assert time.monotonic() < deadline, "the order was never let go"
                time.sleep(0.01)
    finally:
        first.close()


def test_the_leader_lock_passes_on_when_its_session_ends(url: str) -> None:
    one, two = LeaderLock(url, key=42), LeaderLock(url, key=42)
    try:
        assert one.check() and one.check()  # taken, then confirmed
        assert not two.check()
        terminate(url, "reconciler-leader")  # both sessions cut: the lock is free again
        deadline = time.monotonic() + 5
        while True:
            leading = [one.check(), two.check()]
            assert leading != [True, True]
            if True in leading:
                break
            assert time.monotonic() < deadline, "nobody took the lead"
            time.sleep(0.01)
    finally:
        one.release()
        two.release()


def test_a_lost_connection_is_an_error_once_then_reopened(url: str) -> None:
    ledger = Ledger.open(url)
    try:
        ledger.record_orders([grant("o1").order], 1)
        terminate(url, "reconciler")
        with pytest.raises(LedgerError):
            ledger.order_count()
        assert ledger.order_count() == 1
    finally:
        ledger.close()


def test_no_password_in_the_url(postgres_server: TempPostgres) -> None:
    with pytest.raises(ConfigError) as caught:
        Ledger.open("postgresql://user:hunter2hunter2@localhost/books")
    assert "hunter2" not in str(caught.value)
