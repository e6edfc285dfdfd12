"""Usage over the API (SPEC §13): events, consume, gauges, caps, reads, thresholds, tenancy."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.companies.models import Company
from partnerhub.companies.terms import company_anchor
from partnerhub.testing.factories import CompanyFactory
from partnerhub.usage.models import UsageCounter, UsageEvent, UsageThresholdEvent
from partnerhub.usage.periods import usage_period
from partnerhub.webhooks.models import Event

pytestmark = pytest.mark.django_db


def _now_iso(minutes_ago: int = 1) -> str:
    return (timezone.now() - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")


def event(n: int, company_id: int, limit: str = "messages", quantity: int = 1, **kw: Any) -> dict:
    return {
        "id": f"evt-{n}",
        "company_id": company_id,
        "limit": limit,
        "quantity": quantity,
        "timestamp": kw.pop("timestamp", _now_iso()),
        **kw,
    }


def _used(company: Company, limit: str = "messages") -> int:
    return sum(
        UsageCounter.objects.filter(company_id=company.pk, limit__key=limit).values_list(
            "used", flat=True
        )
    )


def _consume(api, key, company_id, limit="messages", **body):
    return api.post(f"/api/v1/companies/{company_id}/usage/{limit}/consume", key, body)


# --- ingestion ----------------------------------------------------------------------------


def test_events_are_counted_once_per_id(api, keys, personas) -> None:
    company = personas.company_a
    batch = {"events": [event(1, company.pk, quantity=3), event(2, company.pk, quantity=4)]}

    first = api.post("/api/v1/usage/events", keys.admin_a, batch)
    again = api.post("/api/v1/usage/events", keys.admin_a, batch)

    assert first.status_code == 200, first.content
    assert first.json() == {"accepted": 2, "duplicates": 0}
    assert again.json() == {"accepted": 0, "duplicates": 2}
    assert _used(company) == 7
    assert UsageEvent.objects.count() == 2
    assert AuditEvent.objects.filter(action="usage.events_record").count() == 2


def test_a_repeat_inside_one_batch_counts_once(api, keys, personas) -> None:
    e = event(1, personas.company_a.pk, quantity=5)

    response = api.post("/api/v1/usage/events", keys.admin_a, {"events": [e, dict(e)]})

    assert response.json() == {"accepted": 1, "duplicates": 1}
    assert _used(personas.company_a) == 5


def test_the_same_id_with_other_content_is_a_conflict_and_stores_nothing(
    api, keys, personas
) -> None:
    company = personas.company_a
    api.post("/api/v1/usage/events", keys.admin_a, {"events": [event(1, company.pk, quantity=3)]})

    response = api.post(
        "/api/v1/usage/events",
        keys.admin_a,
        {"events": [event(2, company.pk), event(1, company.pk, quantity=9)]},
    )

    assert_error(response, 409, "conflict")
    assert _used(company) == 3
    assert not UsageEvent.objects.filter(event_id="evt-2").exists()


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"quantity": 0}, "events[1].quantity"),
        ({"quantity": 10**12 + 1}, "events[1].quantity"),
        ({"limit": "nope"}, "events[1].limit"),
        ({"limit": "event_timeslots"}, "events[1].limit"),
        ({"company_id": 999999}, "events[1].company_id"),
        ({"timestamp": "yesterday"}, "events[1].timestamp"),
        ({"timestamp": "2026-11-30T10:00:00"}, "events[1].timestamp"),
        ({"timestamp": "2000-01-01T00:00:00Z"}, "events[1].timestamp"),
        ({"extra": 1}, "events[1].extra"),
    ],
)
def test_a_bad_event_is_a_422_naming_its_index_and_nothing_is_stored(
    api, keys, personas, bad, field
) -> None:
    company = personas.company_a
    events = [event(1, company.pk), {**event(2, company.pk), **bad}]

    error = assert_error(api.post("/api/v1/usage/events", keys.admin_a, {"events": events}), 422)

    assert field in error["details"], error
    assert UsageEvent.objects.count() == 0
    assert UsageCounter.objects.count() == 0


def test_a_future_timestamp_is_refused(api, keys, personas) -> None:
    future = (timezone.now() + timedelta(minutes=10)).isoformat()
    events = [event(1, personas.company_a.pk, timestamp=future)]

    error = assert_error(api.post("/api/v1/usage/events", keys.admin_a, {"events": events}), 422)

    assert "events[0].timestamp" in error["details"]


def test_duplicate_ids_with_other_content_inside_a_batch_are_a_422(api, keys, personas) -> None:
    c = personas.company_a.pk
    events = [event(1, c, quantity=1), event(1, c, quantity=2)]

    error = assert_error(api.post("/api/v1/usage/events", keys.admin_a, {"events": events}), 422)

    assert "events[1].id" in error["details"]
    assert UsageEvent.objects.count() == 0


@pytest.mark.parametrize("size", [0, 1001])
def test_a_batch_holds_1_to_1000_events(api, keys, personas, size) -> None:
    events = [event(n, personas.company_a.pk) for n in range(size)]

    error = assert_error(api.post("/api/v1/usage/events", keys.admin_a, {"events": events}), 422)

    assert "events" in error["details"]


def test_events_in_the_previous_period_count_there(api, keys, personas) -> None:
    company = personas.company_a
    today = timezone.now().date()
    Company.objects.filter(pk=company.pk).update(
        billing_anchor=date(2020, 1, today.day if today.day <= 28 else 28)
    )
    company.refresh_from_db()
    current = usage_period(company.billing_anchor, today)
    last_period_day = current.start - timedelta(days=1)
    ts = f"{last_period_day.isoformat()}T12:00:00Z"

    response = api.post(
        "/api/v1/usage/events",
        keys.admin_a,
        {"events": [event(1, company.pk, quantity=4, timestamp=ts)]},
    )
    usage = api.get(f"/api/v1/companies/{company.pk}/usage", keys.admin_a).json()
    past = api.get(
        f"/api/v1/companies/{company.pk}/usage",
        keys.admin_a,
        {"period_start": last_period_day.isoformat()},
    ).json()

    assert response.status_code == 200, response.content
    assert usage["limits"]["messages"]["used"] == 0
    assert past["limits"]["messages"]["used"] == 4
    assert past["period_end"] == current.start.isoformat()


def test_gauge_events_move_the_count_never_below_zero(api, keys, personas) -> None:
    c = personas.company_a.pk
    events = [
        event(1, c, "team_members", 2),
        event(2, c, "team_members", -5),
        event(3, c, "team_members", 3),
    ]

    api.post("/api/v1/usage/events", keys.admin_a, {"events": events})
    usage = api.get(f"/api/v1/companies/{c}/usage", keys.admin_a).json()

    assert usage["limits"]["team_members"] == {
        "kind": "gauge",
        "value": 5,
        "used": 3,
        "remaining": 2,
        "over": False,
    }


def test_a_gauge_event_of_zero_is_refused(api, keys, personas) -> None:
    events = [event(1, personas.company_a.pk, "team_members", 0)]

    error = assert_error(api.post("/api/v1/usage/events", keys.admin_a, {"events": events}), 422)

    assert "events[0].quantity" in error["details"]


# --- consume ------------------------------------------------------------------------------


def test_consume_allows_until_the_limit_then_refuses(api, keys, personas) -> None:
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(limit_overrides={"messages": 5})

    allowed = _consume(api, keys.admin_a, company.pk, quantity=4)
    refused = _consume(api, keys.admin_a, company.pk, quantity=2)
    last = _consume(api, keys.admin_a, company.pk, quantity=1)

    assert allowed.status_code == 200
    assert allowed.json() == {
        "kind": "metered",
        "value": 5,
        "used": 4,
        "remaining": 1,
        "over": False,
        "allowed": True,
    }
    assert refused.status_code == 200
    assert refused.json()["allowed"] is False
    assert refused.json()["used"] == 4
    assert last.json()["allowed"] is True
    assert _used(company) == 5


def test_consume_is_idempotent_by_id(api, keys, personas) -> None:
    company = personas.company_a

    first = _consume(api, keys.admin_a, company.pk, quantity=3, id="req-1")
    retry = _consume(api, keys.admin_a, company.pk, quantity=3, id="req-1")
    other = _consume(api, keys.admin_a, company.pk, quantity=2, id="req-1")

    assert first.json()["allowed"] is True
    assert retry.json()["allowed"] is True
    assert retry.json()["used"] == 3
    assert_error(other, 409, "conflict")
    assert _used(company) == 3


def test_a_refused_consume_with_an_id_leaves_no_record(api, keys, personas) -> None:
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(limit_overrides={"messages": 1})

    refused = _consume(api, keys.admin_a, company.pk, quantity=2, id="req-big")

    assert refused.json()["allowed"] is False
    assert not UsageEvent.objects.exists()


def test_unlimited_consume_is_always_allowed_and_counted(api, keys, personas) -> None:
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(limit_overrides={"messages": None})

    response = _consume(api, keys.admin_a, company.pk, quantity=10**12)

    assert response.json() == {
        "kind": "metered",
        "value": None,
        "used": 10**12,
        "remaining": None,
        "over": False,
        "allowed": True,
    }


def test_a_cap_checks_the_wanted_total_and_records_nothing(api, keys, personas) -> None:
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(limit_overrides={"event_timeslots": 12})

    fits = _consume(api, keys.admin_a, company.pk, "event_timeslots", quantity=12)
    too_many = _consume(api, keys.admin_a, company.pk, "event_timeslots", quantity=13)

    assert fits.json() == {
        "kind": "cap",
        "value": 12,
        "used": None,
        "remaining": None,
        "over": False,
        "allowed": True,
    }
    assert too_many.json()["allowed"] is False
    assert not UsageCounter.objects.exists()


def test_a_plan_change_mid_period_applies_on_the_next_consume(api, keys, personas) -> None:
    company, plan = personas.company_a, personas.plan_a
    plan.limits = {**plan.limits, "messages": 10}
    plan.save()
    assert _consume(api, keys.admin_a, company.pk, quantity=8).json()["allowed"] is True

    plan.limits = {**plan.limits, "messages": 5}
    plan.save()
    lowered = _consume(api, keys.admin_a, company.pk, quantity=1).json()
    plan.limits = {**plan.limits, "messages": 20}
    plan.save()
    raised = _consume(api, keys.admin_a, company.pk, quantity=1).json()

    assert lowered == {
        "kind": "metered",
        "value": 5,
        "used": 8,
        "remaining": 0,
        "over": True,
        "allowed": False,
    }
    assert raised["allowed"] is True
    assert raised["used"] == 9


@pytest.mark.parametrize("quantity", [0, -1, 10**12 + 1])
def test_consume_quantity_is_1_to_10_12(api, keys, personas, quantity) -> None:
    error = assert_error(_consume(api, keys.admin_a, personas.company_a.pk, quantity=quantity), 422)

    assert "quantity" in error["details"]
    assert not UsageCounter.objects.exists()


def test_consume_on_an_unknown_limit_is_404(api, keys, personas) -> None:
    assert_error(_consume(api, keys.admin_a, personas.company_a.pk, "nope", quantity=1), 404)


# --- thresholds ---------------------------------------------------------------------------


def test_thresholds_are_recorded_once_per_period(api, keys, personas) -> None:
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(limit_overrides={"messages": 10})

    for _ in range(7):
        _consume(api, keys.admin_a, company.pk, quantity=1)
    assert not UsageThresholdEvent.objects.exists()
    _consume(api, keys.admin_a, company.pk, quantity=1)  # 8 of 10: 80 %
    _consume(api, keys.admin_a, company.pk, quantity=1)
    api.post("/api/v1/usage/events", keys.admin_a, {"events": [event(1, company.pk, quantity=5)]})

    rows = list(UsageThresholdEvent.objects.values_list("threshold", "used", "value"))
    assert rows == [(80, 8, 10), (100, 14, 10)]
    # Each crossing is announced once, as SPEC §14's usage.threshold_reached.
    announced = [e.data for e in Event.objects.filter(type="usage.threshold_reached")]
    anchor = company_anchor(Company.objects.get(pk=company.pk))
    period_start = usage_period(anchor, timezone.now().date()).start.isoformat()
    assert announced == [
        {
            "company_id": company.pk,
            "limit": "messages",
            "threshold": t,
            "used": u,
            "value": 10,
            "period_start": period_start,
        }
        for t, u in [(80, 8), (100, 14)]
    ]
    usage = api.get(f"/api/v1/companies/{company.pk}/usage", keys.admin_a).json()
    assert usage["limits"]["messages"] == {
        "kind": "metered",
        "value": 10,
        "used": 14,
        "remaining": 0,
        "over": True,
    }


# --- gauges -------------------------------------------------------------------------------


def test_put_sets_a_gauge(api, keys, personas) -> None:
    c = personas.company_a.pk

    response = api.put(f"/api/v1/companies/{c}/usage/team_members", keys.admin_a, {"value": 4})
    lowered = api.put(f"/api/v1/companies/{c}/usage/team_members", keys.admin_a, {"value": 0})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "kind": "gauge",
        "value": 5,
        "used": 4,
        "remaining": 1,
        "over": False,
    }
    assert lowered.json()["used"] == 0
    assert AuditEvent.objects.filter(action="usage.gauge_set").count() == 2
    assert list(UsageThresholdEvent.objects.values_list("threshold", flat=True)) == [80]


def test_put_on_a_metered_limit_is_a_422(api, keys, personas) -> None:
    c = personas.company_a.pk

    assert_error(api.put(f"/api/v1/companies/{c}/usage/messages", keys.admin_a, {"value": 4}), 422)


def test_usage_lists_every_limit_with_its_kind(api, keys, personas) -> None:
    c = personas.company_a.pk

    body = api.get(f"/api/v1/companies/{c}/usage", keys.company_a).json()

    assert body["company_id"] == c
    assert {k: v["kind"] for k, v in body["limits"].items()} == {
        "messages": "metered",
        "whatsapp_conversations": "metered",
        "team_members": "gauge",
        "event_timeslots": "cap",
    }
    assert body["limits"]["messages"] == {
        "kind": "metered",
        "value": 10000,
        "used": 0,
        "remaining": 10000,
        "over": False,
    }


# --- tenancy (SPEC §1) --------------------------------------------------------------------


def _writes(c: int) -> list[tuple[str, str, dict]]:
    return [
        ("post", f"/api/v1/companies/{c}/usage/messages/consume", {"quantity": 1}),
        ("put", f"/api/v1/companies/{c}/usage/team_members", {"value": 1}),
    ]


def test_another_resellers_company_is_404_like_a_missing_one(api, keys, personas) -> None:
    c = personas.company_a.pk
    for method, path, body in [*_writes(c), ("get", f"/api/v1/companies/{c}/usage", None)]:
        foreign = api.request(method, path, keys.admin_b, body)
        missing = api.request(method, path.replace(f"/{c}/", "/999999/"), keys.admin_a, body)
        assert_error(foreign, 404, "not_found")
        assert foreign.json() == missing.json()
    events = {"events": [event(1, c)]}
    foreign = assert_error(api.post("/api/v1/usage/events", keys.admin_b, events), 422)
    missing = assert_error(
        api.post("/api/v1/usage/events", keys.admin_a, {"events": [event(1, 999999)]}), 422
    )
    assert foreign == missing
    assert not UsageCounter.objects.exists()


@pytest.mark.parametrize("who", ["viewer_a", "company_a"])
def test_viewer_and_company_keys_cannot_write_usage(api, keys, personas, who) -> None:
    c = personas.company_a.pk
    key = getattr(keys, who)
    for method, path, body in [
        *_writes(c),
        ("post", "/api/v1/usage/events", {"events": [event(1, c)]}),
    ]:
        assert_error(api.request(method, path, key, body), 403, "forbidden")
    assert not UsageCounter.objects.exists()
    assert not UsageEvent.objects.exists()


def test_a_company_key_reads_its_own_usage_only(api, keys, personas) -> None:
    from partnerhub.testing.factories import CompanyFactory

    sibling = CompanyFactory(reseller=personas.reseller_a)

    own = api.get(f"/api/v1/companies/{personas.company_a.pk}/usage", keys.company_a)
    other = api.get(f"/api/v1/companies/{sibling.pk}/usage", keys.company_a)

    assert own.status_code == 200
    assert_error(other, 404, "not_found")


def test_platform_key_records_events_for_any_reseller(api, keys, personas) -> None:
    response = api.post(
        "/api/v1/usage/events", keys.platform, {"events": [event(1, personas.company_a.pk)]}
    )

    assert response.json() == {"accepted": 1, "duplicates": 0}


# --- the hot paths' shape (issue 14's benchmark) -------------------------------------------


def test_consume_and_usage_read_take_two_statements_each(
    api, keys, personas, django_assert_num_queries
) -> None:
    """The key lookup reads the company (and the limit) in its own statement; a consume
    that fits and crosses no threshold is one more statement, a usage read one more."""
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(limit_overrides={"messages": 1000})
    api.get("/api/v1/ping", keys.admin_a)  # the key's last_used_at is now fresh

    with django_assert_num_queries(2):
        consumed = _consume(api, keys.admin_a, company.pk, quantity=3)
    with django_assert_num_queries(2):
        usage = api.get(f"/api/v1/companies/{company.pk}/usage", keys.admin_a)

    assert consumed.json()["used"] == 3
    assert usage.json()["limits"]["messages"]["used"] == 3


def test_a_first_consume_that_reaches_a_threshold_records_it(api, keys, personas) -> None:
    """A new counter row starting at or past 80 % takes the path that records crossings."""
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(
        limit_overrides={"messages": 10, "whatsapp_conversations": 10}
    )

    eight = _consume(api, keys.admin_a, company.pk, quantity=8).json()
    ten = _consume(api, keys.admin_a, company.pk, "whatsapp_conversations", quantity=10).json()

    assert eight["allowed"] is True
    assert ten["allowed"] is True
    rows = UsageThresholdEvent.objects.values_list("limit__key", "threshold", "used")
    assert sorted(rows) == [
        ("messages", 80, 8),
        ("whatsapp_conversations", 80, 10),
        ("whatsapp_conversations", 100, 10),
    ]
    assert Event.objects.filter(type="usage.threshold_reached").count() == 3


def test_consumes_below_a_threshold_record_none_and_the_crossing_one_records_it(
    api, keys, personas
) -> None:
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(limit_overrides={"messages": 100})

    steps = [_consume(api, keys.admin_a, company.pk, quantity=q).json() for q in (50, 29)]
    assert not UsageThresholdEvent.objects.exists()  # 79 of 100
    steps += [_consume(api, keys.admin_a, company.pk, quantity=q).json() for q in (1, 19, 2, 1)]

    assert [s["allowed"] for s in steps] == [True, True, True, True, False, True]
    assert [s["used"] for s in steps] == [50, 79, 80, 99, 99, 100]
    rows = list(UsageThresholdEvent.objects.values_list("threshold", "used"))
    assert rows == [(80, 80), (100, 100)]


def _mixed_batch(start: int, companies: list[int], ts: str) -> list[dict[str, Any]]:
    limits = ["messages", "whatsapp_conversations", "team_members"]
    return [
        {
            "id": f"mix-{n}",
            "company_id": companies[n % len(companies)],
            "limit": limits[n % 3],
            "quantity": 1 + n % 4,
            "timestamp": ts,
        }
        for n in range(start, start + 1000)
    ]


def test_full_batches_with_repeats_inside_and_across_count_each_event_once(
    api, keys, personas
) -> None:
    """Mixed companies and limits (metered and gauge) in batches of 1,000: a repeat inside
    a batch and the overlap with an earlier batch count once; the counters hold the sums
    of the distinct events, one row per (company, limit, period)."""
    others = CompanyFactory.create_batch(3, reseller=personas.reseller_a)
    companies = [personas.company_a.pk, *(c.pk for c in others)]
    ts = _now_iso()
    first = _mixed_batch(0, companies, ts)
    first[999] = dict(first[10])  # a repeat inside the batch
    second = _mixed_batch(500, companies, ts)  # events 500-998 overlap the first batch

    one = api.post("/api/v1/usage/events", keys.admin_a, {"events": first})
    two = api.post("/api/v1/usage/events", keys.admin_a, {"events": second})

    assert one.json() == {"accepted": 999, "duplicates": 1}
    assert two.json() == {"accepted": 501, "duplicates": 499}
    distinct = {e["id"]: e for e in first + second}
    expected: dict[tuple[int, str], int] = {}
    for e in distinct.values():
        key = (e["company_id"], e["limit"])
        expected[key] = expected.get(key, 0) + e["quantity"]
    stored = {
        (c.company_id, c.limit.key): c.used for c in UsageCounter.objects.select_related("limit")
    }
    assert stored == expected
    assert UsageCounter.objects.count() == len(expected)
    assert UsageEvent.objects.count() == len(distinct) == 1500


def test_one_bad_event_in_a_full_batch_is_named_and_nothing_is_stored(api, keys, personas) -> None:
    ts = _now_iso()
    foreign = CompanyFactory(reseller=personas.reseller_b)
    cases = [
        (737, {"company_id": foreign.pk}, "events[737].company_id"),
        (12, {"limit": "event_timeslots"}, "events[12].limit"),
        (998, {"quantity": 0}, "events[998].quantity"),
        (3, {"quantity": "3"}, "events[3].quantity"),
    ]
    for index, bad, field in cases:
        events = _mixed_batch(0, [personas.company_a.pk], ts)
        events[index] = {**events[index], **bad}

        response = api.post("/api/v1/usage/events", keys.admin_a, {"events": events})

        assert field in assert_error(response, 422)["details"], field
    assert not UsageEvent.objects.exists()
    assert not UsageCounter.objects.exists()


def test_an_old_day_is_refused_at_each_of_its_events_index(api, keys, personas) -> None:
    """The period of a (company, day) is worked out once per batch: the refusal still
    names the first event of that day, and a later one alone names its own index."""
    company = personas.company_a.pk
    old = "2000-01-01T00:00:00Z"
    events = [event(n, company) for n in range(5)]
    events[2]["timestamp"] = events[4]["timestamp"] = old

    error = assert_error(api.post("/api/v1/usage/events", keys.admin_a, {"events": events}), 422)
    del events[2]
    later = assert_error(api.post("/api/v1/usage/events", keys.admin_a, {"events": events}), 422)

    assert "events[2].timestamp" in error["details"]
    assert "events[3].timestamp" in later["details"]
    assert not UsageEvent.objects.exists()


def test_the_hot_endpoints_answer_exactly_what_their_response_schemas_validate(
    api, keys, personas
) -> None:
    """Consume and the usage read render their selector's dict without validating it
    again (core.caching.prevalidated_json): each body must equal the schema's own
    rendering, in every shape they answer (allowed, refused, cap, unlimited, a gauge,
    a past period)."""
    from partnerhub.usage.api import ConsumeOut, UsageOut

    c = personas.company_a
    Company.objects.filter(pk=c.pk).update(
        limit_overrides={"messages": 2, "whatsapp_conversations": None}
    )
    consumes = [
        _consume(api, keys.admin_a, c.pk, quantity=2),  # allowed, reaches the limit
        _consume(api, keys.admin_a, c.pk, quantity=1),  # refused
        _consume(api, keys.admin_a, c.pk, quantity=1, id="req-1"),  # refused, with an id
        _consume(api, keys.admin_a, c.pk, "whatsapp_conversations", quantity=5),  # unlimited
        _consume(api, keys.admin_a, c.pk, "event_timeslots", quantity=1),  # a cap
    ]
    api.put(f"/api/v1/companies/{c.pk}/usage/team_members", keys.admin_a, {"value": 3})
    reads = [
        api.get(f"/api/v1/companies/{c.pk}/usage", keys.company_a),
        api.get(f"/api/v1/companies/{c.pk}/usage?period_start=2020-01-15", keys.admin_a),
    ]
    for response, schema in [(r, ConsumeOut) for r in consumes] + [(r, UsageOut) for r in reads]:
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/json; charset=utf-8"
        body = response.json()
        assert body == schema.model_validate(body).model_dump(mode="json")
    assert [r.json()["allowed"] for r in consumes] == [True, False, False, True, True]
    assert reads[0].json()["limits"]["team_members"]["used"] == 3


def test_consumes_rewrite_their_counter_as_hot_updates(api, keys, personas) -> None:
    """The counter's updated columns carry no index and its pages keep half their room
    (usage migration 0002), so PostgreSQL updates it without touching an index."""
    from django.db import connection

    c = personas.company_a
    Company.objects.filter(pk=c.pk).update(limit_overrides={"messages": 1000})
    for _ in range(20):
        assert _consume(api, keys.admin_a, c.pk, quantity=1).json()["allowed"]
    assert _used(c) == 20
    with connection.cursor() as cur:
        constraints = connection.introspection.get_constraints(cur, "usage_usagecounter")
        indexed = {col for k in constraints.values() if k["index"] for col in k["columns"]}
        assert not indexed & {"used", "updated_at"}
        if connection.vendor == "postgresql":  # SQLite has no HOT: rows change in place
            cur.execute("SELECT reloptions FROM pg_class WHERE relname = 'usage_usagecounter'")
            assert "fillfactor=50" in cur.fetchone()[0]
            cur.execute(
                "SELECT pg_stat_get_xact_tuples_updated('usage_usagecounter'::regclass),"
                " pg_stat_get_xact_tuples_hot_updated('usage_usagecounter'::regclass)"
            )
            updated, hot = cur.fetchone()
            assert updated >= 19 and hot == updated
