"""The hub speaks a reseller's language (issue #13): every error at once, at its field, in
plain words from one catalogue (`core/wording.py`); the API keeps its machine wording."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from partnerhub.accounts.models import ApiKey
from partnerhub.catalog.models import GatewayFee, TaxSettings
from partnerhub.core import wording
from partnerhub.plans.models import Plan
from partnerhub.testing.formpost import posted

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(personas: Any) -> Client:
    client = Client()
    client.force_login(personas.admin_a_user)
    return client


@pytest.fixture
def operator(personas: Any) -> Client:
    client = Client()
    client.force_login(personas.platform_user)
    return client


@pytest.mark.parametrize(
    ("machine", "label", "plain"),
    [
        ("percent_bps must be at most 10000 (100 %)", "", "Percent can be at most 100."),
        ("min_minor must not exceed max_minor", "", wording.MIN_ABOVE_MAX),
        ("must be at most 4611686018427387904", "", "That number is too large."),
        (
            "must be an integer from 0 to 10000 (basis points)",
            "",
            "Enter a percentage from 0 to 100.",
        ),
        ("a company key needs a company", "", "Choose the company this key is for."),
        ("already taken", "Slug", "That slug is already in use: choose another."),
        ("is required", "Plan name", "Enter the plan name."),
        ("GBP needs a yearly price", "", "Enter the yearly price in GBP."),
        ("Already plain words.", "", "Already plain words."),
    ],
)
def test_machine_messages_read_as_sentences(machine: str, label: str, plain: str) -> None:
    assert wording.plain(machine, label) == plain


def _errors(response: Any) -> dict[str, list[str]]:
    form = response.context["form"]
    return {name: list(errors) for name, errors in form.errors.items()}


def test_create_plan_reports_every_error_at_its_field_in_one_round_trip(
    hub: Client, personas: Any
) -> None:
    page = hub.get("/plans/new/").content.decode()
    response = hub.post(
        "/plans/new/",
        posted(
            page,
            {
                "plan_type": "revenue_sharing",
                "revenue_share_percent": "150",
                "name": "Gold",  # "gold" exists: names compare without case
                "display_name": "   ",
                "billing_cycles": ["monthly", "yearly"],
                "price_currencies": ["GBP"],
                "price_GBP_monthly": "99999999999999",
                "price_GBP_yearly": "",
                "limit_messages": "-1",
                "limit_team_members": "99999999999999999999",
                "fee_currencies": ["GBP"],
                "fee_GBP_ticket_percent": "150",
                "fee_GBP_product_min": "5",
                "fee_GBP_product_max": "2",
                "fee_GBP_donation_fixed": "-1",
                "fee_GBP_donation_max": "99999999999",
            },
        ),
    )

    assert response.status_code == 200
    assert _errors(response) == {
        "revenue_share_percent": ["The revenue share can be at most 100."],
        "name": ['A plan called "Gold" already exists — try "Gold (2)".'],
        "display_name": ["Enter the plan display name."],
        "price_GBP_monthly": ["The highest price is GBP 10,000,000,000,000.00."],
        "price_GBP_yearly": ["Enter the yearly price in GBP."],
        "limit_messages": [wording.LIMIT_NOT_NEGATIVE],
        "limit_team_members": [wording.LIMIT_TOO_LARGE],
        "fee_GBP_ticket_percent": ["Percent can be at most 100."],
        "fee_GBP_product_min": [wording.MIN_ABOVE_MAX],
        "fee_GBP_donation_fixed": [wording.AMOUNT_NOT_NEGATIVE],
        "fee_GBP_donation_max": ["The highest fee is GBP 10,000,000,000.00."],
    }
    assert not Plan.objects.filter(name__iexact="gold").exclude(pk=personas.plan_a.pk).exists()


def test_step_one_sections_are_checked_with_the_rest(hub: Client) -> None:
    page = hub.get("/plans/new/").content.decode()
    response = hub.post(
        "/plans/new/",
        posted(
            page,
            {
                "plan_type": "revenue_sharing",
                "name": " ",
                "billing_cycles": None,
                "limit_messages": "-5",
            },
        ),
    )

    errors = _errors(response)
    assert errors["name"] == ["Enter the plan name."]
    assert errors["billing_cycles"] == [wording.CHOOSE_BILLING_CYCLE]
    assert errors["revenue_share_percent"] == [wording.ENTER_REVENUE_SHARE]
    assert errors["limit_messages"] == [wording.LIMIT_NOT_NEGATIVE]


def test_a_taken_name_on_edit_suggests_a_free_one(hub: Client, personas: Any) -> None:
    from partnerhub.testing.factories import PlanFactory

    other = PlanFactory(reseller=personas.reseller_a, name="Silver")
    page = hub.get(f"/plans/{other.pk}/").content.decode()
    response = hub.post(f"/plans/{other.pk}/", posted(page, {"name": "GOLD"}))

    assert _errors(response)["name"] == ['A plan called "GOLD" already exists — try "GOLD (2)".']
    assert Plan.objects.get(pk=other.pk).name == "Silver"


def test_api_key_picks_its_company_by_name_and_needs_a_name(hub: Client, personas: Any) -> None:
    page = hub.get("/api-keys/").content.decode()
    assert '<option value="Acme Events">' in page  # the picker lists the reseller's companies

    unknown = hub.post("/api-keys/", {"name": "", "scope": "company", "company": "Nobody Ltd"})
    assert unknown.status_code == 200  # not a 404 page: the form again, as typed
    assert _errors(unknown) == {
        "name": [wording.ENTER_KEY_NAME],
        "company": [wording.COMPANY_NOT_FOUND],
    }
    assert 'value="Nobody Ltd"' in unknown.content.decode()

    created = hub.post(
        "/api-keys/", {"name": "box office", "scope": "company", "company": "acme events"}
    )
    assert created.status_code == 302
    key = ApiKey.objects.get(name="box office")
    assert key.company_id == personas.company_a.pk


def test_api_key_for_another_tenants_company_reads_as_unknown(hub: Client, personas: Any) -> None:
    from partnerhub.testing.factories import CompanyFactory

    CompanyFactory(reseller=personas.reseller_b, name="Southern Stage")
    response = hub.post(
        "/api-keys/", {"name": "k", "scope": "company", "company": "Southern Stage"}
    )
    assert _errors(response) == {"company": [wording.COMPANY_NOT_FOUND]}
    assert not ApiKey.objects.filter(name="k").exists()


def test_a_limit_override_with_unlimited_ticked_is_not_guessed(hub: Client, personas: Any) -> None:
    company = personas.company_a
    page = hub.get(f"/companies/{company.pk}/").content.decode()
    assert 'data-unlimited-for="override_messages"' in page
    response = hub.post(
        f"/companies/{company.pk}/",
        posted(page, {"override_messages": "10", "unlimited_messages": "on"}),
    )

    assert _errors(response)["override_messages"] == [wording.NUMBER_OR_UNLIMITED]
    company.refresh_from_db()
    assert "messages" not in (company.limit_overrides or {})


def test_catalog_percentages_and_gateway_fees_are_refused_at_their_field(
    operator: Client,
) -> None:
    tax = operator.post("/catalog/", {"form": "tax", "gst_percent": "250"})
    assert tax.context["tax_form"].errors == {"gst_percent": ["The GST rate can be at most 100."]}
    assert TaxSettings.current().gst_rate_bps != 25_000

    gateway = operator.post(
        "/catalog/",
        {"form": "gateway", "percent_EUR": "1.5", "fixed_EUR": "-0.30", "percent_GBP": "120"},
    )
    assert gateway.context["gateway_form"].errors == {
        "fixed_EUR": [wording.AMOUNT_NOT_NEGATIVE],
        "percent_GBP": ["Percent can be at most 100."],
    }
    assert not GatewayFee.objects.filter(currency_id__in=["EUR", "GBP"]).exists()


def test_the_audit_log_reads_as_sentences_and_finds_a_username_as_typed(
    hub: Client, personas: Any
) -> None:
    plan = personas.plan_a
    page = hub.get(f"/plans/{plan.pk}/").content.decode()
    saved = hub.post(f"/plans/{plan.pk}/", posted(page, {"price_GBP_monthly": "15.00"}))
    assert saved.status_code == 302

    log = hub.get("/audit/", {"actor": "admin-a"}).content.decode()
    assert "admin-a</a> changed the monthly GBP price of gold from 0.00 to 15.00" in log
    assert f'<a href="/plans/{plan.pk}/">gold</a>' in log  # the object by name, linked
    assert "plan.update" not in log and "user:admin-a" not in log
    nobody = hub.get("/audit/", {"actor": "someone-else"}).content.decode()
    assert "No events" in nobody

    from partnerhub.companies.services import company_update

    company_update(
        actor=personas.admin_a, company_id=personas.company_a.pk, changes={"plan_id": None}
    )
    log = hub.get("/audit/", {"object_type": "company"}).content.decode()
    assert "changed the plan of Acme Events from gold to Custom" in log  # names, not ids


def test_a_job_page_says_what_it_recalculated(hub: Client, personas: Any) -> None:
    from partnerhub.plans.services import plan_update
    from partnerhub.testing.factories import CompanyFactory

    CompanyFactory(reseller=personas.reseller_a, plan=personas.plan_a, use_plan_fees=False)
    fee = {"currency": "GBP", "fee_type": "ticket", "percent_bps": 250, "fixed_minor": 30}
    result = plan_update(
        actor=personas.admin_a,
        plan_id=personas.plan_a.pk,
        changes={"fees": [fee], "blended": {"GBP": False}},
        version=personas.plan_a.version,
        fee_apply_mode="all",
    )
    assert result.job is not None
    page = hub.get(f"/jobs/{result.job.pk}/").content.decode()
    assert (
        "Fees of plan gold, all items: 1 company with plan fees; "
        "1 company on its own fees was left alone."
    ) in page
    jobs = hub.get("/jobs/").content.decode()
    assert "Fees of plan gold" in jobs and "plan gold fees" not in jobs


@pytest.mark.parametrize("path", ["/plans/new/", "/api-keys/"])
def test_an_empty_post_shows_the_blank_form_again(hub: Client, path: str) -> None:
    response = hub.post(path, {})
    assert response.status_code == 200
    assert not response.context["form"].is_bound


def test_the_sale_item_form_offers_the_resellers_most_used_currency(
    hub: Client, personas: Any
) -> None:
    from partnerhub.testing.factories import SaleItemFactory

    company = personas.company_a
    for currency in ("EUR", "INR", "INR"):
        SaleItemFactory(company=company, currency_id=currency, fee_type_id="ticket")
    page = hub.get(f"/companies/{company.pk}/sale-items/")
    assert page.context["form"]["currency"].value() == "INR"
