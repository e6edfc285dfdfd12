"""The fast paths of issue 15: a set-based fan-out that announces exactly what a
company-by-company comparison would, batched claims, lanes bounded per endpoint, and
outcomes recorded in bulk — with the guarantees of SPEC §14 unchanged."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Barrier
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.utils import timezone
from standardwebhooks import Webhook

from partnerhub.companies.announce import entitlements_changed_data
from partnerhub.companies.models import Company
from partnerhub.companies.selectors import resolve_entitlements
from partnerhub.companies.services import company_update
from partnerhub.core.actor import platform_actor
from partnerhub.plans.services import plan_update
from partnerhub.testing.factories import CompanyFactory, PlanFactory, ResellerFactory
from partnerhub.webhooks.delivery import (
    LANE_DEPTH,
    Outcome,
    deliveries_claim,
    deliveries_pump,
    deliveries_record,
    deliveries_send_round,
    http_client,
    lanes_for,
)
from partnerhub.webhooks.events import NewEvent, events_emit
from partnerhub.webhooks.models import Delivery, Endpoint, Event
from partnerhub.webhooks.services import endpoint_create
from partnerhub.webhooks.tests.helpers import events_of, run_fanouts

pytestmark = pytest.mark.django_db


def _bodies_now(companies: list[Company]) -> dict[int, dict[str, Any]]:
    """The old way, one company at a time: what the API answers for each."""
    return {
        c.pk: resolve_entitlements(
            Company.objects.select_related("reseller", "plan").get(pk=c.pk)
        ).as_dict()
        for c in companies
    }


def _as_stored(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _edit_plan(personas, plan, **changes):
    plan.refresh_from_db()
    return plan_update(
        actor=personas.admin_a, plan_id=plan.pk, changes=changes, version=plan.version
    )


def test_fanout_of_many_companies_matches_the_per_company_comparison(personas, settings):
    settings.WEBHOOK_FANOUT_BATCH = 7  # many batches, and a last one that is not full
    plan = personas.plan_a  # features: plans, seating
    companies = [personas.company_a]
    variations: list[dict[str, Any]] = [
        {"excluded_features": ["seating"]},
        {"direct_features": ["vouchers"]},
        {"limit_overrides": {"messages": 3}},
        {},
        {"excluded_features": ["plans"], "direct_features": ["api_access"]},
    ]
    for n in range(60):
        company = CompanyFactory(reseller=personas.reseller_a, plan=plan)
        if variations[n % 5]:
            company_update(actor=personas.admin_a, company_id=company.pk, changes=variations[n % 5])
        companies.append(company)
    elsewhere = CompanyFactory(
        reseller=personas.reseller_a,
        plan=PlanFactory(reseller=personas.reseller_a, features=["plans", "seating"]),
    )
    everything = endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://a.example/h"
    ).endpoint
    platform = endpoint_create(
        actor=personas.platform, reseller_id=None, url="https://p.example/h"
    ).endpoint
    endpoint_create(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        url="https://plans.example/h",
        event_types=["plan.updated"],
    )
    endpoint_create(
        actor=personas.admin_b, reseller_id=personas.reseller_b.pk, url="https://b.example/h"
    )

    announced = []
    for changes in (
        {"features": ["plans"]},  # companies that excluded seating already: unchanged
        {"features": ["plans", "vouchers"], "limits": {**plan.limits, "messages": 9}},
    ):
        before = _bodies_now(companies)
        Event.objects.all().delete()
        _edit_plan(personas, plan, **changes)
        run_fanouts()
        after = _bodies_now(companies)

        expected = {
            pk: _as_stored(entitlements_changed_data(pk, after[pk]))
            for pk in after
            if after[pk] != before[pk]
        }
        events = events_of("company.entitlements_changed")
        announced.append(len(events))
        assert len(events) == len(expected)
        assert {e.data["company_id"]: e.data for e in events} == expected
        assert all(e.reseller_id == personas.reseller_a.pk for e in events)
        assert elsewhere.pk not in {e.data["company_id"] for e in events}
        # One delivery per event for the reseller's catch-all endpoint and the platform's.
        pairs = sorted(
            Delivery.objects.filter(event__type="company.entitlements_changed").values_list(
                "event_id", "endpoint_id"
            )
        )
        assert pairs == sorted((e.pk, ep.pk) for e in events for ep in (everything, platform))
        assert Delivery.objects.filter(status="pending", next_attempt_at__isnull=False).count() == (
            len(pairs) + 3  # plan.updated: the catch-all, the platform, the plans-only one
        )
    # The first edit skips the 12 companies that excluded seating already; the second
    # reaches every company (its limits changed).
    assert announced == [len(companies) - 12, len(companies)]


def test_first_edit_leaves_the_companies_that_excluded_the_feature_alone(personas, settings):
    settings.WEBHOOK_FANOUT_BATCH = 3
    plan = personas.plan_a
    excluding = []
    for n in range(8):
        company = CompanyFactory(reseller=personas.reseller_a, plan=plan)
        if n % 2:
            company_update(
                actor=personas.admin_a,
                company_id=company.pk,
                changes={"excluded_features": ["seating"]},
            )
            excluding.append(company.pk)
    Event.objects.all().delete()

    _edit_plan(personas, plan, features=["plans"])
    run_fanouts()

    announced = [e.data["company_id"] for e in events_of("company.entitlements_changed")]
    assert len(announced) == len(set(announced)) == 9 - len(excluding)
    assert not set(announced) & set(excluding)


def test_events_emit_answers_saved_events_with_their_data(personas):
    endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://a.example/h"
    )
    when = timezone.now().replace(microsecond=0)
    rows = events_emit(
        [
            NewEvent("webhook.test", personas.reseller_a.pk, {"at": when, "n": 1}),
            NewEvent("webhook.test", personas.reseller_b.pk, {"n": 2}),
        ]
    )

    assert [Event.objects.get(pk=r.pk).data for r in rows] == [r.data for r in rows]
    assert rows[0].data == {"at": when.isoformat().replace("+00:00", "Z"), "n": 1}
    assert Event.objects.get(pk=rows[0].pk).created_at == rows[0].created_at
    assert list(Delivery.objects.values_list("event_id", flat=True)) == [rows[0].pk]


# --- delivery ----------------------------------------------------------------------


@contextmanager
def counting_receiver(delay: float) -> Iterator[tuple[str, dict[str, int], list[dict[str, str]]]]:
    """A keep-alive loopback receiver that holds each request `delay` seconds and keeps
    the highest number of requests in flight at once, per path and in all ("*")."""
    peak: dict[str, int] = {}
    now: dict[str, int] = {}
    seen: list[dict[str, str]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            with lock:
                for key in (self.path, "*"):
                    now[key] = now.get(key, 0) + 1
                    peak[key] = max(peak.get(key, 0), now[key])
                seen.append({k.lower(): v for k, v in self.headers.items()})
            time.sleep(delay)
            with lock:
                for key in (self.path, "*"):
                    now[key] -= 1
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", peak, seen
    finally:
        server.shutdown()
        server.server_close()


def _test_events(reseller_id: int, n: int) -> None:
    events_emit([NewEvent("webhook.test", reseller_id, {"n": i}) for i in range(n)])


def test_requests_in_flight_stay_within_the_per_endpoint_bound(personas, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with counting_receiver(delay=0.15) as (base, peak, seen):
        one = endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=f"{base}/one"
        )
        two = endpoint_create(
            actor=personas.admin_b, reseller_id=personas.reseller_b.pk, url=f"{base}/two"
        )
        _test_events(personas.reseller_a.pk, 12)
        _test_events(personas.reseller_b.pk, 12)
        with http_client(8) as client, ThreadPoolExecutor(8) as pool:
            sent = 0
            while batch := deliveries_send_round(client, pool, limit=100, per_endpoint=3):
                sent += batch

    assert one.secret != two.secret
    assert sent == 24 and len(seen) == 24
    assert Delivery.objects.filter(status="succeeded").count() == 24
    assert peak["/one"] == 3 and peak["/two"] == 3  # the bound, and it is used
    assert peak["*"] == 6  # both endpoints at once


def test_the_pump_overlaps_rounds_and_keeps_the_bound(personas, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with counting_receiver(delay=0.02) as (base, peak, seen):
        endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=f"{base}/one"
        )
        _test_events(personas.reseller_a.pk, 40)
        with http_client(8) as client, ThreadPoolExecutor(8) as pool:
            # Rounds of 2 lanes x LANE_DEPTH: several, each claimed while one is in flight.
            attempted = deliveries_pump(client, pool, limit=100, per_endpoint=2)

    assert attempted == 40 and len(seen) == 40
    assert len({h["webhook-id"] for h in seen}) == 40
    assert peak["/one"] == 2
    assert Delivery.objects.filter(status="succeeded", attempts=1, claimed_until=None).count() == 40


def test_recording_a_round_renews_the_lease_of_the_round_claimed_early(personas, settings):
    settings.WEBHOOK_LEASE_SECONDS = 60
    endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://a.example/h"
    )
    _test_events(personas.reseller_a.pk, 4)
    first = deliveries_claim(limit=2, per_endpoint=8)
    early = deliveries_claim(limit=2, per_endpoint=8)
    early_ids = [d.id for d in early]
    Delivery.objects.filter(pk__in=early_ids).update(
        claimed_until=timezone.now() + timedelta(seconds=5)  # most of its lease is gone
    )

    started = timezone.now()
    deliveries_record([(d, Outcome(200)) for d in first], renew=early_ids)

    assert len(first) == len(early) == 2 and not {d.id for d in first} & set(early_ids)
    for row in Delivery.objects.filter(pk__in=early_ids):
        assert row.status == "pending" and row.attempts == 0
        assert row.claimed_until is not None
        assert row.claimed_until >= started + timedelta(seconds=59)
    assert Delivery.objects.filter(status="succeeded").count() == 2


def test_a_round_claims_at_most_lane_depth_per_lane_of_one_endpoint(personas, settings):
    endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://a.example/h"
    )
    endpoint_create(
        actor=personas.admin_b, reseller_id=personas.reseller_b.pk, url="https://b.example/h"
    )
    _test_events(personas.reseller_a.pk, 30)
    _test_events(personas.reseller_b.pk, 2)

    claimed = deliveries_claim(limit=100, per_endpoint=2)

    by_endpoint: dict[int, int] = {}
    for due in claimed:
        by_endpoint[due.endpoint_id] = by_endpoint.get(due.endpoint_id, 0) + 1
    assert sorted(by_endpoint.values()) == [2, 2 * LANE_DEPTH]
    first = [d for d in claimed if by_endpoint[d.endpoint_id] == 2 * LANE_DEPTH]
    assert [d.id for d in first] == sorted(d.id for d in first)  # oldest first
    lanes = lanes_for(claimed, 2)
    assert len(lanes) == 2 + 2 and all(len(lane) <= LANE_DEPTH for lane in lanes)
    assert all(len({d.endpoint_id for d in lane}) == 1 for lane in lanes)
    assert deliveries_claim(limit=100, per_endpoint=2)[0].id not in {d.id for d in claimed}


def test_a_worker_that_dies_between_send_and_record_loses_nothing(personas, settings):
    """The crash window of a batch: claimed (leased) and maybe sent, never recorded.
    After the lease the same deliveries are due again, with the same webhook-id."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with counting_receiver(delay=0) as (base, _peak, seen):
        created = endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=f"{base}/h"
        )
        _test_events(personas.reseller_a.pk, 10)
        lost = deliveries_claim(limit=100, per_endpoint=8)  # then the worker is killed
        assert len(lost) == 10
        with http_client(4) as client, ThreadPoolExecutor(4) as pool:
            assert deliveries_send_round(client, pool, limit=100) == 0  # still leased
            Delivery.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
            while deliveries_send_round(client, pool, limit=100):
                pass

    assert Delivery.objects.filter(status="succeeded", attempts=1).count() == 10
    assert sorted(h["webhook-id"] for h in seen) == sorted(d.webhook_id for d in lost)
    assert Endpoint.objects.get().pk == created.endpoint.pk


