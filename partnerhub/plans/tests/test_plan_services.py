"""Plan rules of SPEC §3-5, one test per behaviour, through the services."""

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
from partnerhub.core.errors import (
    Conflict,
    FeatureUnavailable,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from partnerhub.fees.apply import FeeApplyModeRequired
from partnerhub.fees.models import RecalcJob
from partnerhub.plans.models import Plan
from partnerhub.plans.selectors import plan_get_for_actor, plan_list_for_actor, plan_serialize
from partnerhub.plans.services import (
    plan_archive,
    plan_create,
    plan_delete,
    plan_duplicate,
    plan_preview,
    plan_restore,
    plan_set_enabled,
    plan_unarchive,
    plan_update,
)
from partnerhub.testing.data import GBP_TICKET, plan_data
from partnerhub.testing.factories import SaleItemFactory


def new_plan(personas, **over: Any) -> Plan:
    return plan_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, data=plan_data(**over)
    )


def new_company(personas, plan: Plan | None = None, name: str = "Beta Ltd") -> Company:
    return company_create(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        name=name,
        plan_id=plan.pk if plan else None,
    )


def feature_keys(company: Company) -> set[str]:
    company.refresh_from_db()
    return resolve_entitlements(Company.objects.get(pk=company.pk)).feature_keys()


def test_plan_create_stores_every_field_and_audits_it(personas):
    plan = new_plan(personas)
    data = plan_serialize(plan)
    assert data["name"] == "silver" and data["display_name"] == "Silver"
    assert data["billing_cycles"] == ["monthly", "yearly"]
    assert data["prices"][1] == {
        "currency": "INR",
        "billing_cycle": "yearly",
        "amount_minor": 999900,
        "gst_minor": 179982,  # 18 % of 999900
        "gross_minor": 1179882,
    }
    assert data["features"] == ["plans", "seating", "vouchers"]
    assert data["fees"][0]["percent_bps"] == 250 and data["blended"] == {"GBP": False}
    assert data["limits"]["event_timeslots"] is None and data["version"] == 1
    event = AuditEvent.objects.get(action="plan.create", object_id=plan.pk)
    assert event.changes["name"] == {"old": None, "new": "silver"}
    assert event.reseller_id == personas.reseller_a.pk and event.actor_label == "admin-a"


def test_plan_name_is_unique_per_reseller_among_live_plans(personas):
    new_plan(personas)
    with pytest.raises(Conflict) as err:
        new_plan(personas)
    assert err.value.details["suggested_name"] == "silver (2)"
    # Another reseller may use the name.
    plan_create(
        actor=personas.admin_b,
        reseller_id=personas.reseller_b.pk,
        data=plan_data(features=["plans"]),
    )
    assert Plan.objects.filter(name="silver").count() == 2


def test_plan_may_only_include_features_its_reseller_enabled(personas):
    with pytest.raises(ValidationFailed) as err:
        plan_create(
            actor=personas.admin_b,
            reseller_id=personas.reseller_b.pk,
            data=plan_data(features=["plans", "vouchers"]),
        )
    assert "vouchers" in err.value.details["features"][0]
    assert not Plan.objects.filter(reseller=personas.reseller_b).exists()


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"plan_type": "revenue_sharing"}, "revenue_share_bps"),
        ({"revenue_share_bps": 1500}, "revenue_share_bps"),
        ({"billing_cycles": ["monthly"]}, "prices"),
        (
            {"prices": [{"currency": "INR", "billing_cycle": "monthly", "amount_minor": 1}]},
            "prices",
        ),
        (
            {
                "prices": [
                    {"currency": "INR", "billing_cycle": "monthly", "amount_minor": -1},
                    {"currency": "INR", "billing_cycle": "yearly", "amount_minor": 5},
                ]
            },
            "prices[0].amount_minor",
        ),
        (
            {"prices": [{"currency": "XYZ", "billing_cycle": "monthly", "amount_minor": 1}]},
            "prices[0]",
        ),
        ({"limits": {"rockets": 3}}, "limits.rockets"),
        ({"limits": {"messages": -5}}, "limits.messages"),
        ({"fees": [{**GBP_TICKET, "fixed_minor": -1}]}, "fees[0]"),
        ({"billing_cycles": []}, "billing_cycles"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_plan_input_is_rejected_naming_the_field(personas, over, field):
    with pytest.raises(ValidationFailed) as err:
        new_plan(personas, **over)
    assert field in err.value.details
    assert not Plan.objects.filter(name="silver").exists()


def test_revenue_sharing_plan_requires_and_keeps_its_share(personas):
    plan = new_plan(personas, plan_type="revenue_sharing", revenue_share_bps=2000)
    assert plan_serialize(plan)["revenue_share_bps"] == 2000


def test_stale_version_is_a_conflict_and_changes_nothing(personas):
    plan = new_plan(personas)
    plan_update(actor=personas.admin_a, plan_id=plan.pk, changes={"display_name": "A"}, version=1)
    with pytest.raises(Conflict) as err:
        plan_update(
            actor=personas.admin_a, plan_id=plan.pk, changes={"display_name": "B"}, version=1
        )
    assert err.value.code == "stale_version"
    plan.refresh_from_db()
    assert plan.display_name == "A" and plan.version == 2


def test_plan_edit_reaches_every_company_on_it_at_once(personas):
    plan = new_plan(personas)
    companies = [new_company(personas, plan, name=f"C{i}") for i in range(3)]
    assert all("vouchers" in feature_keys(c) for c in companies)
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        version=plan.version,
        changes={"features": ["plans", "seating"], "limits": {"messages": 5}},
    )
    for company in companies:
        assert "vouchers" not in feature_keys(company)
        ent = resolve_entitlements(Company.objects.get(pk=company.pk))
        assert ent.limits["messages"] == {"value": 5, "period": "month", "source": "plan"}


