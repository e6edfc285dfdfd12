"""Sales under concurrency: real threads, each on its own database connection, against
committed data (transactional tests), on SQLite and PostgreSQL. Retries count once, and
the cutoff handshake puts a sale either in a closed period or late, never neither."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier, Event
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from partnerhub.core.actor import platform_actor
from partnerhub.sales import services
from partnerhub.sales.cutoffs import cutoffs_lock, cutoffs_raise
from partnerhub.sales.models import Sale, SaleCutoff
from partnerhub.sales.services import sales_record
from partnerhub.testing.factories import CompanyFactory, SaleItemFactory

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = platform_actor("concurrency-test")


def _in_threads[T](jobs: list[Callable[[], T]]) -> list[T]:
    """Run the jobs at once, each thread on its own connection, closed after."""
    barrier = Barrier(len(jobs))

    def run(job: Callable[[], T]) -> T:
        try:
            barrier.wait()
            return job()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))


def _sales(item_id: int, ids: range, timestamp: datetime) -> list[dict[str, Any]]:
    stamp = timestamp.isoformat()
    return [
        {"id": f"s-{n}", "sale_item_id": item_id, "quantity": 1 + n % 3, "timestamp": stamp}
        for n in ids
    ]


def test_concurrent_retries_of_overlapping_batches_record_each_sale_once(shared_db) -> None:
    item = SaleItemFactory()
    stamp = timezone.now() - timedelta(hours=1)
    batches = [_sales(item.pk, range(100 * n, 100 * n + 300), stamp) for n in range(6)]

    results = _in_threads([lambda b=b: sales_record(actor=ACTOR, sales=b) for b in batches])

    assert sum(r.accepted for r in results) == Sale.objects.count() == 800
    assert sum(r.accepted + r.duplicates for r in results) == 6 * 300
    assert sorted(Sale.objects.values_list("quantity", flat=True)) == sorted(
        1 + n % 3 for n in range(800)
    )


def _wait_until_blocked(timeout: float = 10.0) -> None:
    """Until another connection waits on a lock (PostgreSQL); SQLite cannot tell, so a
    moment for the other thread to reach its lock. Either way the outcome asserted after
    holds: the test pins the result, not the interleaving."""
    if connection.vendor != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)


def test_a_sale_recorded_during_a_companys_first_close_is_booked_late(shared_db) -> None:
    """No cutoff row yet: the close creates and locks it; the sale waits, then sees the
    raised cutoff and goes late into the open period, not into the closed one."""
    item = SaleItemFactory()
    closed_until = timezone.now().date()
    yesterday = datetime.combine(closed_until, datetime.min.time(), UTC) - timedelta(hours=1)
    locked, sold = Event(), Event()

    def close() -> int:
        with transaction.atomic():
            cutoffs_lock([item.company_id], for_update=True)
            locked.set()
            _wait_until_blocked()
            counted = Sale.objects.filter(company_id=item.company_id).count()
            cutoffs_raise({item.company_id: closed_until})
        return counted

    def sell() -> int:
        locked.wait(10)
        result = sales_record(actor=ACTOR, sales=_sales(item.pk, range(1), yesterday))
        sold.set()
        return result.accepted

    counted, accepted = _in_threads([close, sell])

    assert (counted, accepted) == (0, 1)
    assert Sale.objects.get().late_into == closed_until
    assert SaleCutoff.objects.get().closed_until == closed_until


def test_a_close_waits_for_a_batch_in_progress_and_counts_its_sales(shared_db, monkeypatch) -> None:
    item = SaleItemFactory()
    SaleCutoff.objects.create(company_id=item.company_id, closed_until=None)
    closed_until = timezone.now().date()
    yesterday = datetime.combine(closed_until, datetime.min.time(), UTC) - timedelta(hours=1)
    inserted = Event()
    insert = services.sales_insert_new

    def insert_then_hold(rows: Any, now: Any) -> Any:
        keys = insert(rows, now)
        inserted.set()
        _wait_until_blocked()  # the close is waiting for this batch's commit
        return keys

    monkeypatch.setattr(services, "sales_insert_new", insert_then_hold)

    def sell() -> int:
        return sales_record(actor=ACTOR, sales=_sales(item.pk, range(3), yesterday)).accepted

    def close() -> int:
        inserted.wait(10)
        with transaction.atomic():
            cutoffs_lock([item.company_id], for_update=True)
            counted = Sale.objects.filter(
                company_id=item.company_id, late_into__isnull=True
            ).count()
            cutoffs_raise({item.company_id: closed_until})
        return counted

    accepted, counted = _in_threads([sell, close])

    assert (accepted, counted) == (3, 3)  # counted in the closed period, so not late
    assert not Sale.objects.filter(late_into__isnull=False).exists()


def test_cutoffs_only_move_forward_and_unknown_companies_are_left_out(shared_db) -> None:
    company = CompanyFactory()
    day = timezone.now().date()
    with transaction.atomic():
        assert cutoffs_lock([company.pk, 2_000_000_000]) == {company.pk: None}
        assert cutoffs_raise({company.pk: day}) == 1
        assert cutoffs_raise({company.pk: day - timedelta(days=1)}) == 0
        assert cutoffs_lock([company.pk], for_update=True) == {company.pk: day}
