"""Company rules of SPEC §5: assignment, exclusions, unlinking, limits and plan fees."""

from __future__ import annotations

import json

import pytest

from partnerhub.audit.models import AuditEvent
from partnerhub.companies.cache import company_entitlements_cached
from partnerhub.companies.models import Company
from partnerhub.companies.selectors import (
    company_entitlements,
    company_get_for_actor,
    company_list_for_actor,
    company_serialize,
)
from partnerhub.companies.services import (
    company_create,
    company_reset_plan_fees,
    company_resync_plan,
    company_update,
)
from partnerhub.core.errors import NotFound, PermissionDenied, ValidationFailed
from partnerhub.fees.apply import FeeApplyModeRequired
from partnerhub.fees.models import RecalcJob
from partnerhub.plans.services import plan_update
from partnerhub.plans.tests.test_plan_services import new_plan
from partnerhub.resellers.services import reseller_update
from partnerhub.testing.data import GBP_TICKET
from partnerhub.testing.factories import SaleItemFactory


def entitlements(personas, company):
    return company_entitlements(personas.admin_a, company.pk)


def make(personas, plan=None, **kwargs):
    return company_create(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        name=kwargs.pop("name", "Beta Ltd"),
        plan_id=plan.pk if plan else None,
        **kwargs,
    )


def test_assigning_a_plan_gives_its_features_read_only_with_plan_fees_on(personas):
    plan = new_plan(personas)
    company = make(personas, plan)
    ent = entitlements(personas, company)
    assert {f["source"] for f in ent.features} == {"plan"}
    assert ent.fee_source == "plan" and company.use_plan_fees is True
    assert company_serialize(company)["plan_name"] == "silver"


def test_assigning_a_different_plan_replaces_the_previous_and_clears_exclusions(personas):
    silver = new_plan(personas)
    gold = new_plan(personas, name="gold2", features=["plans", "api_access"])
    company = make(personas, silver)
    company_update(
        actor=personas.admin_a, company_id=company.pk, changes={"excluded_features": ["vouchers"]}
    )
    company_update(actor=personas.admin_a, company_id=company.pk, changes={"plan_id": gold.pk})
    company.refresh_from_db()
    assert company.plan_id == gold.pk and company.excluded_features.count() == 0
    assert entitlements(personas, company).feature_keys() == {"plans", "api_access"}


def test_removing_a_plan_feature_marks_the_company_deviating_and_resync_clears_it(personas):
    company = make(personas, new_plan(personas))
    company_update(
        actor=personas.admin_a, company_id=company.pk, changes={"excluded_features": ["vouchers"]}
    )
    assert company_serialize(Company.objects.get(pk=company.pk))["deviates_from_plan"] is True
    assert "vouchers" not in entitlements(personas, company).feature_keys()
    company_resync_plan(actor=personas.admin_a, company_id=company.pk)
    assert company_serialize(Company.objects.get(pk=company.pk))["deviates_from_plan"] is False
    assert "vouchers" in entitlements(personas, company).feature_keys()


def test_excluding_a_feature_the_plan_does_not_give_is_rejected(personas):
    company = make(personas, new_plan(personas, features=["plans"]))
    with pytest.raises(ValidationFailed) as err:
        company_update(
            actor=personas.admin_a,
            company_id=company.pk,
            changes={"excluded_features": ["seating"]},
        )
    assert "excluded_features" in err.value.details


def test_unlinking_a_company_from_its_plan_removes_nothing(personas):
    company = make(personas, new_plan(personas))
    company_update(
        actor=personas.admin_a,
        company_id=company.pk,
        changes={"direct_features": ["api_access"], "excluded_features": ["seating"]},
    )
    before = entitlements(personas, company).as_dict()
    company_update(actor=personas.admin_a, company_id=company.pk, changes={"plan_id": None})
    after = entitlements(personas, company).as_dict()
    assert after["plan"] is None and after["fees"]["source"] == "company"
    assert [f["key"] for f in after["features"]] == [f["key"] for f in before["features"]]
    assert {k: v["value"] for k, v in after["limits"].items()} == {
        k: v["value"] for k, v in before["limits"].items()
    }
    assert after["fees"]["schedule"] == before["fees"]["schedule"]


