"""Deleting a plan detaches its companies (SPEC §4 Delete, issue 10 item 19): every company
keeps exactly what it had, in the same number of statements for 3 companies or 30.

The companies share the deleted plan's frozen configuration (copy-on-write,
companies.models.PlanSnapshot): these tests hold that every reader (selectors, API, hub,
fee terms and recalculation, usage limits, the webhook batch resolver) sees exactly what
a company unlinked on its own holds, and that nothing done to the plan afterwards, nor to
another company, reaches them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Currency, FeeType, Limit
from partnerhub.companies.models import Company, PlanSnapshot
from partnerhub.companies.selectors import (
    company_serialize,
    reseller_feature_loss,
    resolve_entitlements,
)
from partnerhub.companies.services import company_create, company_update
from partnerhub.core.actor import platform_actor
from partnerhub.fees.models import SaleItem
from partnerhub.fees.recalc import recalculate_items
from partnerhub.fees.services import fee_quote
from partnerhub.fees.terms import item_terms
from partnerhub.plans.models import Plan
from partnerhub.plans.services import plan_create, plan_delete, plan_restore, plan_update
from partnerhub.testing.data import GBP_TICKET, plan_data
from partnerhub.testing.factories import SaleItemFactory
from partnerhub.testing.formpost import form_data
from partnerhub.testing.personas import build_personas
from partnerhub.usage.lookup import usage_company_get
from partnerhub.web.tests.hubworld import client_for
from partnerhub.web.tests.test_form_round_trip import PLAN_FORM, assert_round_trip
from partnerhub.webhooks.entitlements import EntitlementsBatch, companies_for_resolution
from partnerhub.webhooks.models import Event
from partnerhub.webhooks.tests.helpers import events_of, run_fanouts

pytestmark = pytest.mark.django_db

# Locks the plan, then a fixed set of statements whatever the number of companies (was
# 665 for 75 companies: one company at a time; then 27 copying the plan onto every
# company set-based): 15 for the delete, of which 5 freeze the plan's configuration once
# and 1 UPDATE points its companies at it (copy-on-write), and 12 for its announcement
# (the plan.deleted event's plan body, its deliveries, one fan-out row).
DELETE_QUERIES = 27

# What a company holds, as the API and the hub show it, without its name and stamps.
SHOWN = (
    "plan_id",
    "use_plan_fees",
    "deviates_from_plan",
    "direct_features",
    "excluded_features",
    "limit_overrides",
    "own_limits",
    "has_own_fees",
    "fees",
    "blended",
    "billing_cycle",
    "billing_currency",
)


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


def _shown(company_id: int) -> dict[str, Any]:
    data = company_serialize(Company.objects.get(pk=company_id))
    return {key: data[key] for key in SHOWN}


VARIETIES: dict[str, dict[str, Any]] = {
    "Plain": {},
    "Deviating": {
        "excluded_features": ["seating"],
        "direct_features": ["api_access"],
        "own_limits": {"messages": 1, "team_members": 9, "event_timeslots": 4},
        "limit_overrides": {"whatsapp_conversations": 7},
    },
    "Own Fees": {"use_plan_fees": False},
    "Own Fees Edited": {
        "use_plan_fees": False,
        "fees": [{**GBP_TICKET, "percent_bps": 999}],
        "blended": {"GBP": False},
    },
}


def _varied_companies(personas: Any, plan: Plan, prefix: str = "") -> list[Company]:
    return [
        _company(personas, plan, f"{prefix}{name}", **changes)
        for name, changes in VARIETIES.items()
    ]


def _fee_terms(company_id: int) -> dict[tuple[str, str], Any]:
    """The terms every (currency, fee type) of the catalog is priced with, as fees/terms.py
    reads them for item writes, quotes and (the same SQL) recalculation."""
    return {
        (currency, fee_type): item_terms(company_id, currency, fee_type)
        for currency in Currency.objects.values_list("code", flat=True)
        for fee_type in FeeType.objects.values_list("key", flat=True)
    }


def _usage_limits(company_id: int) -> dict[str, int | None]:
    usage = usage_company_get(platform_actor("test"), company_id)
    return {key: usage.limit_value(key) for key in Limit.objects.values_list("key", flat=True)}


def _everything(company_id: int) -> dict[str, Any]:
    """Every reader's view of one company: entitlements, the API/hub company shape, fee
    terms and the usage limits."""
    return {
        "entitlements": _resolved(company_id),
        "shown": _shown(company_id),
        "terms": _fee_terms(company_id),
        "usage": _usage_limits(company_id),
    }


def test_every_company_keeps_exactly_its_features_limits_and_fees(personas) -> None:
    plan = _plan(personas, "doomed")
    companies = _varied_companies(personas, plan)
    bystander = _company(
        personas, _plan(personas, "other"), "Bystander", excluded_features=["seating"]
    )
    before = {c.pk: _resolved(c.pk) for c in [*companies, bystander]}
    terms_before = {c.pk: _fee_terms(c.pk) for c in companies}
    usage_before = {c.pk: _usage_limits(c.pk) for c in companies}
    bystander_row = Company.objects.filter(pk=bystander.pk).values().get()

    plan_delete(actor=personas.admin_a, plan_id=plan.pk)

    for company in companies:
        assert _resolved(company.pk) == before[company.pk], company.name
        assert _fee_terms(company.pk) == terms_before[company.pk], company.name
        assert _usage_limits(company.pk) == usage_before[company.pk], company.name
        stored = Company.objects.get(pk=company.pk)
        assert (stored.plan_id, stored.use_plan_fees, stored.has_own_fees) == (None, True, True)
        assert _shown(company.pk)["excluded_features"] == []
    assert _resolved(bystander.pk) == before[bystander.pk]
    assert Company.objects.filter(pk=bystander.pk).values().get() == bystander_row
    deviating = _shown(Company.objects.get(name="Deviating").pk)
    assert deviating["direct_features"] == ["api_access", "plans", "vouchers"]
    assert deviating["own_limits"] == {
        "messages": 100,
        "team_members": None,
        "whatsapp_conversations": None,
        "event_timeslots": None,
    }
    plain = _shown(Company.objects.get(name="Plain").pk)
    assert (plain["fees"], plain["blended"]) == (
        [
            {**GBP_TICKET, "fee_type": "product", "min_minor": None, "max_minor": 90},
            {**GBP_TICKET, "min_minor": None, "max_minor": None},
        ],
        {"GBP": True},
    )
    audit = AuditEvent.objects.get(action="plan.delete", object_id=plan.pk)
    assert audit.changes["company_ids"]["old"] == sorted(c.pk for c in companies)


def test_a_deleted_plan_shows_what_unlinking_each_company_would_have_stored(personas) -> None:
    """Copy-on-write is exact: every reader sees of a company of a deleted plan what the
    one-company unlink (company_detach_from_plan, which copies) leaves in its twin."""
    plan = _plan(personas, "doomed")
    deleted = _varied_companies(personas, plan)
    unlinked = _varied_companies(personas, plan, prefix="Twin ")
    for company in unlinked:
        company_update(actor=personas.admin_a, company_id=company.pk, changes={"plan_id": None})

    plan_delete(actor=personas.admin_a, plan_id=plan.pk)

    assert all(Company.objects.get(pk=c.pk).plan_snapshot_id for c in deleted)
    assert not any(Company.objects.get(pk=c.pk).plan_snapshot_id for c in unlinked)
    for company, twin in zip(deleted, unlinked, strict=True):
        assert _everything(company.pk) | {"terms": None} == _everything(twin.pk) | {
            "terms": None
        }, company.name
        assert {k: _strip(t) for k, t in _fee_terms(company.pk).items()} == {
            k: _strip(t) for k, t in _fee_terms(twin.pk).items()
        }


def _strip(terms: Any) -> Any:
    """Terms without the company's id (twins are different companies)."""
    return None if terms is None else (terms.has_entry, terms.fees(2000))


