"""The outbox: which changes write which events, in their own transaction (SPEC §14)."""

from __future__ import annotations

import pytest
from django.db import transaction

from partnerhub.catalog.services import limit_create
from partnerhub.companies.cache import etag_for
from partnerhub.companies.models import Company
from partnerhub.companies.selectors import resolve_entitlements
from partnerhub.companies.services import company_create, company_update
from partnerhub.core.actor import SYSTEM
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.fees.recalc import recalculation_run
from partnerhub.plans.services import (
    plan_archive,
    plan_create,
    plan_delete,
    plan_restore,
    plan_unarchive,
    plan_update,
)
from partnerhub.plans.tests.test_plan_services import plan_data
from partnerhub.resellers.services import reseller_update
from partnerhub.testing.factories import CompanyFactory, PlanFactory
from partnerhub.webhooks.entitlements import EntitlementsBatch, companies_for_resolution
from partnerhub.webhooks.models import Delivery, Event, FanOut
from partnerhub.webhooks.services import endpoint_create, usage_threshold_reached_emit
from partnerhub.webhooks.tests.helpers import (
    entitlement_events_by_company,
    events_of,
    run_fanouts,
)

pytestmark = pytest.mark.django_db


def _edit_plan(personas, plan, **changes):
    plan.refresh_from_db()
    return plan_update(
        actor=personas.admin_a, plan_id=plan.pk, changes=changes, version=plan.version
    )


def test_plan_edit_removing_a_feature_skips_the_company_that_already_excluded_it(personas):
    plan = personas.plan_a  # features: plans, seating
    others = [CompanyFactory(reseller=personas.reseller_a, plan=plan) for _ in range(4)]
    excluding = CompanyFactory(reseller=personas.reseller_a, plan=plan)
    company_update(
        actor=personas.admin_a, company_id=excluding.pk, changes={"excluded_features": ["seating"]}
    )
    Event.objects.all().delete()

    _edit_plan(personas, plan, features=["plans"])
    assert events_of("company.entitlements_changed") == []  # the request only wrote a fan-out
    assert FanOut.objects.filter(done=False).count() == 1
    run_fanouts()

    expected = {c.pk: 1 for c in [personas.company_a, *others]}
    assert entitlement_events_by_company() == expected
    assert excluding.pk not in entitlement_events_by_company()
    assert [e.data["id"] for e in events_of("plan.updated")] == [plan.pk]


def test_entitlements_event_carries_what_the_api_answers(personas):
    _edit_plan(personas, personas.plan_a, limits={"messages": 5})
    run_fanouts()

    (event,) = events_of("company.entitlements_changed")
    company = Company.objects.get(pk=personas.company_a.pk)
    body = resolve_entitlements(company).as_dict()
    assert event.data["company_id"] == company.pk
    assert event.data["entitlements"]["limits"]["messages"]["value"] == 5
    assert event.data["entitlements"]["limits"] == body["limits"]
    assert event.data["entitlements"]["features"] == body["features"]
    assert event.data["etag"] == etag_for(event.data["entitlements"])


def test_plan_edit_that_changes_no_entitlement_announces_no_company(personas):
    CompanyFactory(reseller=personas.reseller_a, plan=personas.plan_a)
    _edit_plan(personas, personas.plan_a, description="Only the description changes")
    run_fanouts()

    assert len(events_of("plan.updated")) == 1
    assert events_of("company.entitlements_changed") == []


def test_funnel_change_reaches_its_companies_and_no_other_resellers(personas):
    plan_b = PlanFactory(reseller=personas.reseller_b, features=["plans", "seating"])
    company_b = CompanyFactory(reseller=personas.reseller_b, plan=plan_b)
    custom_a = CompanyFactory(reseller=personas.reseller_a, plan=None)
    company_update(
        actor=personas.admin_a, company_id=custom_a.pk, changes={"direct_features": ["seating"]}
    )
    untouched_a = CompanyFactory(reseller=personas.reseller_a, plan=None)  # nothing to lose
    Event.objects.all().delete()

    reseller_update(
        actor=personas.platform,
        reseller_id=personas.reseller_a.pk,
        changes={"features": ["plans", "vouchers", "api_access"]},  # seating off
    )
    run_fanouts()

    changed = entitlement_events_by_company()
    assert changed == {personas.company_a.pk: 1, custom_a.pk: 1}
    assert company_b.pk not in changed and untouched_a.pk not in changed
    seating = [
        f
        for f in events_of("company.entitlements_changed")[0].data["entitlements"]["features"]
        if f["key"] == "seating"
    ]
    assert seating == []


def test_company_override_announces_update_and_changed_entitlements(personas):
    company_update(
        actor=personas.admin_a,
        company_id=personas.company_a.pk,
        changes={"limit_overrides": {"team_members": 50}},
    )

    assert [e.data["id"] for e in events_of("company.updated")] == [personas.company_a.pk]
    (event,) = events_of("company.entitlements_changed")
    assert event.data["entitlements"]["limits"]["team_members"]["value"] == 50
    assert event.reseller_id == personas.reseller_a.pk


def test_company_rename_changes_no_entitlements(personas):
    company_update(actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "X"})

    assert len(events_of("company.updated")) == 1
    assert events_of("company.entitlements_changed") == []


def test_company_create_announces_the_company_and_its_entitlements(personas):
    company = company_create(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        name="New",
        plan_id=personas.plan_a.pk,
    )

    assert [e.data["id"] for e in events_of("company.created")] == [company.pk]
    assert [e.data["company_id"] for e in events_of("company.entitlements_changed")] == [company.pk]


