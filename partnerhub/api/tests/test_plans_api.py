"""Plans over HTTP: list, create, read, edit (+ preview), duplicate, archive, delete, restore."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Feature
from partnerhub.companies.models import Company
from partnerhub.fees.models import FeeScheduleEntry, RecalcJob
from partnerhub.plans.models import Plan
from partnerhub.resellers.versions import versions_bump
from partnerhub.testing.data import GBP_TICKET, plan_data
from partnerhub.testing.factories import CompanyFactory, PlanFactory

pytestmark = pytest.mark.django_db

SILVER = plan_data(name="silver-2026")
GBP_FEE = {**GBP_TICKET, "min_minor": None, "max_minor": None}


def _url(plan: Plan, action: str = "") -> str:
    return f"/api/v1/plans/{plan.pk}" + (f"/{action}" if action else "")


def _plan_with_fees(personas: Any) -> Plan:
    plan = personas.plan_a
    FeeScheduleEntry.objects.create(
        schedule=plan.fee_schedule,
        currency_id="GBP",
        fee_type_id="ticket",
        percent_bps=250,
        fixed_minor=30,
    )
    return plan


# --- list -------------------------------------------------------------------------------------


def test_list_answers_own_plans_with_counts(api, keys, personas) -> None:
    PlanFactory(reseller=personas.reseller_b, name="southern")

    body = api.get("/api/v1/plans", keys.admin_a).json()

    assert body["count"] == 1
    (gold,) = body["items"]
    assert gold["name"] == "gold"
    assert gold["feature_count"] == 2
    assert gold["company_count"] == 1


def test_outsider_list_never_shows_another_resellers_plans(api, keys, personas) -> None:
    mine = api.get("/api/v1/plans", keys.admin_b).json()
    filtered = api.get("/api/v1/plans", keys.admin_b, {"reseller_id": personas.reseller_a.pk})

    assert mine == {"items": [], "count": 0}
    assert filtered.json() == {"items": [], "count": 0}


def test_list_filters_by_name_type_archived_and_deleted(api, keys, personas) -> None:
    from django.utils import timezone

    reseller = personas.reseller_a
    PlanFactory(reseller=reseller, name="gold-archived", archived_at=timezone.now())
    PlanFactory(reseller=reseller, name="gold-deleted", deleted_at=timezone.now())
    PlanFactory(
        reseller=reseller, name="share", plan_type="revenue_sharing", revenue_share_bps=1000
    )

    def names(**params: Any) -> list[str]:
        return [p["name"] for p in api.get("/api/v1/plans", keys.admin_a, params).json()["items"]]

    assert names() == ["gold", "share"]
    assert names(name="GOL") == ["gold"]
    assert names(plan_type="revenue_sharing") == ["share"]
    assert names(archived="all") == ["gold", "gold-archived", "share"]
    assert names(archived="only") == ["gold-archived"]
    assert names(deleted="true") == ["gold-deleted"]


def test_list_pages_with_limit_and_offset(api, keys, personas) -> None:
    for n in range(4):
        PlanFactory(reseller=personas.reseller_a, name=f"p{n}")

    body = api.get("/api/v1/plans", keys.admin_a, {"limit": 2, "offset": 2}).json()

    assert body["count"] == 5
    assert [p["name"] for p in body["items"]] == ["p1", "p2"]


def test_list_rejects_an_unknown_archived_filter(api, keys) -> None:
    error = assert_error(api.get("/api/v1/plans", keys.admin_a, {"archived": "maybe"}), 422)

    assert list(error["details"]) == ["archived"]


def _seed_plans(reseller: Any, n: int, prefix: str) -> None:
    features = [Feature.objects.get(key="plans"), Feature.objects.get(key="seating")]
    for i in range(n):
        plan = PlanFactory(reseller=reseller, name=f"{prefix}-{i:03d}")
        plan.features.set(features)
        plan.prices.create(currency_id="INR", billing_cycle="monthly", amount_minor=100 + i)
        FeeScheduleEntry.objects.create(
            schedule=plan.fee_schedule,
            currency_id="GBP",
            fee_type_id="ticket",
            percent_bps=100,
            fixed_minor=1,
        )
        CompanyFactory.create_batch(2, reseller=reseller, plan=plan)
    # Rows written straight to the tables, as a bulk import would: such a path must bump
    # the versions that cached lists are keyed on itself (the services do it for us).
    versions_bump(reseller.pk)


def _list_queries(api: Any, key: str) -> int:
    """Queries of a page built from the database (not served from the cache)."""
    api.get("/api/v1/plans", key)  # the key's first use writes last_used_at
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/api/v1/plans", key, {"limit": 200})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_list_costs_the_same_queries_for_5_or_50_plans(api, keys, personas) -> None:
    _seed_plans(personas.reseller_a, 4, "first")
    with_5 = _list_queries(api, keys.admin_a)
    _seed_plans(personas.reseller_b, 45, "theirs")  # another tenant, same tables

    _seed_plans(personas.reseller_a, 45, "more")
    with_50 = _list_queries(api, keys.admin_a)

    assert api.get("/api/v1/plans", keys.admin_a).json()["count"] == 50
    assert with_5 == with_50


# --- create -----------------------------------------------------------------------------------


def test_admin_creates_a_plan_with_the_spec_shape(api, keys, personas) -> None:
    response = api.post("/api/v1/plans", keys.admin_a, SILVER)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reseller_id"] == personas.reseller_a.pk
    assert body["version"] == 1
    assert body["prices"] == [  # each with its GST at the platform's 18 %
        {**SILVER["prices"][0], "gst_minor": 17982, "gross_minor": 117882},
        {**SILVER["prices"][1], "gst_minor": 179982, "gross_minor": 1179882},
    ]
    assert body["limits"] == SILVER["limits"]
    assert body["features"] == ["plans", "seating", "vouchers"]
    assert body["fees"] == [GBP_FEE]
    assert body["blended"] == {"GBP": False}
    assert (body["feature_count"], body["company_count"]) == (3, 0)
    assert (body["archived"], body["deleted"], body["revenue_share_bps"]) == (False, False, None)
    assert AuditEvent.objects.filter(action="plan.create", object_id=body["id"]).exists()


def test_platform_creates_a_plan_for_a_named_reseller(api, keys, personas) -> None:
    missing = api.post("/api/v1/plans", keys.platform, SILVER)
    created = api.post(
        "/api/v1/plans", keys.platform, {**SILVER, "reseller_id": personas.reseller_a.pk}
    )

    assert list(assert_error(missing, 422)["details"]) == ["reseller_id"]
    assert created.status_code == 201
    assert Plan.objects.get(pk=created.json()["id"]).reseller == personas.reseller_a


def test_viewer_cannot_create_a_plan(api, keys) -> None:
    assert_error(api.post("/api/v1/plans", keys.viewer_a, SILVER), 403, "forbidden")
    assert not Plan.objects.filter(name="silver-2026").exists()


def test_outsider_cannot_create_a_plan_for_another_reseller(api, keys, personas) -> None:
    body = {**SILVER, "features": ["plans"], "reseller_id": personas.reseller_a.pk}

    assert_error(api.post("/api/v1/plans", keys.admin_b, body), 404)
    assert not Plan.objects.filter(name="silver-2026").exists()


def test_company_key_cannot_create_a_plan(api, keys) -> None:
    response = api.post("/api/v1/plans", keys.company_a, SILVER)

    assert response.status_code in (403, 404)
    assert not Plan.objects.filter(name="silver-2026").exists()


def test_a_feature_the_reseller_lacks_is_422(api, keys) -> None:
    body = {**SILVER, "features": ["plans", "vouchers"]}  # B has no vouchers

    error = assert_error(api.post("/api/v1/plans", keys.admin_b, body), 422)

    assert list(error["details"]) == ["features"]


def test_a_duplicate_name_is_409(api, keys) -> None:
    error = assert_error(api.post("/api/v1/plans", keys.admin_a, {**SILVER, "name": "gold"}), 409)

    assert error["details"]["suggested_name"] != "gold"


def test_reseller_without_the_plans_feature_gets_403(api, keys, personas) -> None:
    personas.reseller_b.features.remove(Feature.objects.get(key="plans"))

    error = assert_error(api.post("/api/v1/plans", keys.admin_b, {**SILVER, "features": []}), 403)
    listing = api.get("/api/v1/plans", keys.admin_b)

    assert error["code"] == "feature_unavailable"
    assert_error(listing, 403, "feature_unavailable")


# --- read -------------------------------------------------------------------------------------


def test_get_answers_the_plan(api, keys, personas) -> None:
    body = api.get(_url(personas.plan_a), keys.viewer_a).json()

    assert body["id"] == personas.plan_a.pk
    assert body["limits"]["messages"] == 10000


@pytest.mark.parametrize("who", ["admin_b", "company_a"])
def test_get_of_another_tenants_plan_is_404(api, keys, personas, who: str) -> None:
    foreign = assert_error(api.get(_url(personas.plan_a), getattr(keys, who)), 404)
    missing = assert_error(api.get("/api/v1/plans/987654", getattr(keys, who)), 404)

    assert foreign == missing


# --- edit -------------------------------------------------------------------------------------


def test_patch_edits_and_bumps_the_version(api, keys, personas) -> None:
    plan = personas.plan_a

    response = api.patch(
        _url(plan),
        keys.admin_a,
        {"version": plan.version, "display_name": "Gold+", "enabled": False},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["display_name"], body["enabled"], body["version"]) == ("Gold+", False, 2)
    assert body["job_id"] is None
    assert AuditEvent.objects.filter(action="plan.update", object_id=plan.pk).exists()


def test_patch_with_a_stale_version_is_409_and_saves_nothing(api, keys, personas) -> None:
    plan = personas.plan_a
    api.patch(_url(plan), keys.admin_a, {"version": 1, "display_name": "First"})

    error = assert_error(
        api.patch(_url(plan), keys.admin_a, {"version": 1, "display_name": "Second"}), 409
    )

    assert error["code"] == "stale_version"
    plan.refresh_from_db()
    assert plan.display_name == "First"


def test_patch_without_version_is_422(api, keys, personas) -> None:
    error = assert_error(api.patch(_url(personas.plan_a), keys.admin_a, {"name": "x"}), 422)

    assert list(error["details"]) == ["version"]


def test_fee_change_asks_for_a_mode_then_all_starts_a_job(api, keys, personas) -> None:
    plan = personas.plan_a
    fees = [{**GBP_FEE, "percent_bps": 300}]

    asked = api.patch(_url(plan), keys.admin_a, {"version": 1, "fees": fees})
    applied = api.patch(
        _url(plan), keys.admin_a, {"version": 1, "fees": fees, "fee_apply_mode": "all"}
    )

    assert list(assert_error(asked, 422)["details"]) == ["fee_apply_mode"]
    job_id = applied.json()["job_id"]
    assert job_id == RecalcJob.objects.get(plan=plan).pk


def test_fee_change_for_new_items_only_starts_no_job(api, keys, personas) -> None:
    plan = personas.plan_a

    body = api.patch(
        _url(plan), keys.admin_a, {"version": 1, "fees": [GBP_FEE], "fee_apply_mode": "new"}
    ).json()

    assert body["job_id"] is None
    assert body["fees"] == [GBP_FEE]
    assert not RecalcJob.objects.exists()


def test_viewer_cannot_patch(api, keys, personas) -> None:
    assert_error(api.patch(_url(personas.plan_a), keys.viewer_a, {"version": 1, "name": "x"}), 403)
    personas.plan_a.refresh_from_db()
    assert personas.plan_a.name == "gold"


def test_outsider_cannot_patch(api, keys, personas) -> None:
    assert_error(api.patch(_url(personas.plan_a), keys.admin_b, {"version": 1, "name": "x"}), 404)


# --- preview ----------------------------------------------------------------------------------


def test_preview_names_removed_features_and_affected_companies(api, keys, personas) -> None:
    plan = _plan_with_fees(personas)

    body = api.post(_url(plan, "preview"), keys.admin_a, {"features": ["plans"]}).json()

    assert body == {
        "removed_features": ["seating"],
        "added_features": [],
        "affected_companies": [{"id": personas.company_a.pk, "name": "Acme Events"}],
        "affected_company_count": 1,
        "fees_changed": False,
        "blended_changed": False,
        "recalculation": "none",
    }
    assert plan.features.filter(key="seating").exists()  # nothing saved


def test_preview_of_a_blended_change_is_forced(api, keys, personas) -> None:
    plan = _plan_with_fees(personas)

    body = api.post(_url(plan, "preview"), keys.viewer_a, {"blended": {"GBP": True}}).json()

    assert (body["blended_changed"], body["recalculation"]) == (True, "forced")


def test_preview_of_another_tenants_plan_is_404(api, keys, personas) -> None:
    assert_error(api.post(_url(personas.plan_a, "preview"), keys.admin_b, {}), 404)


def test_preview_rejects_unknown_fields(api, keys, personas) -> None:
    error = assert_error(api.post(_url(personas.plan_a, "preview"), keys.admin_a, {"x": 1}), 422)

    assert error["details"] == {"x": ["unknown field"]}


# --- lifecycle actions ------------------------------------------------------------------------


def test_duplicate_copies_as_a_disabled_copy_of_name(api, keys, personas) -> None:
    first = api.post(_url(personas.plan_a, "duplicate"), keys.admin_a)
    second = api.post(_url(personas.plan_a, "duplicate"), keys.admin_a)

    assert first.status_code == 201
    assert (first.json()["name"], first.json()["enabled"]) == ("Copy of gold", False)
    assert first.json()["company_count"] == 0
    assert second.json()["name"] == "Copy of gold (2)"


def test_archive_keeps_companies_and_unarchive_brings_it_back(api, keys, personas) -> None:
    plan = personas.plan_a

    archived = api.post(_url(plan, "archive"), keys.admin_a).json()
    unarchived = api.post(_url(plan, "unarchive"), keys.admin_a).json()

    assert (archived["archived"], archived["company_count"]) == (True, 1)
    assert unarchived["archived"] is False
    assert Company.objects.get(pk=personas.company_a.pk).plan_id == plan.pk


def test_delete_sets_companies_custom_and_restore_reassigns_nobody(api, keys, personas) -> None:
    plan = personas.plan_a

    deleted = api.delete(_url(plan), keys.admin_a)
    restored = api.post(_url(plan, "restore"), keys.admin_a)

    assert deleted.status_code == 200
    assert deleted.json()["deleted"] is True
    assert restored.json()["deleted"] is False
    company = api.get(f"/api/v1/companies/{personas.company_a.pk}", keys.admin_a).json()
    assert company["plan_id"] is None
    assert company["direct_features"] == ["plans", "seating"]


def test_restore_with_a_taken_name_is_409_then_accepts_a_new_name(api, keys, personas) -> None:
    plan = personas.plan_a
    api.delete(_url(plan), keys.admin_a)
    api.post("/api/v1/plans", keys.admin_a, {**SILVER, "name": "gold"})

    clash = assert_error(api.post(_url(plan, "restore"), keys.admin_a), 409)
    renamed = api.post(
        _url(plan, "restore"), keys.admin_a, {"new_name": clash["details"]["suggested_name"]}
    )

    assert renamed.status_code == 200
    assert renamed.json()["name"] == clash["details"]["suggested_name"]


@pytest.mark.parametrize("action", ["duplicate", "archive", "unarchive", "restore"])
def test_viewer_gets_403_on_every_action(api, keys, personas, action: str) -> None:
    before = Plan.objects.count()

    assert_error(api.post(_url(personas.plan_a, action), keys.viewer_a), 403)
    assert Plan.objects.count() == before


def test_viewer_cannot_delete(api, keys, personas) -> None:
    assert_error(api.delete(_url(personas.plan_a), keys.viewer_a), 403)
    personas.plan_a.refresh_from_db()
    assert personas.plan_a.deleted_at is None


@pytest.mark.parametrize("action", ["duplicate", "archive", "unarchive", "restore"])
def test_outsider_gets_404_on_every_action(api, keys, personas, action: str) -> None:
    assert_error(api.post(_url(personas.plan_a, action), keys.admin_b), 404)


def test_outsider_cannot_delete(api, keys, personas) -> None:
    assert_error(api.delete(_url(personas.plan_a), keys.admin_b), 404)
    personas.plan_a.refresh_from_db()
    assert personas.plan_a.deleted_at is None


def test_restore_rejects_a_bad_new_name(api, keys, personas) -> None:
    error = assert_error(
        api.post(_url(personas.plan_a, "restore"), keys.admin_a, {"new_name": ""}), 422
    )

    assert list(error["details"]) == ["new_name"]
