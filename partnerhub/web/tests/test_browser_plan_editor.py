"""Creating and editing plans in Chromium, with the seed's dialogs (SPEC §4, seed 003)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from partnerhub.fees.models import RecalcJob
from partnerhub.fees.recalc import recalculation_run
from partnerhub.plans.models import Plan
from partnerhub.plans.services import plan_update
from partnerhub.testing.factories import CompanyFactory, SaleItemFactory
from partnerhub.web.tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def gbp_fees(percent_bps: int, blended: bool = False) -> dict[str, Any]:
    return {
        "fees": [
            {
                "currency": "GBP",
                "fee_type": "ticket",
                "percent_bps": percent_bps,
                "fixed_minor": 30,
                "min_minor": None,
                "max_minor": None,
            }
        ],
        "blended": {"GBP": blended},
    }


def test_create_plan_in_two_steps_shows_field_errors_then_saves(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto("/plans/")
    hub.get_by_role("link", name="Create Plan").first.click()
    expect(hub.locator("[data-step-indicator='1']")).to_have_attribute("aria-current", "step")
    hub.get_by_text("Usage-Based Plan").click()
    hub.get_by_label("Plan name").fill("gold")  # taken: the service says so next to the field
    hub.get_by_label("Plan display name").fill("Platinum")
    hub.get_by_label("Quarterly", exact=True).check()
    hub.locator("#add-price-currency").select_option("GBP")
    hub.get_by_label("Monthly price (GBP)").fill("29.00")
    hub.get_by_label("Quarterly price (GBP)").fill("79.5")
    expect(hub.get_by_label("Yearly price (GBP)")).to_be_hidden()
    hub.get_by_label("Enable GST").check()
    hub.get_by_role("button", name="Next: Plan benefits").click()
    expect(hub.locator("[data-step-indicator='2']")).to_have_attribute("aria-current", "step")
    hub.get_by_label("Messages", exact=True).fill("5000")
    hub.get_by_label("Team Members", exact=True).fill("3")
    features = hub.get_by_test_id("feature-choices")
    expect(features).to_contain_text("Vouchers")
    expect(features).not_to_contain_text("Custom Domain")  # not enabled for reseller A
    features.get_by_label("Seating").check()
    hub.locator("#add-fee-currency").select_option("GBP")
    hub.get_by_label("Ticket percent (GBP)").fill("2.5")
    hub.get_by_label("Ticket fixed (GBP)").fill("0.30")
    hub.get_by_label("Blended fees (GBP)").check()
    hub.get_by_role("button", name="Create Plan").click()

    name_field = hub.locator(".field.has-error", has=hub.get_by_label("Plan name"))
    expect(name_field).to_contain_text('A plan called "gold" already exists — try "gold (2)".')
    expect(hub.get_by_label("Plan name")).to_be_visible()  # the step with the error is shown
    hub.get_by_label("Plan name").fill("platinum")
    hub.get_by_role("button", name="Next: Plan benefits").click()
    hub.get_by_role("button", name="Create Plan").click()

    expect(hub.get_by_text('Created plan "platinum".')).to_be_visible()
    plan = Plan.objects.get(name="platinum")
    assert plan.billing_cycles == ["monthly", "quarterly"]
    assert {(p.currency_id, p.billing_cycle, p.amount_minor) for p in plan.prices.all()} == {
        ("GBP", "monthly", 2900),
        ("GBP", "quarterly", 7950),
    }
    assert plan.limits["messages"] == 5000 and plan.limits["whatsapp_conversations"] is None
    assert [f.key for f in plan.features.all()] == ["seating"]
    entry = plan.fee_schedule.entries.get()
    assert (entry.percent_bps, entry.fixed_minor, entry.blended) == (250, 30, True)
    card = hub.locator("[data-testid=plan-card]", has_text="platinum")
    expect(card).to_contain_text("1 feature(s)")
    expect(card).to_contain_text("Assigned to 0 company(s)")


def test_discard_leaves_without_saving(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto("/plans/new/")
    hub.get_by_label("Plan name").fill("draft-plan")
    hub.get_by_role("link", name="Discard").first.click()
    # Unsaved changes: the hub asks before it leaves them (issue #13).
    hub.locator("#confirm-dialog").get_by_role("button", name="Leave without saving").click()
    expect(hub).to_have_url(f"{hub.url.split('/plans')[0]}/plans/")
    assert not Plan.objects.filter(name="draft-plan").exists()


def test_removing_a_feature_lists_it_and_the_companies_then_it_leaves_them(
    hub: Any, personas: Any
) -> None:
    login(hub, "admin-a")
    hub.goto(f"/plans/{personas.plan_a.pk}/")
    hub.get_by_label("Seating").uncheck()
    hub.get_by_role("button", name="Save changes").click()
    dialog = hub.get_by_test_id("plan-confirm")
    expect(dialog.get_by_test_id("removed-features")).to_have_text("Seating")  # its name
    expect(dialog.get_by_test_id("affected-companies")).to_have_text("Acme Events")
    assert {f.key for f in personas.plan_a.features.all()} == {"plans", "seating"}  # not saved
    dialog.get_by_role("button", name="Confirm and save").click()
    expect(hub.get_by_text('Saved plan "gold".')).to_be_visible()
    hub.goto(f"/companies/{personas.company_a.pk}/")
    expect(
        hub.get_by_test_id("company-features").locator("tr[data-feature=seating]")
    ).to_contain_text("Direct")
    expect(hub.get_by_test_id("effective-features")).not_to_contain_text("seating")


def test_fee_change_asks_how_to_apply_and_the_job_reaches_100_percent(
    hub: Any, personas: Any
) -> None:
    plan = personas.plan_a
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        changes=gbp_fees(250),
        version=plan.version,
        fee_apply_mode="new",
    )
    for company in (personas.company_a, CompanyFactory(reseller=personas.reseller_a, plan=plan)):
        SaleItemFactory.create_batch(3, company=company)
    login(hub, "admin-a")
    hub.goto(f"/plans/{plan.pk}/")
    hub.get_by_label("Ticket percent (GBP)").fill("3")
    hub.get_by_role("button", name="Save changes").click()
    dialog = hub.get_by_test_id("plan-confirm")
    expect(dialog).to_contain_text("Apply to all items (old and new)")
    expect(dialog).to_contain_text("Apply only to new/edited items")
    dialog.get_by_text("Apply to all items (old and new)").click()
    dialog.get_by_role("button", name="Confirm and save").click()
    expect(hub.get_by_test_id("job-status")).to_be_visible()
    job = RecalcJob.objects.get()
    assert hub.url.endswith(f"/jobs/{job.pk}/")
    recalculation_run(job_id=job.pk)  # the worker's work, done here so the test is exact
    expect(hub.get_by_test_id("job-percent")).to_have_text("100 %", timeout=15_000)
    expect(hub.get_by_test_id("job-status")).to_have_text("Finished")
    expect(hub.get_by_test_id("job-companies")).to_have_text("2 of 2")
    expect(hub.get_by_test_id("job-items")).to_have_text("6 of 6")
    expect(hub.locator(".progress-bar")).to_have_attribute("style", "width: 100%")


def test_fee_change_applied_only_to_new_items_starts_no_job(hub: Any, personas: Any) -> None:
    plan = personas.plan_a
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        changes=gbp_fees(250),
        version=plan.version,
        fee_apply_mode="new",
    )
    SaleItemFactory(company=personas.company_a)
    login(hub, "admin-a")
    hub.goto(f"/plans/{plan.pk}/")
    hub.get_by_label("Ticket percent (GBP)").fill("4")
    hub.get_by_role("button", name="Save changes").click()
    hub.get_by_test_id("plan-confirm").get_by_text("Apply only to new/edited items").click()
    hub.get_by_role("button", name="Confirm and save").click()
    expect(hub.get_by_text('Saved plan "gold".')).to_be_visible()
    assert not RecalcJob.objects.exists()
    assert plan.fee_schedule.entries.get().percent_bps == 400


def test_blended_change_says_recalculation_is_required_without_a_choice(
    hub: Any, personas: Any
) -> None:
    plan = personas.plan_a
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        changes=gbp_fees(250),
        version=plan.version,
        fee_apply_mode="new",
    )
    SaleItemFactory(company=personas.company_a)
    login(hub, "admin-a")
    hub.goto(f"/plans/{plan.pk}/")
    hub.get_by_label("Blended fees (GBP)").check()
    hub.get_by_role("button", name="Save changes").click()
    dialog = hub.get_by_test_id("plan-confirm")
    expect(dialog.get_by_test_id("forced-recalc")).to_contain_text("must be recalculated")
    expect(dialog.locator("input[name=fee_apply_mode]")).to_have_count(0)
    dialog.get_by_role("button", name="Confirm and save").click()
    expect(hub.get_by_test_id("job-status")).to_be_visible()
    assert RecalcJob.objects.count() == 1


def test_stale_edit_is_explained_and_the_input_kept(hub: Any, personas: Any) -> None:
    plan = personas.plan_a
    login(hub, "admin-a")
    hub.goto(f"/plans/{plan.pk}/")
    # Someone else saves first.
    plan_update(
        actor=personas.admin_a,
        plan_id=plan.pk,
        changes={"display_name": "Gold 2"},
        version=plan.version,
    )
    hub.get_by_label("Plan display name").fill("Golden")
    hub.get_by_role("button", name="Save changes").click()
    expect(hub.get_by_test_id("stale-banner")).to_contain_text("Someone else saved this plan")
    expect(hub.get_by_label("Plan display name")).to_have_value("Golden")
    assert Plan.objects.get(pk=plan.pk).display_name == "Gold 2"
    hub.get_by_role("button", name="Save changes").click()  # saving again is deliberate
    expect(hub.get_by_text('Saved plan "gold".')).to_be_visible()
    assert Plan.objects.get(pk=plan.pk).display_name == "Golden"


def test_revenue_sharing_plan_needs_its_share(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto("/plans/new/")
    hub.get_by_text("Revenue-Sharing Plan").click()
    expect(hub.get_by_label("Revenue share")).to_be_visible()
    hub.get_by_label("Plan name").fill("partner-share")
    hub.get_by_label("Plan display name").fill("Partner share")
    hub.locator("#add-price-currency").select_option("GBP")
    hub.get_by_label("Monthly price (GBP)").fill("0")
    # "Next" checks step 1 first: the share is asked for at its field (issue #13).
    hub.get_by_role("button", name="Next: Plan benefits").click()
    share = hub.locator(".field.has-error", has=hub.get_by_label("Revenue share"))
    expect(share).to_contain_text("Enter the revenue share in percent.")
    expect(hub.get_by_role("button", name="Create Plan")).to_be_hidden()
    hub.get_by_label("Revenue share").fill("12.5")
    hub.get_by_role("button", name="Next: Plan benefits").click()
    hub.get_by_role("button", name="Create Plan").click()
    expect(hub.get_by_text('Created plan "partner-share".')).to_be_visible()
    assert Plan.objects.get(name="partner-share").revenue_share_bps == 1250
