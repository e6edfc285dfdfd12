"""The plan rules of SPEC §4 (sharpened by issue 10) over the API: the same rules the hub
gets, because both go through the plan services."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Limit, TaxSettings
from partnerhub.companies.models import Company
from partnerhub.plans.models import Plan
from partnerhub.testing.data import plan_data
from partnerhub.testing.factories import CompanyFactory, PlanFactory

pytestmark = pytest.mark.django_db

INR_MONTHLY = {"currency": "INR", "billing_cycle": "monthly", "amount_minor": 99900}


def _url(plan: Any, action: str = "") -> str:
    pk = plan if isinstance(plan, int) else plan.pk
    return f"/api/v1/plans/{pk}" + (f"/{action}" if action else "")


def _create(api: Any, keys: Any, **over: Any) -> Any:
    return api.post("/api/v1/plans", keys.admin_a, plan_data(**over))


# --- item 6: a price for every enabled cycle, at least one currency -------------------------


def test_a_plan_without_any_price_is_refused_on_create(api, keys, personas) -> None:
    body = assert_error(_create(api, keys, name="free", prices=[]), 422)
    assert list(body["details"]) == ["prices"]
    assert not Plan.objects.filter(name="free").exists()


def test_an_edit_cannot_remove_every_price(api, keys, personas) -> None:
    created = _create(api, keys).json()
    body = assert_error(
        api.patch(_url(created["id"]), keys.admin_a, {"version": 1, "prices": []}), 422
    )
    assert list(body["details"]) == ["prices"]
    assert Plan.objects.get(pk=created["id"]).prices.count() == 2


def test_a_currency_must_price_every_enabled_cycle(api, keys, personas) -> None:
    body = assert_error(_create(api, keys, prices=[INR_MONTHLY]), 422)
    assert body["details"]["prices"] == ["INR needs a yearly price"]


# --- item 7: blank/omitted limits are unlimited, stored as null ------------------------------


def test_omitted_limits_are_stored_as_null_for_every_catalog_limit(api, keys, personas) -> None:
    created = _create(api, keys, limits={"messages": 500}).json()

    every_limit = set(Limit.objects.values_list("key", flat=True))
    assert created["limits"] == {key: (500 if key == "messages" else None) for key in every_limit}
    assert Plan.objects.get(pk=created["id"]).limits == created["limits"]
    no_limits = plan_data(name="bare")
    del no_limits["limits"]
    bare = api.post("/api/v1/plans", keys.admin_a, no_limits).json()
    assert bare["limits"] == dict.fromkeys(every_limit)


def test_an_api_plan_limit_left_out_resolves_as_unlimited_for_its_companies(
    api, keys, personas
) -> None:
    """Before, the API stored nothing and a company's own value showed through."""
    created = _create(api, keys, limits={"messages": 500}).json()
    company = CompanyFactory(
        reseller=personas.reseller_a, plan_id=created["id"], own_limits={"team_members": 3}
    )

    limits = api.get(f"/api/v1/companies/{company.pk}/entitlements", keys.admin_a).json()["limits"]

    assert limits["team_members"] == {"value": None, "period": "none", "source": "plan"}


# --- item 8: the deleted filter and restore ---------------------------------------------------


def test_deleted_filter_shows_a_plan_archived_before_it_was_deleted(api, keys, personas) -> None:
    plan = personas.plan_a
    assert api.post(_url(plan, "archive"), keys.admin_a).status_code == 200
    assert api.delete(_url(plan), keys.admin_a).status_code == 200

    deleted = api.get("/api/v1/plans", keys.admin_a, {"deleted": "true"}).json()

    assert [p["name"] for p in deleted["items"]] == ["gold"]
    assert deleted["items"][0]["archived"] is True


def test_a_restored_plan_is_assignable_again(api, keys, personas) -> None:
    plan = personas.plan_a
    api.post(_url(plan, "archive"), keys.admin_a)
    api.patch(_url(plan), keys.admin_a, {"version": 2, "enabled": False})
    api.delete(_url(plan), keys.admin_a)

    restored = api.post(_url(plan, "restore"), keys.admin_a).json()

    assert (restored["enabled"], restored["archived"], restored["deleted"]) == (True, False, False)
    company = CompanyFactory(reseller=personas.reseller_a)
    assigned = api.patch(f"/api/v1/companies/{company.pk}", keys.admin_a, {"plan_id": plan.pk})
    assert assigned.status_code == 200, assigned.content
    audit = AuditEvent.objects.get(action="plan.restore", object_id=plan.pk)
    assert audit.changes["enabled"] == {"old": False, "new": True}
    assert audit.changes["archived"] == {"old": True, "new": False}