def test_restored_plan_edits_never_reach_its_former_companies(personas) -> None:
    plan = _plan(personas, "doomed")
    companies = _varied_companies(personas, plan)
    before = {c.pk: _everything(c.pk) for c in companies}
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    detached = {c.pk: _everything(c.pk) for c in companies}

    restored = plan_restore(actor=personas.admin_a, plan_id=plan.pk)
    assert not Company.objects.filter(plan=restored).exists()  # nobody is re-assigned
    edited = plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        changes={
            "features": ["plans"],
            "limits": {"messages": 5},
            "fees": [{**GBP_TICKET, "percent_bps": 1}],
            "blended": {"GBP": False},
        },
        version=restored.version,
        fee_apply_mode="new",
    ).plan
    newcomer = _company(personas, edited, "Newcomer")

    for company in companies:
        assert _everything(company.pk) == detached[company.pk], company.name
        assert _resolved(company.pk) == before[company.pk]["entitlements"], company.name
        assert _fee_terms(company.pk) == before[company.pk]["terms"], company.name
    assert _resolved(newcomer.pk)["features"] == ["plans"]
    assert _resolved(newcomer.pk)["limits"]["messages"] == 5
    assert _resolved(newcomer.pk)["schedule"][0]["percent_bps"] == 1


def test_a_company_own_edit_copies_the_snapshot_in_and_changes_only_that_company(personas) -> None:
    plan = _plan(personas, "doomed")
    companies = _varied_companies(personas, plan)
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    before = {c.pk: _everything(c.pk) for c in companies}
    deviating = next(c for c in companies if c.name == "Deviating")
    plain = next(c for c in companies if c.name == "Plain")

    company_update(
        actor=personas.admin_a, company_id=deviating.pk, changes={"own_limits": {"messages": 3}}
    )
    company_update(
        actor=personas.admin_a,
        company_id=plain.pk,
        changes={"fees": [{**GBP_TICKET, "percent_bps": 7}], "blended": {"GBP": False}},
    )

    for company in companies:
        if company.pk not in (deviating.pk, plain.pk):
            assert _everything(company.pk) == before[company.pk], company.name
            assert Company.objects.get(pk=company.pk).plan_snapshot_id is not None
    stored = Company.objects.get(pk=deviating.pk)
    assert (stored.plan_snapshot_id, stored.snapshot_fee_schedule_id) == (None, None)
    assert sorted(f.key for f in stored.direct_features.all()) == [
        "api_access",
        "plans",
        "vouchers",
    ]
    assert not stored.excluded_features.exists()
    assert stored.own_limits == {"messages": 3}  # the edit replaced the whole own limits
    after = _everything(deviating.pk)
    assert after["entitlements"]["features"] == before[deviating.pk]["entitlements"]["features"]
    assert after["entitlements"]["limits"] == {
        **{k: None for k in before[deviating.pk]["entitlements"]["limits"]},
        "messages": 3,
        "whatsapp_conversations": 7,
    }
    assert after["terms"] == before[deviating.pk]["terms"]
    plain_after = _everything(plain.pk)
    assert plain_after["entitlements"]["schedule"] == [
        {**GBP_TICKET, "percent_bps": 7, "min_minor": None, "max_minor": None}
    ]
    assert plain_after["entitlements"]["features"] == before[plain.pk]["entitlements"]["features"]
    assert plain_after["entitlements"]["limits"] == before[plain.pk]["entitlements"]["limits"]
    assert PlanSnapshot.objects.get(plan=plan).fee_schedule.entries.count() == 2  # untouched


