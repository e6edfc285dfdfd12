"""Self-service registration over HTTP: no key, default plan when usable, rate-limited."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from partnerhub.api.tests.conftest import assert_error
from partnerhub.catalog.models import Feature
from partnerhub.companies.models import Company
from partnerhub.testing.factories import PlanFactory

pytestmark = pytest.mark.django_db

ALICE = {"company_name": "Alice Events", "contact_email": "alice@example.test"}


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def with_default_plan(personas):
    personas.reseller_a.default_registration_plan = personas.plan_a
    personas.reseller_a.save()
    return personas


def test_registration_gets_the_default_plan_with_plan_fees(api, with_default_plan) -> None:
    response = api.post("/api/v1/register/northwind", None, ALICE)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["plan"] == {
        "id": with_default_plan.plan_a.pk,
        "name": "gold",
        "display_name": "Gold",
    }
    assert body["use_plan_fees"] is True
    company = Company.objects.get(pk=body["id"])
    assert (company.reseller, company.plan) == (
        with_default_plan.reseller_a,
        with_default_plan.plan_a,
    )


def test_registration_without_a_usable_default_plan_is_custom(api, with_default_plan) -> None:
    with_default_plan.plan_a.archived_at = timezone.now()
    with_default_plan.plan_a.save()

    body = api.post("/api/v1/register/northwind", None, ALICE).json()

    assert body["plan"] is None
    assert Company.objects.get(pk=body["id"]).plan is None


def test_registration_without_the_plans_feature_is_custom(api, with_default_plan) -> None:
    with_default_plan.reseller_a.features.remove(Feature.objects.get(key="plans"))

    assert api.post("/api/v1/register/northwind", None, ALICE).json()["plan"] is None


def test_unknown_reseller_is_404_and_bad_input_is_422(api, personas) -> None:
    assert_error(api.post("/api/v1/register/nowhere", None, ALICE), 404)
    error = assert_error(
        api.post(
            "/api/v1/register/northwind",
            None,
            {"company_name": "X", "contact_email": "not-an-email"},
        ),
        422,
    )
    unknown = assert_error(
        api.post("/api/v1/register/northwind", None, {**ALICE, "coupon": "FREE"}), 422
    )

    assert list(error["details"]) == ["contact_email"]
    assert unknown["details"] == {"coupon": ["unknown field"]}
    assert not Company.objects.filter(name="X").exists()


def test_registration_is_rate_limited_per_client_address(api, personas, settings) -> None:
    settings.REGISTRATION_RATE_LIMIT = 2
    bodies = [{**ALICE, "company_name": f"Co {n}"} for n in range(3)]

    answers = [api.post("/api/v1/register/northwind", None, b) for b in bodies]
    other_address = api.client.post(
        "/api/v1/register/northwind",
        data=bodies[2],
        content_type="application/json",
        REMOTE_ADDR="10.0.0.9",
    )

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert int(answers[2]["Retry-After"]) >= 1
    assert_error(answers[2], 429, "rate_limited")
    assert other_address.status_code == 201
    assert Company.objects.filter(name="Co 2").count() == 1


def test_behind_a_trusted_proxy_the_limit_follows_the_forwarded_address(
    api, personas, settings
) -> None:
    settings.REGISTRATION_RATE_LIMIT = 1
    settings.PARTNERHUB_TRUSTED_PROXIES = 1

    def register(name: str, forwarded: str) -> int:
        response = api.post(
            "/api/v1/register/northwind",
            None,
            {**ALICE, "company_name": name},
            headers={"X-Forwarded-For": forwarded},
        )
        return response.status_code

    first = register("One", "203.0.113.7")
    same_client = register("Two", "198.51.100.1, 203.0.113.7")  # a forged left-most hop
    other_client = register("Three", "203.0.113.8")

    assert (first, same_client, other_client) == (201, 429, 201)


def test_public_plan_catalog_lists_only_visible_assignable_plans(api, personas) -> None:
    from partnerhub.plans.services import plan_set_visible

    hidden = PlanFactory(reseller=personas.reseller_a, name="hidden", visible=False)
    PlanFactory(reseller=personas.reseller_a, name="old", archived_at=timezone.now())
    response = api.client.get("/api/v1/register/northwind/plans")
    assert response.status_code == 200
    body = response.json()
    assert [p["display_name"] for p in body["items"]] == ["Gold"] and body["count"] == 1
    assert "name" not in body["items"][0] and "fees" not in body["items"][0]
    plan_set_visible(actor=personas.admin_a, plan_id=hidden.pk, visible=True)
    assert api.client.get("/api/v1/register/northwind/plans").json()["count"] == 2
    assert api.client.get("/api/v1/register/nowhere/plans").status_code == 404


def test_registration_takes_a_visible_plan_and_refuses_a_hidden_one(api, personas) -> None:
    personas.reseller_a.registration_plan_choice = True
    personas.reseller_a.save()
    hidden = PlanFactory(reseller=personas.reseller_a, name="hidden", visible=False)
    chosen = api.post("/api/v1/register/northwind", None, {**ALICE, "plan_id": personas.plan_a.pk})
    assert chosen.status_code == 201 and chosen.json()["plan"]["id"] == personas.plan_a.pk
    refused = assert_error(
        api.post(
            "/api/v1/register/northwind",
            None,
            {**ALICE, "company_name": "Bob", "plan_id": hidden.pk},
        ),
        422,
    )
    assert list(refused["details"]) == ["plan_id"]
    assert not Company.objects.filter(name="Bob").exists()
