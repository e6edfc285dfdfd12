"""Sale items, the fee quote and recalculation jobs over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import GatewayFee
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.fees.models import FeeScheduleEntry, SaleItem
from partnerhub.testing.factories import CompanyFactory, SaleItemFactory

pytestmark = pytest.mark.django_db

ADULT_GA = {
    "external_ref": "tt-9",
    "name": "Adult GA",
    "currency": "GBP",
    "fee_type": "ticket",
    "price_minor": 2000,
}


@pytest.fixture
def priced(personas: Any) -> Any:
    """Plan gold charges 2.5 % + 30p on GBP tickets; the gateway 1.4 % + 20p."""
    FeeScheduleEntry.objects.create(
        schedule=personas.plan_a.fee_schedule,
        currency_id="GBP",
        fee_type_id="ticket",
        percent_bps=250,
        fixed_minor=30,
    )
    GatewayFee.objects.create(currency_id="GBP", percent_bps=140, fixed_minor=20)
    return personas


def _items_url(company: Any) -> str:
    return f"/api/v1/companies/{company.pk}/sale-items"


def test_create_a_sale_item_computes_and_stores_its_fees(api, keys, priced) -> None:
    response = api.post(_items_url(priced.company_a), keys.admin_a, ADULT_GA)

    assert response.status_code == 201, response.content
    body = response.json()
    assert {
        k: body[k]
        for k in (
            "company_id",
            "price_minor",
            "reseller_fee_minor",
            "gateway_fee_minor",
            "blended",
            "fee_revision",
        )
    } == {
        "company_id": priced.company_a.pk,
        "price_minor": 2000,
        "reseller_fee_minor": 80,
        "gateway_fee_minor": 48,
        "blended": False,
        "fee_revision": 1,
    }
    assert body["fees_updated_at"] is not None
    stored = SaleItem.objects.get(pk=body["id"])
    assert (stored.reseller_fee_minor, stored.gateway_fee_minor) == (80, 48)
    assert AuditEvent.objects.filter(action="sale_item.create", object_id=stored.pk).exists()


def test_a_currency_without_fees_is_422(api, keys, priced) -> None:
    error = assert_error(
        api.post(_items_url(priced.company_a), keys.admin_a, {**ADULT_GA, "currency": "INR"}), 422
    )

    assert "currency" in error["details"]
    assert not SaleItem.objects.exists()


def test_sale_item_bad_input_is_422_naming_the_field(api, keys, priced) -> None:
    error = assert_error(
        api.post(_items_url(priced.company_a), keys.admin_a, {**ADULT_GA, "price_minor": -1}), 422
    )

    assert list(error["details"]) == ["price_minor"]


def test_viewer_and_company_cannot_create_items(api, keys, priced) -> None:
    assert_error(api.post(_items_url(priced.company_a), keys.viewer_a, ADULT_GA), 403)
    assert api.post(_items_url(priced.company_a), keys.company_a, ADULT_GA).status_code in (
        403,
        404,
    )
    assert not SaleItem.objects.exists()


def test_outsider_cannot_list_or_create_items(api, keys, priced) -> None:
    assert_error(api.post(_items_url(priced.company_a), keys.admin_b, ADULT_GA), 404)
    assert_error(api.get(_items_url(priced.company_a), keys.admin_b), 404)
    assert not SaleItem.objects.exists()


def test_company_key_reads_its_own_items(api, keys, priced) -> None:
    item = SaleItemFactory(company=priced.company_a)
    SaleItemFactory(company=CompanyFactory(reseller=priced.reseller_a))

    listing = api.get(_items_url(priced.company_a), keys.company_a).json()
    single = api.get(f"/api/v1/sale-items/{item.pk}", keys.company_a)

    assert [i["id"] for i in listing["items"]] == [item.pk]
    assert listing["count"] == 1
    assert single.json()["id"] == item.pk


def test_patch_recomputes_fees_when_the_price_changes(api, keys, priced) -> None:
    item_id = api.post(_items_url(priced.company_a), keys.admin_a, ADULT_GA).json()["id"]

    body = api.patch(f"/api/v1/sale-items/{item_id}", keys.admin_a, {"price_minor": 4000}).json()
    renamed = api.patch(f"/api/v1/sale-items/{item_id}", keys.admin_a, {"name": "GA"}).json()

    assert (body["reseller_fee_minor"], body["gateway_fee_minor"], body["fee_revision"]) == (
        130,
        76,
        2,
    )
    assert (renamed["name"], renamed["fee_revision"]) == ("GA", 3)


def test_a_rename_after_a_new_items_only_fee_change_recomputes_the_fees(api, keys, priced) -> None:
    """ "Apply only to new/edited items": any edit, a rename included, takes the new fees."""
    item_id = api.post(_items_url(priced.company_a), keys.admin_a, ADULT_GA).json()["id"]
    plan = api.get(f"/api/v1/plans/{priced.plan_a.pk}", keys.admin_a).json()
    new_fees = [{"currency": "GBP", "fee_type": "ticket", "percent_bps": 500, "fixed_minor": 0}]
    changed = api.patch(
        f"/api/v1/plans/{priced.plan_a.pk}",
        keys.admin_a,
        {"version": plan["version"], "fees": new_fees, "fee_apply_mode": "new"},
    )
    assert changed.status_code == 200 and changed.json()["job_id"] is None
    untouched = SaleItem.objects.get(pk=item_id)
    assert untouched.reseller_fee_minor == 80  # 2.5 % of 2000 + 30: not an edited item

    renamed = api.patch(f"/api/v1/sale-items/{item_id}", keys.admin_a, {"name": "GA"})

    body = renamed.json()
    assert renamed.status_code == 200
    assert (body["name"], body["reseller_fee_minor"], body["fee_revision"]) == ("GA", 100, 2)
    stored = SaleItem.objects.get(pk=item_id)
    assert (stored.reseller_fee_minor, stored.fee_revision) == (100, 2)
    assert AuditEvent.objects.filter(action="sale_item.update", object_id=item_id).count() == 1


def test_sale_item_writes_are_scoped(api, keys, priced) -> None:
    item = SaleItemFactory(company=priced.company_a, name="Kept")

    assert_error(api.patch(f"/api/v1/sale-items/{item.pk}", keys.viewer_a, {"name": "x"}), 403)
    assert_error(api.patch(f"/api/v1/sale-items/{item.pk}", keys.admin_b, {"name": "x"}), 404)
    assert_error(api.get(f"/api/v1/sale-items/{item.pk}", keys.admin_b), 404)
    assert_error(api.patch(f"/api/v1/sale-items/{item.pk}", keys.admin_a, {"sku": "x"}), 422)
    item.refresh_from_db()
    assert item.name == "Kept"


def test_fee_quote_stores_nothing(api, keys, priced) -> None:
    body = {
        "company_id": priced.company_a.pk,
        "currency": "GBP",
        "fee_type": "ticket",
        "price_minor": 2000,
    }

    response = api.post("/api/v1/fees/quote", keys.viewer_a, body)

    assert response.status_code == 200, response.content
    quote = response.json()
    assert (quote["reseller_fee_minor"], quote["gateway_fee_minor"], quote["total_fee_minor"]) == (
        80,
        48,
        128,
    )
    assert [c["label"] for c in quote["charges"]] == ["reseller_fee", "gateway_fee"]
    assert not SaleItem.objects.exists()
    assert_error(api.post("/api/v1/fees/quote", keys.admin_b, body), 404)
    assert_error(api.post("/api/v1/fees/quote", keys.admin_a, {**body, "price": 1}), 422)


def test_jobs_are_visible_to_their_reseller_only(api, keys, priced) -> None:
    from partnerhub.core.actor import platform_actor

    job = recalculation_enqueue(
        actor=platform_actor(),
        reseller_id=priced.reseller_a.pk,
        plan_id=priced.plan_a.pk,
        reason="test",
    )

    own = api.get(f"/api/v1/jobs/{job.pk}", keys.viewer_a)
    listing = api.get("/api/v1/jobs", keys.admin_a, {"plan_id": priced.plan_a.pk}).json()
    outsider_list = api.get("/api/v1/jobs", keys.admin_b).json()

    assert own.status_code == 200
    assert {k: own.json()[k] for k in ("id", "kind", "status", "companies_done")} == {
        "id": job.pk,
        "kind": "fee_recalculation",
        "status": "queued",
        "companies_done": 0,
    }
    assert [j["id"] for j in listing["items"]] == [job.pk]
    assert outsider_list == {"items": [], "count": 0}
    assert_error(api.get(f"/api/v1/jobs/{job.pk}", keys.admin_b), 404)
    assert_error(api.get(f"/api/v1/jobs/{job.pk}", keys.company_a), 404)
    assert_error(api.get("/api/v1/jobs", keys.admin_a, {"status": "paused"}), 422)
