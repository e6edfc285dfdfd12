"""Subscription terms on companies (SPEC §13): API shape, defaults, plan changes, registration."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.companies.models import Company
from partnerhub.testing.factories import PlanFactory

pytestmark = pytest.mark.django_db


def _plan(reseller, cycles, currencies):
    return PlanFactory(
        reseller=reseller,
        billing_cycles=cycles,
        prices=[(code, cycle, 1) for code in currencies for cycle in cycles],
    )


def test_a_new_company_takes_its_plans_default_terms(api, keys, personas) -> None:
    plan = _plan(personas.reseller_a, ["quarterly", "yearly"], ["USD", "GBP"])

    body = api.post("/api/v1/companies", keys.admin_a, {"name": "New", "plan_id": plan.pk}).json()

    assert body["billing_cycle"] == "quarterly"
    assert body["billing_currency"] == "GBP"
    assert body["billing_anchor"] == timezone.now().date().isoformat()


def test_terms_can_be_set_within_the_plan(api, keys, personas) -> None:
    plan = _plan(personas.reseller_a, ["monthly", "yearly"], ["USD", "GBP"])
    company = personas.company_a
    api.patch(f"/api/v1/companies/{company.pk}", keys.admin_a, {"plan_id": plan.pk})

    ok = api.patch(
        f"/api/v1/companies/{company.pk}",
        keys.admin_a,
        {"billing_cycle": "yearly", "billing_currency": "USD", "billing_anchor": "2026-01-31"},
    )
    bad_cycle = api.patch(
        f"/api/v1/companies/{company.pk}", keys.admin_a, {"billing_cycle": "quarterly"}
    )
    bad_currency = api.patch(
        f"/api/v1/companies/{company.pk}", keys.admin_a, {"billing_currency": "INR"}
    )

    assert ok.status_code == 200, ok.content
    assert (ok.json()["billing_cycle"], ok.json()["billing_currency"]) == ("yearly", "USD")
    assert ok.json()["billing_anchor"] == "2026-01-31"
    assert "billing_cycle" in assert_error(bad_cycle, 422)["details"]
    assert "billing_currency" in assert_error(bad_currency, 422)["details"]
    audit = (
        AuditEvent.objects.filter(action="company.update", object_id=company.pk)
        .order_by("id")
        .last()
    )
    assert audit is not None
    assert audit.changes["billing_anchor"]["new"] == "2026-01-31"
    assert audit.changes["billing_cycle"] == {"old": "monthly", "new": "yearly"}


def test_assigning_a_plan_that_lacks_the_terms_resets_them(api, keys, personas) -> None:
    first = _plan(personas.reseller_a, ["monthly", "yearly"], ["USD", "GBP"])
    second = _plan(personas.reseller_a, ["monthly", "quarterly"], ["INR", "USD"])
    company = personas.company_a
    api.patch(f"/api/v1/companies/{company.pk}", keys.admin_a, {"plan_id": first.pk})
    api.patch(
        f"/api/v1/companies/{company.pk}",
        keys.admin_a,
        {"billing_cycle": "yearly", "billing_currency": "USD", "billing_anchor": "2026-03-31"},
    )

    body = api.patch(f"/api/v1/companies/{company.pk}", keys.admin_a, {"plan_id": second.pk}).json()

    # yearly is not offered: back to the first cycle; USD is: kept; the anchor stays.
    assert (body["billing_cycle"], body["billing_currency"]) == ("monthly", "USD")
    assert body["billing_anchor"] == "2026-03-31"


def test_the_anchor_decides_the_usage_period(api, keys, personas) -> None:
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(billing_anchor=date(2026, 1, 31))

    body = api.get(
        f"/api/v1/companies/{company.pk}/usage", keys.admin_a, {"period_start": "2026-02-28"}
    ).json()

    assert (body["period_start"], body["period_end"]) == ("2026-02-28", "2026-03-31")


def test_a_custom_company_has_usage_periods_and_any_cycle(api, keys, personas) -> None:
    body = api.post(
        "/api/v1/companies", keys.admin_a, {"name": "Custom Co", "billing_cycle": "yearly"}
    ).json()

    usage = api.get(f"/api/v1/companies/{body['id']}/usage", keys.admin_a).json()

    assert body["plan_id"] is None
    assert body["billing_cycle"] == "yearly"
    assert usage["period_start"] == timezone.now().date().isoformat()


def test_registration_gives_the_default_plans_terms(api, personas) -> None:
    plan = _plan(personas.reseller_a, ["monthly", "yearly"], ["GBP"])
    personas.reseller_a.default_registration_plan = plan
    personas.reseller_a.save()

    response = api.post(
        f"/api/v1/register/{personas.reseller_a.slug}",
        None,
        {
            "company_name": "Visitor Ltd",
            "contact_email": "v@example.com",
            "billing_cycle": "yearly",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["billing_cycle"], body["billing_currency"]) == ("yearly", "GBP")
    assert body["billing_anchor"] == timezone.now().date().isoformat()


def test_stored_terms_the_plan_no_longer_offers_are_kept_when_sent_back(
    api, keys, personas
) -> None:
    company, plan = personas.company_a, personas.plan_a  # a plan with no prices
    Company.objects.filter(pk=company.pk).update(billing_cycle="yearly", billing_currency="")

    response = api.patch(
        f"/api/v1/companies/{company.pk}",
        keys.admin_a,
        {"name": "Renamed", "billing_cycle": "yearly"},
    )

    assert plan.billing_cycles == ["monthly"]
    assert response.status_code == 200, response.content
    assert response.json()["billing_cycle"] == "yearly"