def test_limits_resolve_override_then_plan_then_company_value(personas):
    plan = new_plan(personas, limits={"messages": 100})
    company = make(
        personas,
        plan,
        own_limits={"messages": 1, "team_members": 3},
        limit_overrides={"whatsapp_conversations": 7},
    )
    limits = entitlements(personas, company).limits
    assert limits["messages"] == {"value": 100, "period": "month", "source": "plan"}
    # A limit the plan data left out is unlimited on the plan (SPEC §4), not "not set".
    assert limits["team_members"] == {"value": None, "period": "none", "source": "plan"}
    assert limits["whatsapp_conversations"]["source"] == "override"
    custom = make(personas, None, name="Custom Ltd", own_limits={"team_members": 3})
    custom_limits = entitlements(personas, custom).limits
    assert custom_limits["team_members"] == {"value": 3, "period": "none", "source": "company"}
    assert custom_limits["event_timeslots"] == {"value": None, "period": "none", "source": "unset"}


def test_turning_plan_fees_off_copies_the_plan_fees_and_plan_edits_no_longer_reach(personas):
    plan = new_plan(personas)
    company = make(personas, plan)
    company_update(actor=personas.admin_a, company_id=company.pk, changes={"use_plan_fees": False})
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        version=1,
        changes={"fees": [{**GBP_TICKET, "percent_bps": 999}]},
        fee_apply_mode="new",
    )
    ent = entitlements(personas, company)
    assert ent.fee_source == "company" and ent.fees.entries[0].percent_bps == 250


def test_reset_to_plan_fees_follows_the_plans_current_schedule(personas):
    plan = new_plan(personas)
    company = make(personas, plan)
    company_update(actor=personas.admin_a, company_id=company.pk, changes={"use_plan_fees": False})
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        version=1,
        changes={"fees": [{**GBP_TICKET, "percent_bps": 999}]},
        fee_apply_mode="new",
    )
    company_reset_plan_fees(actor=personas.admin_a, company_id=company.pk)
    ent = entitlements(personas, company)
    assert ent.fee_source == "plan" and ent.fees.entries[0].percent_bps == 999


def test_own_fees_cannot_be_edited_while_inheriting_plan_fees(personas):
    company = make(personas, new_plan(personas))
    with pytest.raises(ValidationFailed) as err:
        company_update(actor=personas.admin_a, company_id=company.pk, changes={"fees": []})
    assert "fees" in err.value.details


def test_company_fee_change_with_items_asks_for_the_apply_mode(personas):
    company = make(personas, new_plan(personas))
    SaleItemFactory(company=company)
    with pytest.raises(FeeApplyModeRequired) as err:
        company_update(
            actor=personas.admin_a,
            company_id=company.pk,
            changes={"plan_id": None, "fees": [{**GBP_TICKET, "percent_bps": 1}]},
        )
    assert "fee_apply_mode" in err.value.details
    result = company_update(
        actor=personas.admin_a,
        company_id=company.pk,
        changes={"plan_id": None, "fees": [{**GBP_TICKET, "percent_bps": 1}]},
        fee_apply_mode="all",
    )
    assert result.job is not None and result.job.company_ids == [company.pk]


def test_company_blended_change_always_recalculates(personas):
    company = make(personas, new_plan(personas))
    SaleItemFactory(company=company)
    company_update(
        actor=personas.admin_a,
        company_id=company.pk,
        changes={"use_plan_fees": False},
        fee_apply_mode="new",
    )
    result = company_update(
        actor=personas.admin_a,
        company_id=company.pk,
        changes={"blended": {"GBP": True}},
        fee_apply_mode="new",
    )
    assert result.job is not None
    assert RecalcJob.objects.count() == 1


def test_direct_feature_must_be_enabled_on_the_reseller(personas):
    with pytest.raises(ValidationFailed):
        company_create(
            actor=personas.admin_b,
            reseller_id=personas.reseller_b.pk,
            name="X",
            direct_features=["vouchers"],
        )
    assert not Company.objects.filter(reseller=personas.reseller_b).exists()


def test_company_writes_are_audited_with_old_and_new_values(personas):
    company = make(personas)
    company_update(actor=personas.admin_a, company_id=company.pk, changes={"name": "Gamma"})
    event = AuditEvent.objects.filter(action="company.update", object_id=company.pk).get()
    assert event.changes == {"name": {"old": "Beta Ltd", "new": "Gamma"}}


def test_outsider_gets_not_found_for_another_resellers_company(personas):
    company = personas.company_a
    with pytest.raises(NotFound):
        company_get_for_actor(personas.admin_b, company.pk)
    with pytest.raises(NotFound):
        company_update(actor=personas.admin_b, company_id=company.pk, changes={"name": "x"})
    with pytest.raises(NotFound):
        company_entitlements(personas.admin_b, company.pk)
    assert company.pk not in {c.pk for c in company_list_for_actor(personas.admin_b)}


