"""Registration rules of SPEC §7 on both channels (issue 10 items 5 and 9): visitors choose
nothing unless the reseller turns `registration_plan_choice` on, and a hidden plan, the
default registration plan included, never reaches a visitor."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.companies.models import Company
from partnerhub.resellers.models import Reseller
from partnerhub.testing.factories import PlanFactory
from partnerhub.testing.formpost import posted

pytestmark = pytest.mark.django_db

ALICE = {"company_name": "Alice Events", "contact_email": "alice@example.test"}
REGISTER = "/r/northwind/register"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def with_default_plan(personas: Any) -> Any:
    personas.reseller_a.default_registration_plan = personas.plan_a
    personas.reseller_a.save()
    return personas


def _choice(reseller: Reseller, on: bool) -> None:
    reseller.registration_plan_choice = on
    reseller.save()


# --- item 5: no choice unless the reseller offers one ---------------------------------------


def test_the_form_offers_no_plan_by_default_and_applies_the_default_plan(with_default_plan) -> None:
    client = Client()
    page = client.get(REGISTER).content.decode()
    assert "Let us choose for you" not in page and 'name="plan_id"' not in page

    response = client.post(REGISTER, posted(page, ALICE))

    assert response.status_code in (200, 302)
    company = Company.objects.get(name="Alice Events")
    assert (company.plan_id, company.use_plan_fees) == (with_default_plan.plan_a.pk, True)


def test_a_plan_posted_anyway_is_ignored_by_the_form_while_no_choice_is_offered(
    with_default_plan,
) -> None:
    other = PlanFactory(reseller=with_default_plan.reseller_a, name="other", display_name="Other")
    Client().post(REGISTER, {**ALICE, "plan_id": other.pk})
    assert Company.objects.get(name="Alice Events").plan_id == with_default_plan.plan_a.pk


def test_the_api_refuses_a_plan_choice_while_the_reseller_offers_none(
    api, with_default_plan
) -> None:
    body = assert_error(
        api.post(
            "/api/v1/register/northwind", None, {**ALICE, "plan_id": with_default_plan.plan_a.pk}
        ),
        422,
    )
    assert list(body["details"]) == ["plan_id"]
    assert not Company.objects.filter(name="Alice Events").exists()
    default = api.post("/api/v1/register/northwind", None, ALICE).json()
    assert default["plan"]["id"] == with_default_plan.plan_a.pk


def test_turning_the_choice_on_offers_the_visible_assignable_plans(with_default_plan) -> None:
    _choice(with_default_plan.reseller_a, True)
    silver = PlanFactory(
        reseller=with_default_plan.reseller_a, name="silver", display_name="Silver"
    )
    PlanFactory(
        reseller=with_default_plan.reseller_a, name="secret", display_name="Secret", visible=False
    )
    client = Client()
    page = client.get(REGISTER).content.decode()
    assert "Let us choose for you" in page and "Silver" in page and "Secret" not in page

    client.post(REGISTER, posted(page, {**ALICE, "plan_id": silver.pk}))

    assert Company.objects.get(name="Alice Events").plan_id == silver.pk


def test_the_reseller_admin_turns_the_choice_on_over_the_api(api, keys, personas) -> None:
    url = f"/api/v1/resellers/{personas.reseller_a.pk}"
    assert api.get(url, keys.admin_a).json()["registration_plan_choice"] is False

    body = api.patch(url, keys.admin_a, {"registration_plan_choice": True}).json()

    assert body["registration_plan_choice"] is True
    assert Reseller.objects.get(pk=personas.reseller_a.pk).registration_plan_choice is True
    audit = AuditEvent.objects.get(action="reseller.update", object_id=personas.reseller_a.pk)
    assert audit.changes["registration_plan_choice"] == {"old": False, "new": True}
    assert_error(api.patch(url, keys.viewer_a, {"registration_plan_choice": False}), 403)


def test_the_reseller_admin_turns_the_choice_on_in_the_hub(personas) -> None:
    client = Client()
    client.force_login(personas.admin_a_user)
    url = f"/resellers/{personas.reseller_a.pk}/"
    page = client.get(url).content.decode()
    assert 'name="registration_plan_choice"' in page

    response = client.post(url, posted(page, {"registration_plan_choice": "on"}))

    assert response.status_code in (200, 302), response.content.decode()[:2000]
    assert Reseller.objects.get(pk=personas.reseller_a.pk).registration_plan_choice is True


# --- item 9: hidden plans never reach visitors -------------------------------------------------


def test_a_hidden_default_plan_is_not_handed_out_by_the_api(api, with_default_plan) -> None:
    with_default_plan.plan_a.visible = False
    with_default_plan.plan_a.save()

    body = api.post("/api/v1/register/northwind", None, ALICE).json()

    assert body["plan"] is None
    assert Company.objects.get(pk=body["id"]).plan_id is None


def test_a_hidden_default_plan_is_not_handed_out_by_the_form(with_default_plan) -> None:
    with_default_plan.plan_a.visible = False
    with_default_plan.plan_a.save()
    client = Client()
    page = client.get(REGISTER).content.decode()

    client.post(REGISTER, posted(page, ALICE))

    assert Company.objects.get(name="Alice Events").plan_id is None


def test_hidden_plans_are_not_offered_even_when_visitors_choose(api, with_default_plan) -> None:
    _choice(with_default_plan.reseller_a, True)
    with_default_plan.plan_a.visible = False
    with_default_plan.plan_a.save()

    offered = api.get("/api/v1/register/northwind/plans", None).json()
    refused = api.post(
        "/api/v1/register/northwind", None, {**ALICE, "plan_id": with_default_plan.plan_a.pk}
    )

    assert offered == {"items": [], "count": 0}
    assert_error(refused, 422)