def test_outcomes_are_recorded_in_bulk(personas, settings, django_assert_max_num_queries):
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 300]
    ok = endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://a.example/h"
    ).endpoint
    gone = endpoint_create(
        actor=personas.admin_b, reseller_id=personas.reseller_b.pk, url="https://b.example/h"
    ).endpoint
    Endpoint.objects.filter(pk=ok.pk).update(failing_since=timezone.now() - timedelta(days=1))
    _test_events(personas.reseller_a.pk, 40)
    _test_events(personas.reseller_b.pk, 2)
    last_try = Delivery.objects.filter(endpoint=ok).order_by("-id").values_list("pk", flat=True)[0]
    Delivery.objects.filter(pk=last_try).update(attempts=2)  # its third attempt is the last
    claimed = deliveries_claim(limit=100, per_endpoint=50)
    assert len(claimed) == 42

    def outcome(i: int, endpoint_id: int, pk: int) -> Outcome:
        if endpoint_id == gone.pk:
            return Outcome(410)
        if pk == last_try:
            return Outcome(500)
        return [Outcome(200), Outcome(204), Outcome(500), Outcome(None, "ConnectError: no")][i % 4]

    results = [(d, outcome(i, d.endpoint_id, d.id)) for i, d in enumerate(claimed)]
    started = timezone.now()
    with django_assert_max_num_queries(10):  # 2 success codes, 1 batch of failures, health
        deliveries_record(results)

    for due, result in results:
        row = Delivery.objects.get(pk=due.id)
        assert row.attempts == due.attempts + 1 and row.claimed_until is None
        assert row.last_attempt_at is not None and row.last_attempt_at >= started
        assert row.last_response_code == result.code
        if result.ok:
            assert (row.status, row.next_attempt_at, row.last_error) == ("succeeded", None, "")
        elif due.id == last_try or due.endpoint_id == gone.pk:
            assert (row.status, row.next_attempt_at) == ("failed", None)
        else:
            assert row.status == "pending" and row.next_attempt_at is not None
            wait = (row.next_attempt_at - row.last_attempt_at).total_seconds()
            assert 4.5 <= wait <= 5.5  # the first retry: 5 s ± 10 %
            assert row.last_error == result.error
    assert Endpoint.objects.get(pk=ok.pk).failing_since is None  # it had successes
    gone.refresh_from_db()
    assert not gone.enabled and "410" in gone.disabled_reason
    assert gone.failing_since is not None


