"""The other screens in Chromium: dashboard, jobs, resellers, catalog, audit, API keys,
sale items and the public registration form."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from partnerhub.accounts.models import ApiKey
from partnerhub.catalog.models import Feature, GatewayFee, Limit, TaxSettings
from partnerhub.companies.models import Company
from partnerhub.fees.jobs import recalculation_enqueue
from partnerhub.fees.recalc import recalculation_run
from partnerhub.plans.services import plan_update
from partnerhub.resellers.models import Reseller
from partnerhub.testing.factories import SaleItemFactory
from partnerhub.web.tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_charts_companies_per_plan_and_fee_totals(hub: Any, personas: Any) -> None:
    SaleItemFactory(company=personas.company_a, reseller_fee_minor=150, gateway_fee_minor=40)
    login(hub, "admin-a")
    expect(hub.get_by_test_id("stat-companies")).to_have_text("1")
    expect(hub.get_by_role("img", name="gold: 1 (companies)")).to_be_visible()
    expect(
        hub.get_by_role("img", name="Reseller fees: GBP 1.50, Gateway fees: GBP 0.40 (GBP)")
    ).to_be_visible()


def test_jobs_list_links_to_the_progress_page(hub: Any, personas: Any) -> None:
    from django.db import transaction

    SaleItemFactory(company=personas.company_a)
    with transaction.atomic():
        job = recalculation_enqueue(
            actor=personas.admin_a,
            reseller_id=personas.reseller_a.pk,
            company_ids=[personas.company_a.pk],
            reason="test run",
        )
    recalculation_run(job_id=job.pk)
    login(hub, "admin-a")
    hub.goto("/jobs/")
    hub.get_by_role("link", name=f"#{job.pk}").click()
    expect(hub.get_by_test_id("job-percent")).to_have_text("100 %")
    expect(hub.get_by_test_id("job-outcome")).to_contain_text("new fees")
    hub.context.clear_cookies()
    login(hub, "admin-b")
    response = hub.goto(f"/jobs/{job.pk}/")
    assert response is not None and response.status == 404


def test_platform_manages_resellers(hub: Any, personas: Any) -> None:
    login(hub, "operator")
    hub.goto("/resellers/")
    row = hub.get_by_test_id("reseller-table").locator("tr", has_text="Northwind Tickets")
    expect(row).to_contain_text("vouchers")
    row.get_by_role("link", name="Edit").click()
    hub.get_by_label("Vouchers").uncheck()
    hub.get_by_label("Default registration plan").select_option(label="gold — Gold")
    hub.get_by_role("button", name="Save").click()
    expect(hub.get_by_text('Saved reseller "Northwind Tickets".')).to_be_visible()
    reseller = Reseller.objects.get(pk=personas.reseller_a.pk)
    assert "vouchers" not in reseller.feature_keys()
    assert reseller.default_registration_plan_id == personas.plan_a.pk
    hub.goto("/resellers/")
    hub.get_by_role("link", name="Add reseller").click()
    hub.get_by_label("Name").fill("Eastwind")
    hub.get_by_label("Slug").fill("eastwind")
    hub.get_by_role("button", name="Save").click()
    expect(hub.get_by_text('Added reseller "Eastwind".')).to_be_visible()
    assert Reseller.objects.filter(slug="eastwind").exists()


def test_reseller_admin_sets_registration_plan_and_reseller_fees(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.get_by_role("link", name="Reseller settings").click()
    expect(hub.get_by_label("Name")).to_have_count(0)  # identity is the platform's
    hub.get_by_label("Default registration plan").select_option(label="gold — Gold")
    hub.locator("#add-fee-currency").select_option("GBP")
    hub.get_by_label("Ticket percent (GBP)").fill("1.5")
    hub.get_by_role("button", name="Save").click()
    expect(hub.get_by_text('Saved reseller "Northwind Tickets".')).to_be_visible()
    expect(hub.get_by_label("Ticket percent (GBP)")).to_have_value("1.5")
    reseller = Reseller.objects.get(pk=personas.reseller_a.pk)
    assert reseller.default_registration_plan_id == personas.plan_a.pk
    assert reseller.fee_schedule.entries.get().percent_bps == 150


def test_platform_edits_the_catalog(hub: Any, personas: Any) -> None:
    login(hub, "operator")
    hub.goto("/catalog/")
    feature_form = hub.locator("form", has=hub.locator("input[name=form][value=feature]"))
    feature_form.get_by_label("Key").fill("box_office")
    feature_form.get_by_label("Name").fill("Box office")
    feature_form.get_by_role("button", name="Add feature").click()
    expect(hub.get_by_text("Catalog saved.")).to_be_visible()
    assert Feature.objects.filter(key="box_office").exists()
    currency_form = hub.locator("form", has=hub.locator("input[name=form][value=currency]"))
    currency_form.get_by_label("ISO 4217 code").fill("XYZ")
    currency_form.get_by_role("button", name="Add currency").click()
    expect(currency_form.locator(".errorlist")).to_be_visible()  # not an ISO 4217 code
    hub.get_by_text("Add a limit").click()
    limit_form = hub.locator("form", has=hub.locator("input[name=form][value=limit]"))
    limit_form.get_by_label("Key").fill("venues")
    limit_form.get_by_label("Name").fill("Venues")
    limit_form.get_by_role("button", name="Add limit").click()
    expect(hub.get_by_text("Catalog saved.")).to_be_visible()
    assert Limit.objects.filter(key="venues").exists()
    hub.get_by_label("GBP percent").fill("1.4")
    hub.get_by_label("GBP fixed").fill("0.20")
    hub.get_by_role("button", name="Save gateway fees").click()
    expect(hub.get_by_label("GBP percent")).to_have_value("1.4")
    fee = GatewayFee.objects.get(currency_id="GBP")
    assert (fee.percent_bps, fee.fixed_minor) == (140, 20)
    hub.get_by_label("GST rate (%)").fill("12.5")
    hub.get_by_role("button", name="Save GST rate").click()
    expect(hub.get_by_label("GST rate (%)")).to_have_value("12.5")
    assert TaxSettings.current().gst_rate_bps == 1250


def test_reseller_admin_cannot_open_platform_pages(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    for path in ("/resellers/", "/catalog/"):
        response = hub.goto(path)
        assert response is not None and response.status == 403
        expect(hub.get_by_test_id("error-403")).to_contain_text("Only the platform operator")


def test_audit_log_filters_by_object_and_actor(hub: Any, personas: Any) -> None:
    plan = personas.plan_a
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        changes={"display_name": "Gold+"},
        version=plan.version,
    )
    login(hub, "admin-a")
    hub.goto("/audit/")
    table = hub.get_by_test_id("audit-table")
    # A sentence, not a machine action (issue #13).
    expect(table).to_contain_text("admin-a changed the display name of gold from Gold to Gold+")
    hub.get_by_label("Object", exact=True).select_option("company")
    hub.get_by_role("button", name="Filter").click()
    expect(hub.locator("body")).to_contain_text("No events")
    hub.get_by_label("Object", exact=True).select_option("plan")
    hub.get_by_label("Actor").fill("admin-a")
    hub.get_by_role("button", name="Filter").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Gold+")


def test_api_key_is_shown_once_then_revoked(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto("/api-keys/")
    hub.get_by_label("Name").fill("ticketing backend")
    hub.get_by_label("Access").select_option("reseller_viewer")
    hub.get_by_role("button", name="Create key").click()
    raw = hub.get_by_test_id("raw-key").inner_text()
    key = ApiKey.objects.get(name="ticketing backend")
    assert raw.startswith(f"ph_{key.prefix}_") or key.prefix in raw
    hub.reload()
    expect(hub.get_by_test_id("raw-key")).to_have_count(0)  # never shown again
    expect(hub.locator("body")).not_to_contain_text(raw)
    row = hub.get_by_test_id("key-table").locator("tr", has_text="ticketing backend")
    row.get_by_role("button", name="Revoke").click()
    hub.locator("#confirm-dialog").get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("Revoked")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_sale_items_page_adds_an_item_with_its_fees(hub: Any, personas: Any) -> None:
    plan = personas.plan_a
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        version=plan.version,
        fee_apply_mode="new",
        changes={
            "fees": [
                {
                    "currency": "GBP",
                    "fee_type": "ticket",
                    "percent_bps": 250,
                    "fixed_minor": 30,
                    "min_minor": None,
                    "max_minor": None,
                }
            ]
        },
    )
    login(hub, "admin-a")
    hub.goto(f"/companies/{personas.company_a.pk}/")
    hub.get_by_role("link", name="Sale items").click()
    hub.get_by_label("Name").fill("Adult GA")
    hub.get_by_label("Price").fill("20.00")
    hub.get_by_label("Currency").select_option("GBP")
    hub.get_by_label("Fee type").select_option("ticket")
    hub.get_by_role("button", name="Add sale item").click()
    expect(hub.get_by_test_id("sale-items")).to_contain_text("GBP 0.80")  # 2.5 % of 20 + 0.30
    hub.get_by_role("link", name="Edit Adult GA").click()
    hub.get_by_label("Price").fill("40")
    hub.get_by_role("button", name="Save").click()
    expect(hub.get_by_text('Saved "Adult GA"; its fees were recomputed.')).to_be_visible()
    expect(hub.get_by_test_id("sale-items")).to_contain_text("GBP 1.30")  # 2.5 % of 40 + 0.30


def test_public_registration_form_creates_a_company(hub: Any, personas: Any) -> None:
    Reseller.objects.filter(pk=personas.reseller_a.pk).update(
        default_registration_plan=personas.plan_a
    )
    hub.goto("/r/northwind/register")
    hub.get_by_label("Company name").fill("Newco Events")
    hub.get_by_label("Contact email").fill("not-an-email")
    hub.get_by_role("button", name="Register").click()
    expect(hub.locator(".field.has-error")).to_contain_text("valid email")
    hub.get_by_label("Contact email").fill("hello@newco.test")
    hub.get_by_role("button", name="Register").click()
    expect(hub.get_by_test_id("registration-done")).to_contain_text("Welcome, Newco Events")
    company = Company.objects.get(name="Newco Events")
    assert company.plan_id == personas.plan_a.pk and company.use_plan_fees
    response = hub.goto("/r/no-such-reseller/register")
    assert response is not None and response.status == 404
