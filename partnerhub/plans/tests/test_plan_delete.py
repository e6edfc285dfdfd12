"""Deleting a plan detaches its companies set-based (SPEC §4 Delete, issue 10 item 19):
every company keeps exactly what it had, in the same number of statements for 3
companies or 30."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Feature
from partnerhub.companies.models import Company
from partnerhub.companies.selectors import resolve_entitlements
from partnerhub.companies.services import company_create, company_update
from partnerhub.plans.models import Plan
from partnerhub.plans.services import plan_create, plan_delete
from partnerhub.testing.data import GBP_TICKET, plan_data

pytestmark = pytest.mark.django_db

# Locks the plan and its companies, then a fixed set of statements, whatever the number
# of companies (was 665 for 75 companies: one company at a time): 15 for the delete, 12
# for its announcement (the plan.deleted event's plan body, its deliveries, one fan-out row).
DELETE_QUERIES = 27


def _plan(personas: Any, name: str) -> Plan:
    data = plan_data(
        name=name,
        fees=[dict(GBP_TICKET), {**GBP_TICKET, "fee_type": "product", "max_minor": 90}],
        blended={"GBP": True},
        limits={"messages": 100, "team_members": None},  # the others: null
    )
    return plan_create(actor=personas.admin_a, reseller_id=personas.reseller_a.pk, data=data)


def _company(personas: Any, plan: Plan, name: str, **changes: Any) -> Company:
    company = company_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, name=name, plan_id=plan.pk
    )
    if changes:
        company_update(actor=personas.admin_a, company_id=company.pk, changes=changes)
    return Company.objects.get(pk=company.pk)


def _resolved(company_id: int) -> dict[str, Any]:
    """What a company gets, without saying where from (the plan is gone afterwards)."""
    ent = resolve_entitlements(Company.objects.get(pk=company_id)).as_dict()
    return {
        "features": sorted(f["key"] for f in ent["features"]),
        "limits": {k: v["value"] for k, v in ent["limits"].items()},
        "schedule": ent["fees"]["schedule"],
        "blended": ent["fees"]["blended"],
    }


def _varied_companies(personas: Any, plan: Plan) -> list[Company]:
    return [
        _company(personas, plan, "Plain"),
        _company(
            personas,
            plan,
            "Deviating",
            excluded_features=["seating"],
            direct_features=["api_access"],
            own_limits={"messages": 1, "team_members": 9, "event_timeslots": 4},
            limit_overrides={"whatsapp_conversations": 7},
        ),
        _company(personas, plan, "Own Fees", use_plan_fees=False),
        _company(
            personas,
            plan,
            "Own Fees Edited",
            use_plan_fees=False,
            fees=[{**GBP_TICKET, "percent_bps": 999}],
            blended={"GBP": False},
        ),
    ]


def test_every_company_keeps_exactly_its_features_limits_and_fees(personas) -> None:
    plan = _plan(personas, "doomed")
    companies = _varied_companies(personas, plan)
    bystander = _company(
        personas, _plan(personas, "other"), "Bystander", excluded_features=["seating"]
    )
    before = {c.pk: _resolved(c.pk) for c in [*companies, bystander]}
    bystander_row = Company.objects.filter(pk=bystander.pk).values().get()

    plan_delete(actor=personas.admin_a, plan_id=plan.pk)

    for company in companies:
        assert _resolved(company.pk) == before[company.pk], company.name
        stored = Company.objects.get(pk=company.pk)
        assert (stored.plan_id, stored.use_plan_fees, stored.has_own_fees) == (None, True, True)
        assert not stored.excluded_features.exists()
    assert _resolved(bystander.pk) == before[bystander.pk]
    assert Company.objects.filter(pk=bystander.pk).values().get() == bystander_row
    deviating = Company.objects.get(name="Deviating")
    assert sorted(f.key for f in deviating.direct_features.all()) == [
        "api_access",
        "plans",
        "vouchers",
    ]
    assert deviating.own_limits == {
        "messages": 100,
        "team_members": None,
        "whatsapp_conversations": None,
        "event_timeslots": None,
    }
    audit = AuditEvent.objects.get(action="plan.delete", object_id=plan.pk)
    assert audit.changes["company_ids"]["old"] == sorted(c.pk for c in companies)


def test_the_detached_companies_stay_custom_when_the_plan_is_restored(personas) -> None:
    plan = _plan(personas, "doomed")
    plain = _company(personas, plan, "Plain")
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    assert Company.objects.get(pk=plain.pk).plan_id is None
    assert set(Feature.objects.filter(direct_companies=plain).values_list("key", flat=True)) == {
        "plans",
        "seating",
        "vouchers",
    }


def _delete_queries(personas: Any, name: str, companies: int) -> list[str]:
    plan = _plan(personas, name)
    for i in range(companies):
        _company(personas, plan, f"{name} {i}", excluded_features=["seating"] if i % 2 else [])
    with CaptureQueriesContext(connection) as ctx:
        plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    assert (
        Company.objects.filter(name__startswith=f"{name} ", plan__isnull=True).count() == companies
    )
    return [q["sql"] for q in ctx.captured_queries]


def test_delete_costs_the_same_statements_for_3_companies_or_30(personas) -> None:
    few = _delete_queries(personas, "few", 3)
    many = _delete_queries(personas, "many", 30)
    assert len(many) == len(few), "\n".join(many)
    assert len(few) == DELETE_QUERIES, "\n".join(few)
