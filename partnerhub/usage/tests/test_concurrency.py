"""Exactness under concurrency (issue 14): real threads, each with its own database
connection, against committed data (transactional tests), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from partnerhub.companies.models import Company
from partnerhub.core.actor import platform_actor
from partnerhub.testing.factories import CompanyFactory, ResellerFactory
from partnerhub.usage.models import UsageCounter, UsageEvent, UsageThresholdEvent
from partnerhub.usage.services import usage_consume, usage_events_record
from partnerhub.webhooks.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = platform_actor("concurrency-test")


def _in_threads[T](workers: int, job: Callable[[int], T]) -> list[T]:
    """Run job(0..workers-1) at once, each thread on its own connection, closed after."""
    barrier = Barrier(workers)

    def run(n: int) -> T:
        try:
            barrier.wait()
            return job(n)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(workers)))


def test_the_sqlite_concurrency_tests_use_a_file_database(shared_db: None) -> None:
    """They used to skip on the in-memory test database; they must run in CI."""
    assert not (connection.vendor == "sqlite" and connection.is_in_memory_db())

    def vendor_and_file(n: int) -> tuple[str, bool]:
        return connection.vendor, connection.vendor != "sqlite" or not connection.is_in_memory_db()

    assert set(_in_threads(4, vendor_and_file)) == {(connection.vendor, True)}


def test_64_threads_consuming_never_exceed_the_limit(shared_db: None) -> None:
    company = CompanyFactory(limit_overrides={"messages": 5000})

    def consume_100(n: int) -> int:
        allowed = 0
        for _ in range(100):
            answer = usage_consume(
                actor=ACTOR, company_id=company.pk, limit_key="messages", quantity=1
            )
            allowed += answer["allowed"]
        return allowed

    allowed = sum(_in_threads(64, consume_100))

    assert allowed == 5000
    assert UsageCounter.objects.get(company_id=company.pk).used == 5000
    thresholds = UsageThresholdEvent.objects.filter(company_id=company.pk)
    assert sorted(thresholds.values_list("threshold", "used")) == [(80, 4000), (100, 5000)]
    # Exactly one webhook event per crossing, however many consumes crossed together.
    announced = Event.objects.filter(type="usage.threshold_reached")
    assert sorted((e.data["threshold"], e.data["used"]) for e in announced) == [
        (80, 4000),
        (100, 5000),
    ]


def test_concurrent_retries_of_one_consume_id_count_once(shared_db: None) -> None:
    company = CompanyFactory(limit_overrides={"messages": 100})

    def consume(n: int) -> dict[str, Any]:
        return usage_consume(
            actor=ACTOR, company_id=company.pk, limit_key="messages", quantity=7, request_id="r1"
        )

    answers = _in_threads(16, consume)

    assert all(a["allowed"] for a in answers)
    assert UsageCounter.objects.get(company_id=company.pk).used == 7


def _batches(companies: list[Company], total: int) -> list[list[dict[str, Any]]]:
    ts = timezone.now() - timedelta(seconds=30)
    events = [
        {
            "id": f"e-{n}",
            "company_id": companies[n % len(companies)].pk,
            "limit": "messages" if n % 3 else "whatsapp_conversations",
            "quantity": 1 + n % 5,
            "timestamp": ts,
        }
        for n in range(total)
    ]
    return [events[i : i + 1000] for i in range(0, total, 1000)]


def _counters() -> dict[tuple[int, int], int]:
    return {(c.company_id, c.limit_id): c.used for c in UsageCounter.objects.all()}


def test_replaying_10000_events_twice_leaves_the_counters_unchanged(shared_db: None) -> None:
    reseller = ResellerFactory()
    companies = [CompanyFactory(reseller=reseller) for _ in range(20)]
    batches = _batches(companies, 10_000)

    first = [usage_events_record(actor=ACTOR, events=b).accepted for b in batches]
    after_first = _counters()
    replay = [usage_events_record(actor=ACTOR, events=b).duplicates for b in batches]

    expected = sum(1 + n % 5 for n in range(10_000))
    assert sum(first) == 10_000
    assert sum(replay) == 10_000
    assert sum(after_first.values()) == expected
    assert _counters() == after_first
    assert UsageEvent.objects.count() == 10_000


def test_concurrent_replays_of_the_same_batches_count_each_event_once(shared_db: None) -> None:
    reseller = ResellerFactory()
    companies = [CompanyFactory(reseller=reseller) for _ in range(20)]
    batches = _batches(companies, 10_000)

    # Four clients send all ten batches at once, each in its own order.
    def send_all(n: int) -> int:
        order = batches[n:] + batches[:n]
        return sum(usage_events_record(actor=ACTOR, events=b).accepted for b in order)

    accepted = _in_threads(4, send_all)

    assert sum(accepted) == 10_000
    assert UsageEvent.objects.count() == 10_000
    assert sum(_counters().values()) == sum(1 + n % 5 for n in range(10_000))
