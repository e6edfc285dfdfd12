"""The plans screens in Chromium: what a person sees and does (SPEC §8, seed 003)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from partnerhub.plans.models import Plan
from partnerhub.testing.factories import CompanyFactory
from partnerhub.web.tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARCHIVE_TOOLTIP = (
    "Archiving plans allows you to hide them as options when assigning to companies but "
    "keeps them assigned to any existing companies."
)


def test_plan_card_shows_counts_and_company_names(hub: Any, personas: Any) -> None:
    CompanyFactory(reseller=personas.reseller_a, name="Beta Tours", plan=personas.plan_a)
    login(hub, "admin-a")
    hub.goto("/plans/")
    card = hub.locator("[data-testid=plan-card]", has_text="gold")
    expect(card).to_contain_text("2 feature(s)")
    card.get_by_text("Assigned to 2 company(s)").click()
    expect(card.get_by_role("link", name="Acme Events")).to_be_visible()
    expect(card.get_by_role("link", name="Beta Tours")).to_be_visible()


def test_archive_button_explains_itself_and_archives(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto("/plans/")
    card = hub.locator("[data-testid=plan-card]", has_text="gold")
    archive = card.get_by_role("button", name="Archive")
    expect(archive).to_have_attribute("title", ARCHIVE_TOOLTIP)
    archive.hover()
    expect(card.get_by_role("tooltip")).to_have_text(ARCHIVE_TOOLTIP)
    archive.click()
    expect(hub.get_by_text('Archived "gold".')).to_be_visible()
    expect(hub.locator("[data-testid=plan-card]")).to_have_count(0)
    hub.get_by_label("Archived").select_option("only")
    expect(hub.locator("[data-testid=plan-card]", has_text="gold")).to_contain_text("Archived")
    personas.plan_a.refresh_from_db()
    assert personas.plan_a.archived


def test_status_toggle_saves_in_place(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto("/plans/")
    card = hub.locator("[data-testid=plan-card]", has_text="gold")
    card.get_by_label("Status of gold").uncheck()
    expect(card.get_by_test_id("toggle-enabled")).to_contain_text("Disabled")
    personas.plan_a.refresh_from_db()
    assert personas.plan_a.enabled is False
    assert hub.url.endswith("/plans/")  # no reload, no navigation


def test_delete_asks_with_the_seed_text_then_restore(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto("/plans/")
    card = hub.locator("[data-testid=plan-card]", has_text="gold")
    card.get_by_role("button", name="Delete").click()
    dialog = hub.locator("#confirm-dialog")
    expect(dialog).to_contain_text(
        "Are you sure you want to delete “gold”? All companies assigned to this plan will "
        "retain their fees and features but be set to “Custom”."
    )
    dialog.get_by_role("button", name="Delete plan").click()
    expect(hub.get_by_text('Deleted "gold".', exact=False)).to_be_visible()
    personas.company_a.refresh_from_db()
    assert personas.company_a.plan_id is None
    hub.get_by_label("Deleted").select_option("1")
    hub.locator("[data-testid=plan-card]", has_text="gold").get_by_role(
        "button", name="Restore"
    ).click()
    expect(hub.get_by_text('Restored "gold".')).to_be_visible()
    assert Plan.objects.get(pk=personas.plan_a.pk).deleted_at is None


def test_name_filter_narrows_as_you_type(hub: Any, personas: Any) -> None:
    from partnerhub.testing.factories import PlanFactory

    PlanFactory(reseller=personas.reseller_a, name="silver", display_name="Silver")
    login(hub, "admin-a")
    hub.goto("/plans/")
    expect(hub.locator("[data-testid=plan-card]")).to_have_count(2)
    hub.get_by_label("Name").fill("silv")
    expect(hub.locator("[data-testid=plan-card]")).to_have_count(1)
    expect(hub.locator("[data-testid=plan-card]")).to_contain_text("silver")
    hub.get_by_label("Name").fill("nothing-like-this")
    expect(hub.get_by_test_id("empty-state")).to_contain_text("No plans match these filters")


def test_duplicate_creates_a_disabled_copy(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto("/plans/")
    hub.locator("[data-testid=plan-card]", has_text="gold").get_by_role(
        "button", name="Duplicate"
    ).click()
    expect(hub.get_by_text('Created "Copy of gold"', exact=False)).to_be_visible()
    copy = hub.locator("[data-plan-name='Copy of gold']")
    expect(copy).to_contain_text("Status: Disabled")
    expect(copy).to_contain_text("2 feature(s)")
    expect(copy).to_contain_text("Assigned to 0 company(s)")


def test_restore_with_a_taken_name_offers_a_new_one(hub: Any, personas: Any) -> None:
    from partnerhub.plans.services import plan_delete
    from partnerhub.testing.factories import PlanFactory

    plan_delete(actor=personas.admin_a, plan_id=personas.plan_a.pk)
    PlanFactory(reseller=personas.reseller_a, name="gold")
    login(hub, "admin-a")
    hub.goto("/plans/?deleted=1")
    hub.locator("[data-testid=plan-card]", has_text="gold").get_by_role(
        "button", name="Restore"
    ).click()
    expect(hub.get_by_role("alert")).to_contain_text(
        'A plan called "gold" already exists — try "gold (2)".'
    )
    expect(hub.get_by_label("New plan name")).to_have_value("gold (2)")
    hub.get_by_role("button", name="Restore").click()
    expect(hub.get_by_text('Restored "gold (2)".')).to_be_visible()
    restored = Plan.objects.get(pk=personas.plan_a.pk)
    assert (restored.name, restored.deleted_at) == ("gold (2)", None)


def test_platform_picks_a_reseller_before_creating_a_plan(hub: Any, personas: Any) -> None:
    login(hub, "operator")
    hub.goto("/plans/")
    expect(hub.locator("[data-testid=plan-card]", has_text="Northwind Tickets")).to_have_count(1)
    hub.get_by_role("link", name="Create Plan").click()
    hub.get_by_label("Reseller").select_option(label="Southwind Events")
    hub.get_by_role("button", name="Continue").click()
    expect(hub.get_by_text("For Southwind Events.")).to_be_visible()
    features = hub.get_by_test_id("feature-choices")
    expect(features).not_to_contain_text("Vouchers")  # not enabled for Southwind