def test_every_delivery_of_a_big_round_verifies(personas, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with counting_receiver(delay=0) as (base, _peak, seen):
        secret = endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=f"{base}/h"
        ).secret
        _test_events(personas.reseller_a.pk, 50)
        with http_client(8) as client, ThreadPoolExecutor(8) as pool:
            while deliveries_send_round(client, pool, limit=64, per_endpoint=8):
                pass
        bodies = {
            f"evt_{e.pk}": json.dumps(
                {
                    "data": e.data,
                    "timestamp": e.created_at.isoformat().replace("+00:00", "Z"),
                    "type": e.type,
                },
                separators=(",", ":"),
                sort_keys=True,
            ).encode()
            for e in Event.objects.all()
        }

    assert len(seen) == 50
    for headers in seen:
        assert Webhook(secret).verify(bodies[headers["webhook-id"]], headers)["type"] == (
            "webhook.test"
        )


@pytest.mark.django_db(transaction=True)
def test_workers_claiming_at_once_never_share_a_delivery(shared_db):
    """Four claimers on their own connections, at once: every delivery is claimed by
    exactly one (FOR UPDATE SKIP LOCKED and the lease in one statement on PostgreSQL)."""
    reseller = ResellerFactory()
    endpoint_create(
        actor=platform_actor("test"), reseller_id=reseller.pk, url="https://a.example/h"
    )
    events_emit([NewEvent("webhook.test", reseller.pk, {"n": i}) for i in range(120)])
    barrier = Barrier(4)

    def claimer(n: int) -> list[int]:
        try:
            barrier.wait()
            claimed: list[int] = []
            while batch := deliveries_claim(limit=10, per_endpoint=8):
                claimed += [due.id for due in batch]
            return claimed
        finally:
            connections.close_all()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(claimer, range(4)))

    ids = [pk for claimed in results for pk in claimed]
    assert len(ids) == len(set(ids)) == 120
    assert Delivery.objects.filter(claimed_until__isnull=True).count() == 0
