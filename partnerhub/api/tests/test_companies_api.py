"""Companies over HTTP: list, create, read, edit, reset-plan-fees, resync-plan."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Feature
from partnerhub.companies.models import Company
from partnerhub.fees.models import FeeScheduleEntry, RecalcJob
from partnerhub.testing.data import GBP_TICKET
from partnerhub.testing.factories import CompanyFactory, PlanFactory, SaleItemFactory

pytestmark = pytest.mark.django_db

GBP_FEE = {**GBP_TICKET, "min_minor": None, "max_minor": None}


def _url(company: Company, action: str = "") -> str:
    return f"/api/v1/companies/{company.pk}" + (f"/{action}" if action else "")


# --- list -------------------------------------------------------------------------------------


def test_list_answers_own_companies_only(api, keys, personas) -> None:
    CompanyFactory(reseller=personas.reseller_b, name="Their Co")

    mine = api.get("/api/v1/companies", keys.admin_a).json()
    theirs = api.get("/api/v1/companies", keys.admin_b).json()

    assert [c["name"] for c in mine["items"]] == ["Acme Events"]
    assert mine["items"][0]["plan_name"] == "gold"
    assert [c["name"] for c in theirs["items"]] == ["Their Co"]
    assert theirs["count"] == 1


def test_list_filters_by_search_and_plan(api, keys, personas) -> None:
    other = PlanFactory(reseller=personas.reseller_a, name="silver")
    CompanyFactory(reseller=personas.reseller_a, name="Beta Tours", plan=other)
    CompanyFactory(reseller=personas.reseller_a, name="Acme Custom")

    def names(**params: Any) -> list[str]:
        body = api.get("/api/v1/companies", keys.viewer_a, params).json()
        return [c["name"] for c in body["items"]]

    assert names(search="acme") == ["Acme Custom", "Acme Events"]
    assert names(plan_id=other.pk) == ["Beta Tours"]
    assert names(custom="true") == ["Acme Custom"]


def test_company_key_lists_only_its_company(api, keys, personas) -> None:
    CompanyFactory(reseller=personas.reseller_a, name="Sibling")

    body = api.get("/api/v1/companies", keys.company_a).json()

    assert [c["id"] for c in body["items"]] == [personas.company_a.pk]


def _list_queries(api: Any, key: str) -> int:
    api.get("/api/v1/companies", key)
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/api/v1/companies", key, {"limit": 200})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _seed(personas: Any, n: int) -> None:
    seating = Feature.objects.get(key="seating")
    for _ in range(n):
        company = CompanyFactory(
            reseller=personas.reseller_a, plan=personas.plan_a, has_own_fees=True
        )
        company.direct_features.add(seating)
        FeeScheduleEntry.objects.create(
            schedule=company.fee_schedule,
            currency_id="GBP",
            fee_type_id="ticket",
            percent_bps=1,
            fixed_minor=0,
        )


def test_list_costs_the_same_queries_for_5_or_50_companies(api, keys, personas) -> None:
    _seed(personas, 4)
    with_5 = _list_queries(api, keys.admin_a)

    _seed(personas, 45)
    with_50 = _list_queries(api, keys.admin_a)

    assert api.get("/api/v1/companies", keys.admin_a).json()["count"] == 50
    assert with_5 == with_50


# --- create -----------------------------------------------------------------------------------


def test_admin_creates_a_company_on_a_plan(api, keys, personas) -> None:
    response = api.post(
        "/api/v1/companies",
        keys.admin_a,
        {"name": "Zeta Arts", "contact_email": "hi@zeta.test", "plan_id": personas.plan_a.pk},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["reseller_id"], body["plan_id"], body["use_plan_fees"]) == (
        personas.reseller_a.pk,
        personas.plan_a.pk,
        True,
    )
    assert AuditEvent.objects.filter(action="company.create", object_id=body["id"]).exists()


def test_viewer_cannot_create_a_company(api, keys) -> None:
    assert_error(api.post("/api/v1/companies", keys.viewer_a, {"name": "Nope"}), 403)
    assert not Company.objects.filter(name="Nope").exists()


def test_outsider_cannot_create_in_another_reseller_or_with_its_plan(api, keys, personas) -> None:
    into_a = api.post(
        "/api/v1/companies", keys.admin_b, {"name": "Nope", "reseller_id": personas.reseller_a.pk}
    )
    with_a_plan = api.post(
        "/api/v1/companies", keys.admin_b, {"name": "Nope", "plan_id": personas.plan_a.pk}
    )

    assert_error(into_a, 404)
    assert with_a_plan.status_code in (404, 422)
    assert "gold" not in with_a_plan.content.decode()
    assert not Company.objects.filter(name="Nope").exists()


def test_create_needs_a_name(api, keys) -> None:
    error = assert_error(api.post("/api/v1/companies", keys.admin_a, {"contact_email": "x"}), 422)

    assert list(error["details"]) == ["name"]


def test_platform_must_name_the_reseller(api, keys) -> None:
    error = assert_error(api.post("/api/v1/companies", keys.platform, {"name": "Zeta"}), 422)

    assert list(error["details"]) == ["reseller_id"]


# --- read / edit ------------------------------------------------------------------------------


def test_get_answers_the_company_shape(api, keys, personas) -> None:
    body = api.get(_url(personas.company_a), keys.company_a).json()

    assert {k: body[k] for k in ("id", "name", "plan_id", "plan_name", "deviates_from_plan")} == {
        "id": personas.company_a.pk,
        "name": "Acme Events",
        "plan_id": personas.plan_a.pk,
        "plan_name": "gold",
        "deviates_from_plan": False,
    }


@pytest.mark.parametrize("who", ["admin_b"])
def test_get_of_another_tenants_company_is_404(api, keys, personas, who: str) -> None:
    sibling = CompanyFactory(reseller=personas.reseller_a)

    assert_error(api.get(_url(personas.company_a), getattr(keys, who)), 404)
    assert_error(api.get(_url(sibling), keys.company_a), 404)


def test_patch_excludes_a_plan_feature_and_resync_clears_it(api, keys, personas) -> None:
    company = personas.company_a

    patched = api.patch(_url(company), keys.admin_a, {"excluded_features": ["seating"]}).json()
    resynced = api.post(_url(company, "resync-plan"), keys.admin_a).json()

    assert (patched["excluded_features"], patched["deviates_from_plan"]) == (["seating"], True)
    assert (resynced["excluded_features"], resynced["deviates_from_plan"]) == ([], False)


def test_patch_to_custom_keeps_what_the_plan_gave(api, keys, personas) -> None:
    body = api.patch(_url(personas.company_a), keys.admin_a, {"plan_id": None}).json()

    assert body["plan_id"] is None
    assert body["direct_features"] == ["plans", "seating"]


def test_turning_plan_fees_off_copies_them_and_reset_turns_them_back_on(
    api, keys, personas
) -> None:
    FeeScheduleEntry.objects.create(
        schedule=personas.plan_a.fee_schedule,
        currency_id="GBP",
        fee_type_id="ticket",
        percent_bps=250,
        fixed_minor=30,
    )
    SaleItemFactory(company=personas.company_a)
    company = personas.company_a

    off = api.patch(_url(company), keys.admin_a, {"use_plan_fees": False}).json()
    own_fee = {**GBP_FEE, "percent_bps": 500}
    api.patch(_url(company), keys.admin_a, {"fees": [own_fee], "fee_apply_mode": "new"})
    asked = api.post(_url(company, "reset-plan-fees"), keys.admin_a)
    reset = api.post(_url(company, "reset-plan-fees"), keys.admin_a, {"fee_apply_mode": "all"})

    assert (off["use_plan_fees"], off["fees"]) == (False, [GBP_FEE])
    assert list(assert_error(asked, 422)["details"]) == ["fee_apply_mode"]
    assert reset.status_code == 200, reset.content
    assert reset.json()["use_plan_fees"] is True
    assert reset.json()["job_id"] == RecalcJob.objects.get(company_ids=[company.pk]).pk


def test_changing_own_fees_with_all_starts_a_recalculation(api, keys, personas) -> None:
    company = CompanyFactory(reseller=personas.reseller_a)
    SaleItemFactory(company=company)

    body = api.patch(
        _url(company), keys.admin_a, {"fees": [GBP_FEE], "fee_apply_mode": "all"}
    ).json()

    assert body["fees"] == [GBP_FEE]
    assert body["job_id"] == RecalcJob.objects.get().pk


def test_patch_unknown_field_is_422(api, keys, personas) -> None:
    error = assert_error(api.patch(_url(personas.company_a), keys.admin_a, {"plan": 1}), 422)

    assert error["details"] == {"plan": ["unknown field"]}


def test_patch_an_unassignable_plan_is_422(api, keys, personas) -> None:
    disabled = PlanFactory(reseller=personas.reseller_a, name="off", enabled=False)

    error = assert_error(
        api.patch(_url(personas.company_a), keys.admin_a, {"plan_id": disabled.pk}), 422
    )

    assert "plan_id" in error["details"]


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("patch", "", {"name": "Renamed"}),
        ("post", "resync-plan", None),
        ("post", "reset-plan-fees", None),
    ],
)
def test_viewer_and_company_keys_cannot_write(api, keys, personas, method, action, body) -> None:
    by_viewer = getattr(api, method)(_url(personas.company_a, action), keys.viewer_a, body)
    by_company = getattr(api, method)(_url(personas.company_a, action), keys.company_a, body)

    assert_error(by_viewer, 403)
    # A company key is read-only too (Actor.require_write answers it like an outsider).
    assert by_company.status_code in (403, 404)
    assert Company.objects.get(pk=personas.company_a.pk).name == "Acme Events"
    assert not AuditEvent.objects.filter(object_type="company").exists()


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("patch", "", {"name": "Renamed"}),
        ("post", "resync-plan", None),
        ("post", "reset-plan-fees", None),
    ],
)
def test_outsider_gets_404_on_every_write(api, keys, personas, method, action, body) -> None:
    response = getattr(api, method)(_url(personas.company_a, action), keys.admin_b, body)

    assert_error(response, 404)
    assert Company.objects.get(pk=personas.company_a.pk).name == "Acme Events"