def test_an_edit_that_changes_nothing_writes_nothing(personas) -> None:
    plan = _plan(personas, "doomed")
    deviating = _company(personas, plan, "Deviating", **VARIETIES["Deviating"])
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    row = Company.objects.filter(pk=deviating.pk).values().get()
    shown = _shown(deviating.pk)
    audits = AuditEvent.objects.count()

    result = company_update(
        actor=personas.admin_a,
        company_id=deviating.pk,
        changes={"name": "Deviating", "direct_features": shown["direct_features"]},
    )

    assert result.job is None and result.company.plan_snapshot_id is not None
    assert Company.objects.filter(pk=deviating.pk).values().get() == row
    assert AuditEvent.objects.count() == audits


def test_assigning_a_plan_to_a_company_of_a_deleted_plan_starts_from_what_it_kept(personas) -> None:
    plan = _plan(personas, "doomed")
    deviating = _company(personas, plan, "Deviating", **VARIETIES["Deviating"])
    other = _plan(personas, "other")
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)

    company_update(actor=personas.admin_a, company_id=deviating.pk, changes={"plan_id": other.pk})

    shown = _shown(deviating.pk)
    # The new plan takes over the kept features it also gives (SPEC §5); api_access stays.
    assert (shown["plan_id"], shown["direct_features"], shown["excluded_features"]) == (
        other.pk,
        ["api_access"],
        [],
    )
    assert shown["own_limits"]["messages"] == 100  # kept from the deleted plan
    assert _resolved(deviating.pk)["features"] == ["api_access", "plans", "seating", "vouchers"]


