"""Companies in Chromium: plan dropdown, plan features, deviation, fee inheritance (SPEC §5)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from partnerhub.companies.models import Company
from partnerhub.fees.models import RecalcJob
from partnerhub.plans.services import plan_archive, plan_update
from partnerhub.testing.factories import CompanyFactory, PlanFactory, SaleItemFactory
from partnerhub.web.tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GBP_TICKET = {
    "currency": "GBP",
    "fee_type": "ticket",
    "percent_bps": 250,
    "fixed_minor": 30,
    "min_minor": None,
    "max_minor": None,
}


def test_list_searches_and_filters_by_plan(hub: Any, personas: Any) -> None:
    CompanyFactory(reseller=personas.reseller_a, name="Zenith Halls")
    login(hub, "admin-a")
    hub.goto("/companies/")
    table = hub.get_by_test_id("company-table")
    expect(table).to_contain_text("Acme Events")
    expect(table).to_contain_text("Zenith Halls")
    hub.get_by_label("Search").fill("zen")
    hub.get_by_role("button", name="Search").click()
    expect(table).not_to_contain_text("Acme Events")
    hub.get_by_label("Search").fill("")
    hub.get_by_label("Plan").select_option(label="gold")
    expect(table).to_contain_text("Acme Events")
    expect(table).not_to_contain_text("Zenith Halls")


def test_plan_dropdown_offers_only_assignable_plans(hub: Any, personas: Any) -> None:
    silver = PlanFactory(reseller=personas.reseller_a, name="silver")
    PlanFactory(reseller=personas.reseller_a, name="disabled-plan", enabled=False)
    archived = PlanFactory(reseller=personas.reseller_a, name="old-plan")
    plan_archive(actor=personas.admin_a, plan_id=archived.pk)
    login(hub, "admin-a")
    hub.goto(f"/companies/{personas.company_a.pk}/")
    options = hub.get_by_label("Plan", exact=True).locator("option")
    expect(options).to_have_text(["Custom (no plan)", "gold — Gold", "silver — Silver"])
    hub.get_by_label("Plan", exact=True).select_option(str(silver.pk))
    hub.get_by_role("button", name="Save changes").click()
    expect(hub.get_by_text('Saved "Acme Events".')).to_be_visible()
    assert Company.objects.get(pk=personas.company_a.pk).plan_id == silver.pk


def test_removing_a_plan_feature_asks_then_marks_deviation_and_resync_clears_it(
    hub: Any, personas: Any
) -> None:
    login(hub, "admin-a")
    hub.goto(f"/companies/{personas.company_a.pk}/")
    row = hub.get_by_test_id("company-features").locator("tr[data-feature=seating]")
    expect(row).to_contain_text("Plan · read-only")
    row.get_by_role("checkbox").click()
    dialog = hub.locator("#confirm-dialog")
    expect(dialog).to_contain_text("removing it makes this company deviate from its plan")
    dialog.get_by_role("button", name="Remove feature").click()
    expect(row.get_by_role("checkbox")).not_to_be_checked()
    hub.get_by_role("button", name="Save changes").click()
    expect(hub.get_by_test_id("deviates-badge")).to_have_text("Deviates from plan")
    expect(hub.get_by_test_id("effective-features")).not_to_contain_text("seating")
    assert [f.key for f in personas.company_a.excluded_features.all()] == ["seating"]
    hub.get_by_role("button", name="Re-sync with plan").click()
    expect(hub.get_by_test_id("deviates-badge")).to_have_count(0)
    expect(hub.get_by_test_id("effective-features")).to_contain_text("seating")


def test_cancelling_the_removal_keeps_the_feature(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto(f"/companies/{personas.company_a.pk}/")
    box = (
        hub.get_by_test_id("company-features")
        .locator("tr[data-feature=seating]")
        .get_by_role("checkbox")
    )
    box.click()
    hub.locator("#confirm-dialog").get_by_role("button", name="Cancel").click()
    expect(box).to_be_checked()


def test_fee_inheritance_messages_use_plan_fees_and_reset(hub: Any, personas: Any) -> None:
    plan = personas.plan_a
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        changes={"fees": [GBP_TICKET]},
        version=plan.version,
        fee_apply_mode="new",
    )
    login(hub, "admin-a")
    hub.goto(f"/companies/{personas.company_a.pk}/")
    message = hub.get_by_test_id("inherit-message")
    expect(message).to_have_text(
        "This company will inherit the fees configured in \u2018Gold\u2019."
    )
    expect(hub.get_by_test_id("fee-table-read")).to_contain_text("2.5 %")
    hub.get_by_label("Use plan fees").uncheck()
    expect(message).to_have_text(
        "This company will not inherit the fees configured in \u2018Gold\u2019."
    )
    expect(hub.get_by_text("Not saved yet")).to_be_visible()
    assert Company.objects.get(pk=personas.company_a.pk).use_plan_fees is True
    hub.get_by_role("button", name="Save changes").click()
    expect(hub.get_by_text('Saved "Acme Events".')).to_be_visible()
    expect(message).to_have_text(
        "This company will not inherit the fees configured in \u2018Gold\u2019."
    )
    # Its own schedule starts as a copy of the plan's, now editable.
    expect(hub.get_by_label("Ticket percent (GBP)")).to_have_value("2.5")
    hub.get_by_label("Ticket percent (GBP)").fill("5")
    hub.get_by_role("button", name="Save changes").click()
    expect(hub.get_by_label("Ticket percent (GBP)")).to_have_value("5")
    hub.get_by_role("button", name="Reset to plan fees").click()
    expect(message).to_have_text(
        "This company will inherit the fees configured in \u2018Gold\u2019."
    )
    assert Company.objects.get(pk=personas.company_a.pk).use_plan_fees is True


def test_fee_change_on_a_company_with_items_asks_how_to_apply(hub: Any, personas: Any) -> None:
    company = CompanyFactory(reseller=personas.reseller_a, name="Solo Shows")
    login(hub, "admin-a")
    hub.goto(f"/companies/{company.pk}/")
    hub.locator("#add-fee-currency").select_option("GBP")
    hub.get_by_label("Ticket percent (GBP)").fill("2")
    hub.get_by_role("button", name="Save changes").click()
    expect(hub.get_by_text('Saved "Solo Shows".')).to_be_visible()
    SaleItemFactory(company=company)
    hub.get_by_label("Ticket percent (GBP)").fill("3")
    hub.get_by_role("button", name="Save changes").click()
    dialog = hub.get_by_test_id("fee-apply-dialog")
    expect(dialog).to_contain_text("Apply to all items (old and new)")
    dialog.get_by_text("Apply to all items (old and new)").click()
    dialog.get_by_role("button", name="Confirm and save").click()
    expect(hub.get_by_test_id("job-status")).to_be_visible()
    assert RecalcJob.objects.get().company_ids == [company.pk]


def test_limit_override_wins_over_the_plan(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto(f"/companies/{personas.company_a.pk}/")
    field = hub.get_by_label("Team Members override")
    expect(hub.locator(".field", has=field)).to_contain_text("Effective: 5 (plan)")
    field.fill("9")
    hub.get_by_role("button", name="Save changes").click()
    expect(hub.locator(".field", has=hub.get_by_label("Team Members override"))).to_contain_text(
        "Effective: 9 (override) · plan: 5"
    )
    assert Company.objects.get(pk=personas.company_a.pk).limit_overrides == {"team_members": 9}


def test_add_a_company_on_a_plan(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto("/companies/")
    hub.get_by_role("link", name="Add company").click()
    hub.get_by_label("Company name").fill("Harbour Lights")
    hub.get_by_label("Plan", exact=True).select_option(label="gold — Gold")
    hub.get_by_role("button", name="Add company").click()
    expect(hub.get_by_text('Created "Harbour Lights".')).to_be_visible()
    expect(hub.get_by_test_id("inherit-message")).to_have_text(
        "This company will inherit the fees configured in \u2018Gold\u2019."
    )
    company = Company.objects.get(name="Harbour Lights")
    assert (company.plan_id, company.use_plan_fees) == (personas.plan_a.pk, True)


def test_limit_override_can_lift_the_limit(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto(f"/companies/{personas.company_a.pk}/")
    hub.get_by_label("Team Members: Unlimited").check()
    hub.get_by_role("button", name="Save changes").click()
    expect(hub.locator(".field", has=hub.get_by_label("Team Members override"))).to_contain_text(
        "Effective: unlimited (override) · plan: 5"
    )
    assert Company.objects.get(pk=personas.company_a.pk).limit_overrides == {"team_members": None}
    expect(hub.get_by_label("Team Members: Unlimited")).to_be_checked()