def test_a_rolled_back_write_leaves_no_event_and_no_fanout(personas):
    endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://example.com/h"
    )

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        company_update(
            actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "Gone"}
        )
        _edit_plan(personas, personas.plan_a, features=["plans"])
        assert Event.objects.count() == 2  # company.updated, plan.updated: written...
        assert FanOut.objects.count() == 1
        raise Abort

    assert Event.objects.count() == 0  # ...and gone with it
    assert FanOut.objects.count() == 0
    assert Delivery.objects.count() == 0


def test_plan_lifecycle_events(personas):
    plan = plan_create(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        data=plan_data(),
    )
    plan_archive(actor=personas.admin_a, plan_id=plan.pk)
    plan_unarchive(actor=personas.admin_a, plan_id=plan.pk)
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    plan_restore(actor=personas.admin_a, plan_id=plan.pk)

    types = [e.type for e in Event.objects.order_by("id")]
    assert types == [
        "plan.created",
        "plan.archived",
        "plan.unarchived",
        "plan.deleted",
        "plan.restored",
    ]
    assert all(e.data["id"] == plan.pk for e in Event.objects.all())


def test_plan_delete_announces_every_company_on_it(personas):
    extra = CompanyFactory(reseller=personas.reseller_a, plan=personas.plan_a)
    plan_delete(actor=personas.admin_a, plan_id=personas.plan_a.pk)
    run_fanouts()

    assert entitlement_events_by_company() == {personas.company_a.pk: 1, extra.pk: 1}
    assert all(
        e.data["entitlements"]["plan"] is None for e in events_of("company.entitlements_changed")
    )


def test_new_limit_reaches_every_resellers_companies(personas):
    company_b = CompanyFactory(reseller=personas.reseller_b, plan=None)
    limit_create(actor=personas.platform, key="seats", name="Seats")
    run_fanouts()

    assert entitlement_events_by_company() == {personas.company_a.pk: 1, company_b.pk: 1}


def test_recalculation_announces_its_end(personas):
    job = recalculation_enqueue(
        actor=SYSTEM, reseller_id=personas.reseller_a.pk, plan_id=personas.plan_a.pk, reason="t"
    )
    recalculation_run(job_id=job.pk)

    (event,) = events_of("recalculation.succeeded")
    assert event.data["id"] == job.pk and event.reseller_id == personas.reseller_a.pk


def test_batch_resolver_matches_selector(personas):
    plan = personas.plan_a
    c1 = CompanyFactory(reseller=personas.reseller_a, plan=plan)
    company_update(
        actor=personas.admin_a,
        company_id=c1.pk,
        changes={
            "excluded_features": ["seating"],
            "direct_features": ["vouchers"],
            "limit_overrides": {"messages": 7},
            "use_plan_fees": False,
        },
    )
    c2 = CompanyFactory(reseller=personas.reseller_a, plan=None)
    company_update(
        actor=personas.admin_a,
        company_id=c2.pk,
        changes={"own_limits": {"team_members": 2}, "direct_features": ["api_access"]},
    )
    companies = list(companies_for_resolution([personas.company_a.pk, c1.pk, c2.pk]))
    batch = EntitlementsBatch(companies)

    for company in companies:
        fresh = Company.objects.select_related("reseller", "plan").get(pk=company.pk)
        assert batch.now(company) == resolve_entitlements(fresh).as_dict()


def test_deliveries_go_to_matching_endpoints_only(personas):
    every = endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://a.example/h"
    ).endpoint
    plans_only = endpoint_create(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        url="https://b.example/h",
        event_types=["plan.updated"],
    ).endpoint
    outsider = endpoint_create(
        actor=personas.admin_b, reseller_id=personas.reseller_b.pk, url="https://c.example/h"
    ).endpoint
    platform = endpoint_create(
        actor=personas.platform, reseller_id=None, url="https://d.example/h"
    ).endpoint

    company_update(
        actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "Renamed"}
    )

    assert set(Delivery.objects.values_list("endpoint_id", flat=True)) == {every.pk, platform.pk}
    assert not Delivery.objects.filter(endpoint__in=[plans_only, outsider]).exists()


def test_usage_threshold_event_for_the_usage_app(personas):
    endpoint = endpoint_create(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        url="https://a.example/h",
        event_types=["usage.threshold_reached"],
    ).endpoint
    usage_threshold_reached_emit(
        reseller_id=personas.reseller_a.pk,
        company_id=personas.company_a.pk,
        limit="messages",
        threshold=80,
        used=8000,
        value=10000,
        period_start="2026-11-01T00:00:00Z",
    )

    (event,) = events_of("usage.threshold_reached")
    assert event.data == {
        "company_id": personas.company_a.pk,
        "limit": "messages",
        "threshold": 80,
        "used": 8000,
        "value": 10000,
        "period_start": "2026-11-01T00:00:00Z",
    }
    assert Delivery.objects.get().endpoint_id == endpoint.pk
    with pytest.raises(ValueError):
        usage_threshold_reached_emit(
            reseller_id=personas.reseller_a.pk,
            company_id=personas.company_a.pk,
            limit="messages",
            threshold=50,
            used=1,
            value=2,
            period_start=None,
        )


def test_reseller_fee_change_reaches_companies_on_reseller_fees_only(personas):
    on_reseller_fees = CompanyFactory(reseller=personas.reseller_a, plan=None)
    reseller_update(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        changes={
            "fees": [
                {"currency": "GBP", "fee_type": "ticket", "percent_bps": 120, "fixed_minor": 5}
            ],
        },
        fee_apply_mode="new",
    )
    run_fanouts()

    # company_a is on a plan with plan fees: its entitlements did not change.
    assert entitlement_events_by_company() == {on_reseller_fees.pk: 1}