def test_fees_are_priced_and_recalculated_alike_before_and_after_delete(personas) -> None:
    plan = _plan(personas, "doomed")
    companies = _varied_companies(personas, plan)
    for company in companies:
        SaleItemFactory(company=company, fee_type_id="ticket", price_minor=12345)
        SaleItemFactory(company=company, fee_type_id="product", price_minor=99999)
    ids = [c.pk for c in companies]
    fields = ("id", "reseller_fee_minor", "gateway_fee_minor", "blended")
    recalculate_items(ids)
    stored = list(SaleItem.objects.filter(company_id__in=ids).order_by("id").values(*fields))
    quotes = {c: fee_quote(actor=personas.admin_a, company_id=c, **_ticket()) for c in ids}

    plan_delete(actor=personas.admin_a, plan_id=plan.pk)

    assert {c: fee_quote(actor=personas.admin_a, company_id=c, **_ticket()) for c in ids} == quotes
    recalculate_items(ids)
    assert list(SaleItem.objects.filter(company_id__in=ids).order_by("id").values(*fields)) == (
        stored
    )
    assert any(row["blended"] for row in stored) and any(
        row["reseller_fee_minor"] for row in stored
    )


def _ticket() -> dict[str, Any]:
    return {"currency": "GBP", "fee_type": "ticket", "price_minor": 5000}


def test_the_webhook_batch_resolver_matches_the_selector_for_a_deleted_plan(personas) -> None:
    plan = _plan(personas, "doomed")
    companies = _varied_companies(personas, plan)
    last_event = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)

    loaded = list(companies_for_resolution([c.pk for c in companies]))
    batch = EntitlementsBatch(loaded)

    for company in loaded:
        fresh = Company.objects.select_related("reseller", "plan").get(pk=company.pk)
        assert batch.now(company) == resolve_entitlements(fresh).as_dict(), fresh.name

    # The worker announces each company once, with exactly what the API answers.
    run_fanouts()
    events = [e for e in events_of("company.entitlements_changed") if e.pk > last_event]
    assert sorted(e.data["company_id"] for e in events) == sorted(c.pk for c in companies)
    for event in events:
        fresh = Company.objects.get(pk=event.data["company_id"])
        assert event.data["entitlements"] == resolve_entitlements(fresh).as_dict()


def test_the_hub_form_of_a_company_of_a_deleted_plan_round_trips(personas) -> None:
    plan = _plan(personas, "doomed")
    deviating = _company(personas, plan, "Deviating", **VARIETIES["Deviating"])
    before = _everything(deviating.pk)
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    url = reverse("companies:edit", args=[deviating.pk])

    after_delete = _everything(deviating.pk)
    page = client_for(personas.admin_a_user).get(url).content
    # The kept plan features show as the company's own (direct) features, checked.
    assert {"plans", "vouchers", "api_access"} <= set(
        form_data(page, PLAN_FORM["form"])["direct_features"]
    )
    assert_round_trip(client_for(personas.admin_a_user), url, PLAN_FORM)

    assert _everything(deviating.pk) == after_delete
    assert after_delete["entitlements"] == before["entitlements"]
    assert after_delete["usage"] == before["usage"]
    assert Company.objects.get(pk=deviating.pk).plan_snapshot_id is not None


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