# --- item 10: names are unique without regard to case --------------------------------------


def test_a_name_differing_only_in_case_is_taken(api, keys, personas) -> None:
    body = assert_error(_create(api, keys, name="GOLD"), 409, "name_taken")
    assert "name" in body["details"]
    assert Plan.objects.filter(reseller=personas.reseller_a).count() == 1


def test_renaming_to_another_plans_name_in_other_case_is_409(api, keys, personas) -> None:
    created = _create(api, keys).json()
    assert_error(api.patch(_url(created["id"]), keys.admin_a, {"version": 1, "name": "Gold"}), 409)
    # Changing only the case of its own name is not a clash.
    own = api.patch(_url(created["id"]), keys.admin_a, {"version": 1, "name": "SILVER"})
    assert own.status_code == 200 and own.json()["name"] == "SILVER"


def test_restoring_onto_a_name_taken_in_other_case_is_409(api, keys, personas) -> None:
    api.delete(_url(personas.plan_a), keys.admin_a)
    _create(api, keys, name="Gold")
    body = assert_error(api.post(_url(personas.plan_a, "restore"), keys.admin_a), 409)
    assert body["details"]["suggested_name"] == "gold (2)"


def test_the_database_refuses_a_case_variant_name(personas) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanFactory(reseller=personas.reseller_a, name="GoLd")


# --- item 11: GST on every price ---------------------------------------------------------------


def test_price_entries_carry_gst_rounded_half_up_at_the_platform_rate(api, keys, personas) -> None:
    TaxSettings.objects.update_or_create(pk=1, defaults={"gst_rate_bps": 1800})
    prices = [
        {"currency": "INR", "billing_cycle": "monthly", "amount_minor": 25},  # 4.5 -> 5
        {"currency": "INR", "billing_cycle": "yearly", "amount_minor": 0},
    ]
    created = _create(api, keys, prices=prices).json()

    read = api.get(_url(created["id"]), keys.admin_a).json()

    assert read["prices"] == [
        {**prices[0], "gst_minor": 5, "gross_minor": 30},
        {**prices[1], "gst_minor": 0, "gross_minor": 0},
    ]
    listed = api.get("/api/v1/plans", keys.admin_a, {"name": "silver"}).json()
    assert listed["items"][0]["prices"] == read["prices"]


def test_gst_follows_the_platform_rate_and_is_null_when_off(api, keys, personas) -> None:
    created = _create(api, keys, prices=[INR_MONTHLY], billing_cycles=["monthly"]).json()
    assert api.put("/api/v1/tax", keys.platform, {"gst_rate_bps": 500}).status_code == 200
    assert api.get(_url(created["id"]), keys.admin_a).json()["prices"][0] == {
        **INR_MONTHLY,
        "gst_minor": 4995,
        "gross_minor": 104895,
    }
    off = api.patch(_url(created["id"]), keys.admin_a, {"version": 1, "gst_enabled": False})
    assert off.json()["prices"][0] == {**INR_MONTHLY, "gst_minor": None, "gross_minor": None}


def test_a_cached_plan_list_follows_a_new_gst_rate(api, keys, personas) -> None:
    _create(api, keys, prices=[INR_MONTHLY], billing_cycles=["monthly"])
    before = api.get("/api/v1/plans", keys.admin_a, {"name": "silver"}).json()
    assert before["items"][0]["prices"][0]["gst_minor"] == 17982  # 18 %, now cached

    api.put("/api/v1/tax", keys.platform, {"gst_rate_bps": 500})

    after = api.get("/api/v1/plans", keys.admin_a, {"name": "silver"}).json()
    assert after["items"][0]["prices"][0]["gst_minor"] == 4995


def test_the_public_catalog_shows_gst_too(api, keys, personas) -> None:
    _create(api, keys, prices=[INR_MONTHLY], billing_cycles=["monthly"])

    catalog = api.get("/api/v1/register/northwind/plans", None).json()

    silver = next(p for p in catalog["items"] if p["display_name"] == "Silver")
    assert silver["prices"] == [{**INR_MONTHLY, "gst_minor": 17982, "gross_minor": 117882}]
    gold = next(p for p in catalog["items"] if p["display_name"] == "Gold")
    assert gold["prices"][0]["gst_minor"] is None  # gold has no GST


# --- item 12: feature_count is what a company gets --------------------------------------------


