"""Issue 10, hub side: what a person saves through a hub form is what is stored.

Every test posts a form as a browser posts it: the POST body is read from the rendered
page (formpost.form_data), then the one field a person would touch is changed.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from partnerhub.audit.models import AuditEvent
from partnerhub.companies.models import Company
from partnerhub.companies.selectors import company_entitlements
from partnerhub.companies.services import company_create, company_update
from partnerhub.fees.models import RecalcJob, SaleItem
from partnerhub.fees.services import sale_item_create
from partnerhub.plans.services import plan_create
from partnerhub.resellers.services import reseller_update
from partnerhub.testing.factories import FeatureFactory
from partnerhub.testing.formpost import form_data
from partnerhub.testing.personas import Personas
from partnerhub.web.tests.hubworld import (
    World,
    client_for,
    database_state,
    rich_plan_data,
    world,
)

__all__ = ["world"]  # the fixture

pytestmark = pytest.mark.django_db

MAIN_FORM = ("data-plan-form", None)


def feature_keys(personas: Personas, company: Company) -> set[str]:
    return {f["key"] for f in company_entitlements(personas.admin_a, company.pk).features}


# ---- 1. Company -> Custom keeps the plan's features ----------------------------------------


@pytest.fixture
def enterprise(personas: Personas) -> Company:
    """A company on a plan of five features, one of them also direct (as in the report)."""
    reseller = personas.reseller_a
    reseller.features.add(FeatureFactory(key="analytics"), FeatureFactory(key="sso"))
    reseller_update(actor=personas.platform, reseller_id=reseller.pk, changes={})
    plan = plan_create(
        actor=personas.admin_a,
        reseller_id=reseller.pk,
        data=rich_plan_data(
            "enterprise", features=["plans", "seating", "vouchers", "analytics", "sso"]
        ),
    )
    return company_create(
        actor=personas.admin_a, reseller_id=reseller.pk, name="Big Co", plan_id=plan.pk
    )


def test_setting_a_company_to_custom_in_the_hub_keeps_its_plan_features(
    personas: Personas, enterprise: Company
) -> None:
    before = feature_keys(personas, enterprise)
    assert len(before) == 5
    client = client_for(personas.admin_a_user)
    url = reverse("companies:edit", args=[enterprise.pk])
    data = form_data(client.get(url).content, MAIN_FORM)
    data["plan_id"] = ""  # Custom (no plan)

    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    enterprise.refresh_from_db()
    assert enterprise.plan_id is None
    assert feature_keys(personas, enterprise) == before
    assert {f.key for f in enterprise.direct_features.all()} == before


def test_unlinking_with_a_direct_feature_list_never_removes_a_plan_feature(
    personas: Personas, enterprise: Company
) -> None:
    """The same rule below the hub: whichever channel unlinks, nothing is removed."""
    before = feature_keys(personas, enterprise)
    company_update(
        actor=personas.admin_a,
        company_id=enterprise.pk,
        changes={"plan_id": None, "direct_features": ["api_access"]},
    )
    assert feature_keys(personas, enterprise) == before | {"api_access"}


# ---- 3. Money and percent fields are read strictly ------------------------------------------


def _plan_edit(w: World) -> tuple[Any, str, tuple[str, str | None]]:
    return w.personas.admin_a_user, reverse("plans:edit", args=[w.rich.pk]), MAIN_FORM


def _company_custom(w: World) -> tuple[Any, str, tuple[str, str | None]]:
    return w.personas.admin_a_user, reverse("companies:edit", args=[w.custom.pk]), MAIN_FORM


def _reseller(w: World) -> tuple[Any, str, tuple[str, str | None]]:
    url = reverse("resellers:edit", args=[w.personas.reseller_a.pk])
    return w.personas.admin_a_user, url, MAIN_FORM


def _catalog(w: World) -> tuple[Any, str, tuple[str, str | None]]:
    return w.personas.platform_user, reverse("catalog:index"), ("method", "post")


def _sale_item_new(w: World) -> tuple[Any, str, tuple[str, str | None]]:
    url = reverse("fees:sale_items", args=[w.custom.pk])
    return w.personas.admin_a_user, url, ("class", "card section")


def _sale_item_edit(w: World) -> tuple[Any, str, tuple[str, str | None]]:
    return (
        w.personas.admin_a_user,
        reverse("fees:sale_item_edit", args=[w.item.pk]),
        ("class", "card"),
    )


MONEY_FIELDS = [
    # (form, field, extra fields a person would also set)
    ("plan", _plan_edit, "fee_GBP_ticket_fixed", {}),
    ("plan", _plan_edit, "fee_GBP_ticket_min", {}),
    ("plan", _plan_edit, "fee_GBP_ticket_percent", {}),
    ("plan", _plan_edit, "price_INR_monthly", {}),
    ("plan", _plan_edit, "revenue_share_percent", {"plan_type": "revenue_sharing"}),
    ("company", _company_custom, "fee_GBP_ticket_fixed", {}),
    ("company", _company_custom, "fee_GBP_ticket_max", {}),
    ("company", _company_custom, "fee_GBP_ticket_percent", {}),
    ("reseller", _reseller, "fee_GBP_ticket_fixed", {"fee_currencies": ["GBP"]}),
    ("reseller", _reseller, "fee_GBP_ticket_percent", {"fee_currencies": ["GBP"]}),
    ("gateway", _catalog, "fixed_GBP", {}),
    ("gateway", _catalog, "percent_GBP", {}),
    ("tax", _catalog, "gst_percent", {}),
    ("sale item", _sale_item_new, "price", {"name": "Child", "currency": "GBP"}),
    ("sale item edit", _sale_item_edit, "price", {}),
]


@pytest.mark.parametrize("bad", ["1,50", "1e3"])
@pytest.mark.parametrize(
    "form,case,field,extra", MONEY_FIELDS, ids=[f"{m[0]}: {m[2]}" for m in MONEY_FIELDS]
)
def test_an_ambiguous_amount_is_refused_at_its_field_and_nothing_is_saved(
    world: World, form: str, case: Any, field: str, extra: dict[str, Any], bad: str
) -> None:
    user, url, pick = case(world)
    client = client_for(user)
    html = client.get(url).content
    index = 0
    if form in ("gateway", "tax"):  # the catalog page holds several forms
        index = next(i for i in range(20) if form_data(html, pick, i).get("form") == form)
    data = {**form_data(html, pick, index), **extra, field: bad}
    before = database_state()

    response = client.post(url, data)

    assert response.status_code in (200, 422), response.status_code
    page = response.content.decode()
    assert "such as" in page, f"no message naming the expected form for {field}={bad!r}"
    assert database_state() == before


def test_a_well_formed_amount_is_saved_in_minor_units(world: World) -> None:
    client = client_for(world.personas.admin_a_user)
    url = reverse("fees:sale_item_edit", args=[world.item.pk])
    data = {**form_data(client.get(url).content, ("class", "card")), "price": "1,250.50"}
    assert client.post(url, data).status_code == 302
    world.item.refresh_from_db()
    assert world.item.price_minor == 125050  # minor units


# ---- 4. Registration: POST/redirect/GET ---------------------------------------------------


def test_reloading_the_registration_welcome_page_does_not_register_again(
    personas: Personas,
) -> None:
    client = Client()
    url = reverse("registration:register", args=["northwind"])
    data = {
        **form_data(client.get(url).content, ("method", "post")),
        "company_name": "Newco",
        "contact_email": "hi@newco.test",
    }

    response = client.post(url, data)

    assert response.status_code == 302
    welcome = response["Location"]
    assert welcome == reverse("registration:done", args=["northwind"])
    for _ in range(2):  # the page, then a reload
        page = client.get(welcome)
        assert page.status_code == 200
        assert "Welcome, Newco" in page.content.decode()
    assert Company.objects.filter(name="Newco").count() == 1


def test_the_welcome_page_without_a_registration_shows_the_form(personas: Personas) -> None:
    response = Client().get(reverse("registration:done", args=["northwind"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("registration:register", args=["northwind"])


# ---- 9, 16. The company form's plan dropdown ------------------------------------------------


def _plan_select(html: bytes) -> str:
    text = html.decode()
    start = text.index('name="plan_id"')
    return text[start : text.index("</select>", start)]


def test_hidden_plans_are_grouped_under_hidden_plans(world: World) -> None:
    client = client_for(world.personas.admin_a_user)
    select = _plan_select(client.get(reverse("companies:edit", args=[world.custom.pk])).content)
    visible_part, _, hidden_part = select.partition('<optgroup label="Hidden plans">')
    assert f'value="{world.hidden.pk}"' in hidden_part
    assert f'value="{world.rich.pk}"' in visible_part
    assert f'value="{world.rich.pk}"' not in hidden_part
    new_page = client.get(reverse("companies:create")).content.decode()
    assert '<optgroup label="Hidden plans">' in new_page


def test_the_stored_archived_plan_is_shown_marked_on_the_company_form(world: World) -> None:
    client = client_for(world.personas.admin_a_user)
    html = client.get(reverse("companies:edit", args=[world.on_archived.pk])).content
    assert "bronze (archived)" in _plan_select(html)
    assert form_data(html, MAIN_FORM)["plan_id"] == str(world.archived.pk)


def test_no_plans_are_offered_when_the_reseller_lacks_the_plans_feature(world: World) -> None:
    p = world.personas
    reseller_update(
        actor=p.platform,
        reseller_id=p.reseller_a.pk,
        changes={"features": ["seating", "vouchers", "api_access"]},
    )
    client = client_for(p.admin_a_user)
    page = client.get(reverse("companies:edit", args=[world.custom.pk])).content
    custom = _plan_select(page)
    assert custom.count("<option") == 1 and "Custom (no plan)" in custom
    assert "Plans are not enabled for this reseller" in page.decode()
    # A company already on a plan keeps it (assignments keep resolving) and round-trips.
    html = client.get(reverse("companies:edit", args=[world.on_plan.pk])).content
    on_plan = _plan_select(html)
    assert on_plan.count("<option") == 2 and "silver (current)" in on_plan
    assert form_data(html, MAIN_FORM)["plan_id"] == str(world.rich.pk)
    new_company = _plan_select(client.get(reverse("companies:create")).content)
    assert new_company.count("<option") == 1


# ---- 14. Blended fees: one combined fee in the sale-item table --------------------------------


def test_a_blended_item_shows_one_combined_fee_with_the_split_on_hover(world: World) -> None:
    client = client_for(world.personas.admin_a_user)
    jpy = sale_item_create(  # the custom company's JPY fees are blended
        actor=world.personas.admin_a,
        company_id=world.custom.pk,
        data={"name": "Gift", "currency": "JPY", "fee_type": "donation", "price_minor": 1000},
    )
    assert jpy.blended and jpy.reseller_fee_minor and jpy.gateway_fee_minor
    total = jpy.reseller_fee_minor + jpy.gateway_fee_minor
    page = client.get(reverse("fees:sale_items", args=[world.custom.pk])).content.decode()
    row = page[page.index("Gift") : page.index("</tr>", page.index("Gift"))]
    assert row.count('data-testid="combined-fee"') == 1
    assert f"JPY {total:,}" in row
    assert (
        f'title="Reseller fee JPY {jpy.reseller_fee_minor} + gateway fee JPY '
        f'{jpy.gateway_fee_minor}"' in row
    )
    itemised = page[page.index("Adult GA") : page.index("</tr>", page.index("Adult GA"))]
    assert "combined-fee" not in itemised and "GBP 0.85" in itemised


# ---- 18. Assigning a plan asks how to apply its fees ------------------------------------------


@pytest.fixture
def other_fees_plan(world: World) -> Any:
    """A plan whose fees differ from the custom company's own, blended alike (a blended
    change always recalculates, SPEC §6, so it would not ask)."""
    fees = rich_plan_data("x")["fees"]
    fees[0] = {**fees[0], "percent_bps": 400}
    data = rich_plan_data("other", fees=fees, blended={"GBP": False, "JPY": True})
    return plan_create(actor=world.personas.admin_a, reseller_id=world.rich.reseller_id, data=data)


def _assign(world: World, plan: Any, **extra: str) -> Any:
    client = client_for(world.personas.admin_a_user)
    url = reverse("companies:edit", args=[world.custom.pk])
    data = {**form_data(client.get(url).content, MAIN_FORM), "plan_id": str(plan.pk)}
    return client.post(url, {**data, **extra})


def test_assigning_a_plan_asks_how_to_apply_its_fees_and_changes_nothing_until_answered(
    world: World, other_fees_plan: Any
) -> None:
    before = database_state()
    response = _assign(world, other_fees_plan)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="fee-apply-dialog"' in page
    assert "Apply to all items (old and new)" in page
    assert "Apply only to new/edited items" in page
    assert database_state() == before


def test_assigning_a_plan_for_new_items_only_keeps_stored_fees(
    world: World, other_fees_plan: Any
) -> None:
    item_before = SaleItem.objects.get(pk=world.item.pk)
    response = _assign(world, other_fees_plan, fee_apply_mode="new")
    assert response.status_code == 302
    world.custom.refresh_from_db()
    assert world.custom.plan_id == other_fees_plan.pk
    assert not RecalcJob.objects.exists()
    item = SaleItem.objects.get(pk=world.item.pk)
    assert (item.fee_revision, item.reseller_fee_minor) == (
        item_before.fee_revision,
        item_before.reseller_fee_minor,
    )
    assert AuditEvent.objects.filter(action="company.update", object_id=world.custom.pk).exists()


def test_assigning_a_plan_for_all_items_starts_a_recalculation(
    world: World, other_fees_plan: Any
) -> None:
    response = _assign(world, other_fees_plan, fee_apply_mode="all")
    job = RecalcJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("fees:job_detail", args=[job.pk])
    assert job.company_ids == [world.custom.pk]


def test_assigning_a_plan_that_changes_blended_warns_before_recalculating_all_items(
    world: World,
) -> None:
    """The silver plan blends GBP and itemises JPY, the custom company the opposite: the
    recalculation is forced (SPEC §6), so the form warns and saves only when confirmed."""
    before = database_state()
    response = _assign(world, world.rich)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="forced-recalc"' in page and "Recalculation required" in page
    assert database_state() == before

    response = _assign(world, world.rich, confirmed="1")
    job = RecalcJob.objects.get()
    assert response["Location"] == reverse("fees:job_detail", args=[job.pk])
    world.custom.refresh_from_db()
    assert world.custom.plan_id == world.rich.pk
