"""The plan rules of SPEC §4 in the hub, posted as a browser posts the forms (issue 10):
the same services answer here as over the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from partnerhub.audit.models import AuditEvent
from partnerhub.catalog.models import Feature, Limit, TaxSettings
from partnerhub.plans.models import Plan, PlanPrice
from partnerhub.plans.services import plan_archive, plan_delete
from partnerhub.testing.factories import PlanFactory
from partnerhub.testing.formpost import posted

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(personas: Any) -> Client:
    client = Client()
    client.force_login(personas.admin_a_user)
    return client


def _create_form(hub: Client, **changes: Any) -> Any:
    page = hub.get("/plans/new/").content.decode()
    data = {"name": "silver", "display_name": "Silver", "billing_cycles": ["monthly"], **changes}
    return hub.post("/plans/new/", posted(page, data))


def test_a_plan_without_a_price_is_refused_in_the_hub(hub, personas) -> None:
    response = _create_form(hub, price_currencies=None)

    assert response.status_code == 200
    assert "Add a price in at least one currency" in response.content.decode()
    assert not Plan.objects.filter(name="silver").exists()


def test_blank_limits_in_the_hub_are_stored_as_null_like_the_api(hub, personas) -> None:
    response = _create_form(
        hub, price_currencies=["INR"], price_INR_monthly="999", limit_messages="500"
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    plan = Plan.objects.get(name="silver")
    every_limit = set(Limit.objects.values_list("key", flat=True))
    assert plan.limits == {key: (500 if key == "messages" else None) for key in every_limit}


def test_a_name_differing_only_in_case_is_refused_in_the_hub(hub, personas) -> None:
    response = _create_form(hub, name="GOLD", price_currencies=["INR"], price_INR_monthly="999")

    assert "already exists" in response.content.decode()
    assert Plan.objects.filter(reseller=personas.reseller_a).count() == 1


def test_the_deleted_filter_lists_an_archived_then_deleted_plan_and_restores_it(
    hub, personas
) -> None:
    plan = personas.plan_a
    plan_archive(actor=personas.admin_a, plan_id=plan.pk)
    plan_delete(actor=personas.admin_a, plan_id=plan.pk)

    page = hub.get("/plans/?deleted=1").content.decode()

    assert 'data-plan-name="gold"' in page
    hub.post(f"/plans/{plan.pk}/restore/")
    plan.refresh_from_db()
    assert (plan.deleted, plan.archived, plan.enabled, plan.assignable) == (
        False,
        False,
        True,
        True,
    )


def test_archiving_twice_in_the_hub_writes_once(hub, personas) -> None:
    url = f"/plans/{personas.plan_a.pk}/archive/"
    hub.post(url)
    first = Plan.objects.get(pk=personas.plan_a.pk)

    hub.post(url)

    again = Plan.objects.get(pk=personas.plan_a.pk)
    assert (again.archived_at, again.version) == (first.archived_at, first.version)
    assert AuditEvent.objects.filter(action="plan.archive").count() == 1


def test_the_card_counts_only_the_features_companies_get(hub, personas) -> None:
    plan = PlanFactory(
        reseller=personas.reseller_a, name="funnelled", features=["plans", "seating", "vouchers"]
    )
    personas.reseller_a.features.remove(Feature.objects.get(key="vouchers"))

    page = hub.get("/plans/?name=funnelled").content.decode()

    card = page[page.index(f'id="plan-{plan.pk}"') :]
    assert '<span data-testid="feature-count">2 feature(s)</span>' in card


def test_the_card_and_the_editor_show_net_gst_and_gross(hub, personas) -> None:
    TaxSettings.objects.update_or_create(pk=1, defaults={"gst_rate_bps": 1800})
    plan = PlanFactory(
        reseller=personas.reseller_a,
        name="taxed",
        gst_enabled=True,
        prices=[("INR", "monthly", 99900)],
    )
    assert PlanPrice.objects.filter(plan=plan).count() == 1

    card = hub.get("/plans/?name=taxed").content.decode()
    editor = hub.get(f"/plans/{plan.pk}/").content.decode()

    assert "999.00" in card and "179.82" in card and "1,178.82" in card
    table = editor[editor.index('data-testid="gst-prices"') :]
    assert "999.00" in table and "179.82" in table and "1,178.82" in table


def test_the_registration_cards_show_net_gst_and_gross(personas) -> None:
    personas.reseller_a.registration_plan_choice = True
    personas.reseller_a.save()
    PlanFactory(
        reseller=personas.reseller_a,
        name="taxed",
        display_name="Taxed",
        gst_enabled=True,
        prices=[("INR", "monthly", 99900)],
    )

    page = Client().get("/r/northwind/register").content.decode()

    assert "179.82" in page and "1,178.82" in page