def test_preview_names_removed_features_and_affected_companies_and_saves_nothing(personas):
    plan = new_plan(personas)
    acme = new_company(personas, plan, name="Acme")
    preview = plan_preview(
        actor=personas.admin_a,
        plan_id=plan.pk,
        changes={"features": ["plans", "seating", "api_access"]},
    )
    assert preview.removed_features == ["vouchers"]
    assert preview.added_features == ["api_access"]
    assert preview.affected_companies == [{"id": acme.pk, "name": "Acme"}]
    assert preview.recalculation == "none"
    plan.refresh_from_db()
    assert plan.version == 1 and "vouchers" in feature_keys(acme)


def test_preview_tells_whether_a_fee_change_asks_or_forces_recalculation(personas):
    plan = new_plan(personas)
    ask = plan_preview(
        actor=personas.admin_a,
        plan_id=plan.pk,
        changes={"fees": [{**GBP_TICKET, "percent_bps": 300}]},
    )
    forced = plan_preview(
        actor=personas.admin_a, plan_id=plan.pk, changes={"blended": {"GBP": True}}
    )
    assert (ask.fees_changed, ask.blended_changed, ask.recalculation) == (True, False, "ask")
    assert (forced.blended_changed, forced.recalculation) == (True, "forced")


def test_fee_change_without_apply_mode_is_rejected(personas):
    plan = new_plan(personas)
    SaleItemFactory(company=new_company(personas, plan))
    with pytest.raises(FeeApplyModeRequired) as err:
        plan_update(
            actor=personas.admin_a,
            plan_id=plan.pk,
            version=1,
            changes={"fees": [{**GBP_TICKET, "percent_bps": 300}]},
        )
    assert "fee_apply_mode" in err.value.details
    assert not RecalcJob.objects.exists()


def test_fee_change_applied_to_new_items_only_enqueues_nothing(personas):
    plan = new_plan(personas)
    SaleItemFactory(company=new_company(personas, plan))
    result = plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        version=1,
        changes={"fees": [{**GBP_TICKET, "percent_bps": 300}]},
        fee_apply_mode="new",
    )
    assert result.job is None and not RecalcJob.objects.exists()


def test_fee_change_applied_to_all_items_enqueues_a_plan_job(personas):
    plan = new_plan(personas)
    SaleItemFactory(company=new_company(personas, plan))
    result = plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        version=1,
        changes={"fees": [{**GBP_TICKET, "percent_bps": 300}]},
        fee_apply_mode="all",
    )
    assert result.job is not None and result.job.plan_id == plan.pk
    assert result.job.status == "queued"
    assert AuditEvent.objects.filter(action="job.enqueue", object_id=result.job.pk).exists()


def test_blended_change_forces_recalculation_whatever_the_mode(personas):
    plan = new_plan(personas)
    SaleItemFactory(company=new_company(personas, plan))
    result = plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        version=1,
        changes={"blended": {"GBP": True}},
        fee_apply_mode="new",
    )
    assert result.preview.recalculation == "forced"
    assert result.job is not None