def test_feature_count_and_features_follow_the_resellers_funnel(api, keys, personas) -> None:
    created = _create(api, keys).json()  # plans, seating, vouchers
    assert created["feature_count"] == 3
    disabled = api.patch(
        f"/api/v1/resellers/{personas.reseller_a.pk}",
        keys.platform,
        {"features": ["plans", "seating", "api_access"]},
    )
    assert disabled.status_code == 200

    read = api.get(_url(created["id"]), keys.admin_a).json()
    listed = api.get("/api/v1/plans", keys.admin_a, {"name": "silver"}).json()["items"][0]
    company = CompanyFactory(reseller=personas.reseller_a, plan_id=created["id"])
    entitled = api.get(f"/api/v1/companies/{company.pk}/entitlements", keys.admin_a).json()

    assert (read["feature_count"], read["features"]) == (2, ["plans", "seating"])
    assert (listed["feature_count"], listed["features"]) == (2, ["plans", "seating"])
    assert len(entitled["features"]) == read["feature_count"]


# --- item 15: the preview names only companies whose features change --------------------------


def test_preview_leaves_out_a_company_that_already_excludes_the_removed_feature(
    api, keys, personas
) -> None:
    plan = personas.plan_a  # plans, seating; Acme Events is on it
    excluding = CompanyFactory(reseller=personas.reseller_a, plan=plan, name="Already Off")
    excluding.excluded_features.set(plan.features.filter(key="seating"))
    direct = CompanyFactory(reseller=personas.reseller_a, plan=plan, name="Keeps It")
    direct.direct_features.set(plan.features.filter(key="seating"))

    body = api.post(_url(plan, "preview"), keys.admin_a, {"features": ["plans"]}).json()

    assert body["affected_companies"] == [{"id": personas.company_a.pk, "name": "Acme Events"}]
    assert body["affected_company_count"] == 1


def test_preview_names_at_most_100_companies_and_counts_them_all(api, keys, personas) -> None:
    plan = personas.plan_a
    for i in range(104):
        CompanyFactory(reseller=personas.reseller_a, plan=plan, name=f"Co {i:03d}")

    body = api.post(_url(plan, "preview"), keys.admin_a, {"features": ["plans"]}).json()

    assert len(body["affected_companies"]) == 100
    assert body["affected_company_count"] == 105
    assert body["affected_companies"][0]["name"] == "Acme Events"


def test_preview_without_a_feature_change_names_nobody(api, keys, personas) -> None:
    body = api.post(_url(personas.plan_a, "preview"), keys.admin_a, {"display_name": "G"}).json()
    assert (body["affected_companies"], body["affected_company_count"]) == ([], 0)


# --- item 17: re-archive is a no-op; a deleted plan is not duplicated ------------------------


def test_archiving_an_archived_plan_changes_nothing(api, keys, personas) -> None:
    plan = personas.plan_a
    first = api.post(_url(plan, "archive"), keys.admin_a).json()
    stamp = Plan.objects.get(pk=plan.pk).archived_at

    again = api.post(_url(plan, "archive"), keys.admin_a)

    assert again.status_code == 200 and again.json()["version"] == first["version"]
    assert again.json()["updated_at"] == first["updated_at"]
    assert Plan.objects.get(pk=plan.pk).archived_at == stamp
    assert AuditEvent.objects.filter(action="plan.archive", object_id=plan.pk).count() == 1


def test_a_deleted_plan_cannot_be_duplicated(api, keys, personas) -> None:
    api.delete(_url(personas.plan_a), keys.admin_a)

    assert_error(api.post(_url(personas.plan_a, "duplicate"), keys.admin_a), 409, "plan_deleted")

    assert Plan.objects.filter(reseller=personas.reseller_a).count() == 1
    assert not AuditEvent.objects.filter(action="plan.duplicate").exists()


# --- item 19: delete over the API keeps every company's configuration -------------------------


def test_delete_over_the_api_keeps_each_companys_entitlements(api, keys, personas) -> None:
    plan = personas.plan_a
    other = CompanyFactory(reseller=personas.reseller_a, plan=plan, name="Other")
    other.excluded_features.set(plan.features.filter(key="seating"))
    urls = [f"/api/v1/companies/{c.pk}/entitlements" for c in (personas.company_a, other)]
    before = [api.get(u, keys.admin_a).json() for u in urls]

    assert api.delete(_url(plan), keys.admin_a).status_code == 200

    after = [api.get(u, keys.admin_a).json() for u in urls]
    for old, new in zip(before, after, strict=True):
        assert new["plan"] is None
        assert sorted(f["key"] for f in new["features"]) == sorted(
            f["key"] for f in old["features"]
        )
        assert {k: v["value"] for k, v in new["limits"].items()} == {
            k: v["value"] for k, v in old["limits"].items()
        }
    assert Company.objects.filter(plan=plan).count() == 0
