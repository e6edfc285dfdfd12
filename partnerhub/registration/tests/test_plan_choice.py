"""The public plan catalog and choosing a plan at registration (SPEC §4 `visible`, §7)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from partnerhub.catalog.models import Feature
from partnerhub.companies.models import Company
from partnerhub.core.errors import ValidationFailed
from partnerhub.plans.selectors import plan_public_catalog
from partnerhub.registration.services import company_register
from partnerhub.testing.factories import PlanFactory

pytestmark = pytest.mark.django_db


def test_catalog_holds_visible_enabled_unarchived_live_plans_only(personas):
    reseller = personas.reseller_a
    PlanFactory(reseller=reseller, name="hidden", visible=False)
    PlanFactory(reseller=reseller, name="off", enabled=False)
    PlanFactory(reseller=reseller, name="old", archived_at=timezone.now())
    PlanFactory(reseller=reseller, name="gone", deleted_at=timezone.now())
    assert [p.name for p in plan_public_catalog(reseller)] == ["gold"]


def test_catalog_is_empty_without_the_plans_feature(personas):
    personas.reseller_a.features.remove(Feature.objects.get(key="plans"))
    assert not plan_public_catalog(personas.reseller_a).exists()


def _let_visitors_choose(reseller) -> None:
    reseller.registration_plan_choice = True
    reseller.save()


def test_a_visitor_may_pick_a_catalog_plan_and_gets_plan_fees(personas):
    _let_visitors_choose(personas.reseller_a)
    company = company_register(
        reseller_slug="northwind",
        company_name="Pick Ltd",
        contact_email="a@b.test",
        plan_id=personas.plan_a.pk,
    )
    assert (company.plan_id, company.use_plan_fees) == (personas.plan_a.pk, True)


@pytest.mark.parametrize("plan_kind", ["hidden", "other_reseller", "not_an_id"])
def test_a_plan_outside_the_catalog_is_refused_and_nothing_is_created(personas, plan_kind):
    _let_visitors_choose(personas.reseller_a)
    plan_id: object = {
        "hidden": lambda: PlanFactory(reseller=personas.reseller_a, visible=False).pk,
        "other_reseller": lambda: PlanFactory(reseller=personas.reseller_b).pk,
        "not_an_id": lambda: "gold",
    }[plan_kind]()
    with pytest.raises(ValidationFailed) as err:
        company_register(
            reseller_slug="northwind",
            company_name="Sneaky",
            contact_email="a@b.test",
            plan_id=plan_id,
        )
    assert "plan_id" in err.value.details
    assert not Company.objects.filter(name="Sneaky").exists()


def test_the_form_offers_catalog_plans_and_registers_on_the_chosen_one(personas):
    _let_visitors_choose(personas.reseller_a)
    client = Client()
    page = client.get("/r/northwind/register").content.decode()
    assert "Let us choose for you" in page and "Gold" in page
    response = client.post(
        "/r/northwind/register",
        {
            "company_name": "Form Co",
            "contact_email": "f@c.test",
            "plan_id": personas.plan_a.pk,
        },
        follow=True,
    )
    assert response.status_code == 200 and "on the plan" in response.content.decode()
    assert Company.objects.get(name="Form Co").plan_id == personas.plan_a.pk


def test_the_form_shows_no_plan_choice_when_nothing_is_offered(personas):
    page = Client().get("/r/southwind/register").content.decode()
    assert "Let us choose for you" not in page