def test_plan_fee_change_never_touches_companies_off_plan_fees(personas):
    plan = new_plan(personas)
    own = new_company(personas, plan)
    company_update(actor=personas.admin_a, company_id=own.pk, changes={"use_plan_fees": False})
    SaleItemFactory(company=own)
    result = plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        version=1,
        changes={"fees": [{**GBP_TICKET, "percent_bps": 300}]},
        fee_apply_mode="all",
    )
    assert result.job is None  # no company on the plan uses its fees
    ent = resolve_entitlements(Company.objects.get(pk=own.pk))
    assert ent.fee_source == "company" and ent.fees.entries[0].percent_bps == 250


def test_archived_plan_stays_on_its_companies_and_keeps_receiving_edits(personas):
    plan = new_plan(personas)
    acme = new_company(personas, plan)
    plan = plan_archive(actor=personas.admin_a, plan_id=plan.pk)
    acme.refresh_from_db()
    assert acme.plan_id == plan.pk
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        version=plan.version,
        changes={"features": ["plans"]},
    )
    assert feature_keys(acme) == {"plans"}


def test_archived_or_disabled_plan_cannot_be_newly_assigned(personas):
    archived = plan_archive(actor=personas.admin_a, plan_id=new_plan(personas).pk)
    disabled = plan_set_enabled(
        actor=personas.admin_a, plan_id=new_plan(personas, name="bronze").pk, enabled=False
    )
    for plan in (archived, disabled):
        with pytest.raises(ValidationFailed) as err:
            new_company(personas, plan)
        assert "plan_id" in err.value.details
    listed = plan_list_for_actor(personas.admin_a)
    assert archived.pk not in {p.pk for p in listed}


def test_unarchived_plan_is_assignable_again(personas):
    plan = plan_archive(actor=personas.admin_a, plan_id=new_plan(personas).pk)
    plan_unarchive(actor=personas.admin_a, plan_id=plan.pk)
    assert new_company(personas, plan).plan_id == plan.pk


def test_duplicate_copies_everything_but_assignments_and_starts_disabled(personas):
    plan = new_plan(personas)
    new_company(personas, plan)
    copy = plan_duplicate(actor=personas.admin_a, plan_id=plan.pk)
    second = plan_duplicate(actor=personas.admin_a, plan_id=plan.pk)
    original, duplicated = plan_serialize(plan), plan_serialize(copy)
    assert copy.name == "Copy of silver" and second.name == "Copy of silver (2)"
    assert duplicated["enabled"] is False and duplicated["company_count"] == 0
    for key in ("features", "prices", "fees", "blended", "limits", "billing_cycles"):
        assert duplicated[key] == original[key]
    assert copy.fee_schedule_id != plan.fee_schedule_id


def test_deleted_plans_companies_become_custom_and_keep_features_limits_and_fees(personas):
    plan = new_plan(personas)
    acme = new_company(personas, plan)
    company_update(
        actor=personas.admin_a,
        company_id=acme.pk,
        changes={"excluded_features": ["vouchers"], "limit_overrides": {"team_members": 9}},
    )
    before = resolve_entitlements(Company.objects.get(pk=acme.pk)).as_dict()
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    acme.refresh_from_db()
    after = resolve_entitlements(Company.objects.get(pk=acme.pk)).as_dict()
    assert acme.plan_id is None
    assert [f["key"] for f in after["features"]] == [f["key"] for f in before["features"]]
    assert {k: v["value"] for k, v in after["limits"].items()} == {
        k: v["value"] for k, v in before["limits"].items()
    }
    assert after["fees"]["schedule"] == before["fees"]["schedule"]
    assert after["fees"]["source"] == "company"
    plan.refresh_from_db()
    assert plan.deleted


def test_deleted_plan_is_not_listed_by_default_and_is_under_the_deleted_filter(personas):
    plan = new_plan(personas)
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    assert plan.pk not in {p.pk for p in plan_list_for_actor(personas.admin_a)}
    assert plan.pk in {p.pk for p in plan_list_for_actor(personas.admin_a, deleted=True)}


def test_restore_makes_plan_available_but_reassigns_nobody(personas):
    plan = new_plan(personas)
    acme = new_company(personas, plan)
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    restored = plan_restore(actor=personas.admin_a, plan_id=plan.pk)
    acme.refresh_from_db()
    assert not restored.deleted and acme.plan_id is None
    assert new_company(personas, restored, name="Again").plan_id == plan.pk


def test_restore_with_a_name_taken_by_a_live_plan_is_a_conflict_offering_a_new_name(personas):
    plan = new_plan(personas)
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)
    new_plan(personas)
    with pytest.raises(Conflict) as err:
        plan_restore(actor=personas.admin_a, plan_id=plan.pk)
    assert err.value.details["suggested_name"] == "silver (2)"
    restored = plan_restore(actor=personas.admin_a, plan_id=plan.pk, new_name="silver-old")
    assert restored.name == "silver-old" and not restored.deleted