def test_viewer_cannot_change_a_company(personas):
    with pytest.raises(PermissionDenied):
        company_update(
            actor=personas.viewer_a, company_id=personas.company_a.pk, changes={"name": "x"}
        )
    with pytest.raises(PermissionDenied):
        company_create(actor=personas.viewer_a, reseller_id=personas.reseller_a.pk, name="x")
    assert not Company.objects.filter(name="x").exists()


def test_company_actor_sees_only_its_own_company(personas):
    other = make(personas)
    assert company_get_for_actor(personas.company_a_actor, personas.company_a.pk)
    with pytest.raises(NotFound):
        company_get_for_actor(personas.company_a_actor, other.pk)
    assert [c.pk for c in company_list_for_actor(personas.company_a_actor)] == [
        personas.company_a.pk
    ]


def test_cached_entitlements_follow_plan_company_and_reseller_writes(personas):
    plan = new_plan(personas)
    company = make(personas, plan)
    _first, etag = company_entitlements_cached(personas.admin_a, company.pk)
    assert company_entitlements_cached(personas.admin_a, company.pk)[1] == etag
    plan_update(actor=personas.admin_a, plan_id=plan.pk, version=1, changes={"features": ["plans"]})
    after_plan, etag2 = company_entitlements_cached(personas.admin_a, company.pk)
    assert etag2 != etag and [f["key"] for f in json.loads(after_plan)["features"]] == ["plans"]
    company_update(
        actor=personas.admin_a, company_id=company.pk, changes={"direct_features": ["api_access"]}
    )
    after_company, _ = company_entitlements_cached(personas.admin_a, company.pk)
    assert "api_access" in [f["key"] for f in json.loads(after_company)["features"]]
    reseller_update(
        actor=personas.platform,
        reseller_id=personas.reseller_a.pk,
        changes={"features": ["plans", "seating", "vouchers"]},
    )
    after_reseller, _ = company_entitlements_cached(personas.admin_a, company.pk)
    assert "api_access" not in [f["key"] for f in json.loads(after_reseller)["features"]]
    with pytest.raises(NotFound):
        company_entitlements_cached(personas.admin_b, company.pk)


@pytest.mark.parametrize("write", ["reseller", "catalog", "plan", "company"])
def test_cached_entitlements_follow_a_write_made_in_another_process(personas, write):
    """Each web process has its own local-memory cache: a write made elsewhere (here: with
    a cache that is not ours) must still make our cached entry stale."""
    from django.test import override_settings

    from partnerhub.catalog.services import limit_create

    plan = new_plan(personas)
    company = make(personas, plan)
    _before, etag = company_entitlements_cached(personas.admin_a, company.pk)
    elsewhere = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with override_settings(CACHES=elsewhere):
        if write == "reseller":
            reseller_update(
                actor=personas.platform,
                reseller_id=personas.reseller_a.pk,
                changes={"features": ["plans"]},
            )
        elif write == "catalog":
            limit_create(actor=personas.platform, key="sms", name="SMS")
        elif write == "plan":
            plan_update(
                actor=personas.admin_a, plan_id=plan.pk, version=1, changes={"features": []}
            )
        else:
            company_update(
                actor=personas.admin_a,
                company_id=company.pk,
                changes={"limit_overrides": {"team_members": 3}},
            )
    after, etag_after = company_entitlements_cached(personas.admin_a, company.pk)
    assert etag_after != etag
    assert json.loads(after) == company_entitlements(personas.admin_a, company.pk).as_dict()


def test_company_key_is_read_only_even_on_its_own_company(personas):
    with pytest.raises(PermissionDenied):
        company_update(
            actor=personas.company_a_actor, company_id=personas.company_a.pk, changes={"name": "x"}
        )
    personas.company_a.refresh_from_db()
    assert personas.company_a.name == "Acme Events"


def test_fee_amounts_above_the_price_ceiling_are_rejected(personas):
    from partnerhub.core.limits import MAX_PRICE_MINOR

    company = make(personas)
    with pytest.raises(ValidationFailed) as err:
        company_update(
            actor=personas.admin_a,
            company_id=company.pk,
            changes={"fees": [{**GBP_TICKET, "max_minor": MAX_PRICE_MINOR + 1}]},
        )
    assert "fees[0]" in err.value.details