# --- Property: any company on a deleted plan reads as before; an own edit reaches it only --

LIMIT_KEYS = ["messages", "team_members", "whatsapp_conversations", "event_timeslots"]
limit_maps = st.dictionaries(
    st.sampled_from(LIMIT_KEYS), st.one_of(st.none(), st.integers(0, 50)), max_size=3
)
company_configs = st.fixed_dictionaries(
    {},
    optional={
        "excluded_features": st.lists(st.sampled_from(["seating", "vouchers"]), unique=True),
        "direct_features": st.lists(st.sampled_from(["api_access", "seating"]), unique=True),
        "own_limits": limit_maps,
        "limit_overrides": limit_maps,
        "use_plan_fees": st.booleans(),
    },
)
own_edits = st.one_of(
    st.fixed_dictionaries({"own_limits": limit_maps}),
    st.fixed_dictionaries({"limit_overrides": limit_maps}),
    st.fixed_dictionaries(
        {"direct_features": st.lists(st.sampled_from(["api_access", "plans"]), unique=True)}
    ),
    st.fixed_dictionaries(
        {
            "fees": st.just([{**GBP_TICKET, "percent_bps": 4321}]),
            "blended": st.just({"GBP": False}),
        }
    ),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(configs=st.lists(company_configs, min_size=2, max_size=3), edit=own_edits)
def test_any_company_reads_the_same_after_delete_and_only_its_own_edit_changes_it(
    db: Any, configs: list[dict[str, Any]], edit: dict[str, Any]
) -> None:
    # One savepoint per example, rolled back at its end: examples never see each other.
    with transaction.atomic():
        personas = build_personas()
        plan = _plan(personas, "doomed")
        companies = [
            _company(personas, plan, f"c{i}", **config) for i, config in enumerate(configs)
        ]
        before = {c.pk: _everything(c.pk) for c in companies}

        plan_delete(actor=personas.admin_a, plan_id=plan.pk)

        after = {c.pk: _everything(c.pk) for c in companies}
        for company in companies:
            assert after[company.pk]["entitlements"] == before[company.pk]["entitlements"]
            assert after[company.pk]["terms"] == before[company.pk]["terms"]
            assert after[company.pk]["usage"] == before[company.pk]["usage"]
        edited, *others = companies
        company_update(actor=personas.admin_a, company_id=edited.pk, changes=edit)
        for company in others:
            assert _everything(company.pk) == after[company.pk]
        # The edit copied the snapshot in, unless it changed nothing (then nothing is written).
        written = AuditEvent.objects.filter(
            action="company.update", object_id=edited.pk, created_at__gt=_delete_time(plan)
        ).exists()
        assert (Company.objects.get(pk=edited.pk).plan_snapshot_id is None) == written
        if not written:
            assert _everything(edited.pk) == after[edited.pk]
        transaction.set_rollback(True)


def _delete_time(plan: Plan) -> Any:
    return AuditEvent.objects.get(action="plan.delete", object_id=plan.pk).created_at


def test_turning_a_feature_off_names_the_companies_of_a_deleted_plan(personas) -> None:
    """The reseller form's warning (issue 13) counts a company that keeps a feature through
    its deleted plan's snapshot exactly like one that holds it as its own row."""
    plan = _plan(personas, "doomed")
    kept = _company(personas, plan, "Keeps it")
    without = _company(personas, plan, "Took it off", excluded_features=["seating"])
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    assert Company.objects.get(pk=kept.pk).plan_snapshot_id is not None

    losses = {
        loss.feature: loss for loss in reseller_feature_loss(personas.reseller_a.pk, ["seating"])
    }

    assert kept.name in losses["Seating"].companies
    assert without.name not in losses["Seating"].companies