def test_feature_disabled_on_reseller_stops_at_once_for_every_company(personas):
    plan = new_plan(personas)
    acme = new_company(personas, plan)
    company_update(
        actor=personas.admin_a, company_id=acme.pk, changes={"direct_features": ["api_access"]}
    )
    vouchers = Feature.objects.get(key="vouchers")
    api_access = Feature.objects.get(key="api_access")
    personas.reseller_a.features.remove(vouchers, api_access)
    assert feature_keys(acme) == {"plans", "seating"}


def test_feature_disabled_on_reseller_is_dropped_when_the_plan_is_saved(personas):
    plan = new_plan(personas)
    personas.reseller_a.features.remove(Feature.objects.get(key="vouchers"))
    preview = plan_preview(actor=personas.admin_a, plan_id=plan.pk, changes={})
    assert preview.removed_features == ["vouchers"]
    plan_update(actor=personas.admin_a, plan_id=plan.pk, version=1, changes={})
    assert sorted(f.key for f in plan.features.all()) == ["plans", "seating"]


def test_plan_takes_over_a_feature_a_company_had_directly(personas):
    plan = new_plan(personas, features=["plans"])
    acme = new_company(personas, plan)
    company_update(
        actor=personas.admin_a, company_id=acme.pk, changes={"direct_features": ["vouchers"]}
    )
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        version=1,
        changes={"features": ["plans", "vouchers"]},
    )
    plan_update(actor=personas.admin_a, plan_id=plan.pk, version=2, changes={"features": ["plans"]})
    assert feature_keys(acme) == {"plans"}  # removed from the plan, removed everywhere


def test_reseller_without_plans_feature_gets_a_clear_403_but_assignments_resolve(personas):
    plan = new_plan(personas)
    acme = new_company(personas, plan)
    personas.reseller_a.features.remove(Feature.objects.get(key="plans"))
    with pytest.raises(FeatureUnavailable) as err:
        plan_get_for_actor(personas.admin_a, plan.pk)
    assert "Plans" in err.value.message
    with pytest.raises(FeatureUnavailable):
        new_plan(personas, name="other")
    ent = resolve_entitlements(Company.objects.get(pk=acme.pk))
    assert ent.plan is not None and ent.limits["messages"]["source"] == "plan"


def test_outsider_gets_not_found_for_another_resellers_plan(personas):
    plan = new_plan(personas)
    for call in (
        lambda: plan_get_for_actor(personas.admin_b, plan.pk),
        lambda: plan_update(actor=personas.admin_b, plan_id=plan.pk, version=1, changes={}),
        lambda: plan_archive(actor=personas.admin_b, plan_id=plan.pk),
        lambda: plan_delete(actor=personas.admin_b, plan_id=plan.pk),
        lambda: plan_duplicate(actor=personas.admin_b, plan_id=plan.pk),
        lambda: plan_create(
            actor=personas.admin_b, reseller_id=personas.reseller_a.pk, data=plan_data(name="x")
        ),
    ):
        with pytest.raises(NotFound):
            call()
    assert plan.pk not in {p.pk for p in plan_list_for_actor(personas.admin_b, deleted=False)}
    assert not AuditEvent.objects.filter(actor_label="admin-b").exists()


def test_viewer_reads_plans_but_every_write_is_denied(personas):
    plan = new_plan(personas)
    assert plan_get_for_actor(personas.viewer_a, plan.pk) == plan
    for call in (
        lambda: plan_update(actor=personas.viewer_a, plan_id=plan.pk, version=1, changes={}),
        lambda: plan_archive(actor=personas.viewer_a, plan_id=plan.pk),
        lambda: plan_duplicate(actor=personas.viewer_a, plan_id=plan.pk),
        lambda: plan_create(
            actor=personas.viewer_a, reseller_id=personas.reseller_a.pk, data=plan_data(name="x")
        ),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_company_actor_cannot_read_plans(personas):
    with pytest.raises(NotFound):
        plan_get_for_actor(personas.company_a_actor, personas.plan_a.pk)


def test_plans_list_costs_constant_queries(personas, django_assert_num_queries):
    def run() -> list[dict[str, Any]]:
        return [plan_serialize(p) for p in plan_list_for_actor(personas.admin_a)]

    new_plan(personas)
    with CaptureQueriesContext(connection) as ctx:
        run()
    for i in range(6):
        plan = new_plan(personas, name=f"p{i}")
        new_company(personas, plan, name=f"c{i}")
    with django_assert_num_queries(len(ctx.captured_queries)):
        assert len(run()) == 8
