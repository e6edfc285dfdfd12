"""The hub speaks a reseller's language (issue #13), in Chromium: every error at once at
its field in plain words, and a warning before a consequence."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from partnerhub.accounts.models import ApiKey
from partnerhub.core import wording
from partnerhub.plans.models import Plan
from partnerhub.web.tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def field_of(page: Any, label: str) -> Any:
    """The .field wrapper (or fee table cell) holding the input labelled `label`."""
    return page.locator(".field, td", has=page.get_by_label(label, exact=True)).last


def test_create_plan_shows_every_error_at_its_field_in_one_round_trip(
    hub: Any, personas: Any
) -> None:
    login(hub, "admin-a")
    hub.goto("/plans/new/")
    hub.get_by_text("Revenue-Sharing Plan").click()
    hub.get_by_label("Quarterly", exact=True).check()
    hub.locator("#add-price-currency").select_option("GBP")
    hub.get_by_label("Plan name").fill("   ")  # spaces only
    # "Next" checks step 1 in the browser: every blank at its field at once.
    hub.get_by_role("button", name="Next: Plan benefits").click()
    expect(field_of(hub, "Plan name")).to_contain_text("Enter the plan name.")
    expect(field_of(hub, "Plan display name")).to_contain_text("Enter the plan display name.")
    expect(field_of(hub, "Revenue share")).to_contain_text(wording.ENTER_REVENUE_SHARE)
    expect(field_of(hub, "Monthly price (GBP)")).to_contain_text("Enter the monthly price in GBP.")
    expect(field_of(hub, "Quarterly price (GBP)")).to_contain_text(
        "Enter the quarterly price in GBP."
    )
    expect(hub.locator("[data-step-indicator='1']")).to_have_attribute("aria-current", "step")
    # The revenue share sits in Basics, next to the type.
    basics = hub.locator("section.form-section", has_text="Basic details")
    expect(basics.get_by_label("Revenue share")).to_be_visible()

    # Every kind of error the server finds, typed at once.
    hub.get_by_label("Plan name").fill("Gold")  # taken (names compare without case)
    hub.get_by_label("Plan display name").fill("Gold again")
    hub.get_by_label("Revenue share").fill("150")
    hub.get_by_label("Monthly price (GBP)").fill("99999999999999")
    hub.get_by_label("Quarterly price (GBP)").fill("1,50")
    hub.get_by_role("button", name="Next: Plan benefits").click()
    hub.get_by_label("Messages", exact=True).fill("-1")
    hub.get_by_label("Team Members", exact=True).fill("99999999999999999999")
    hub.locator("#add-fee-currency").select_option("GBP")
    hub.get_by_label("Ticket percent (GBP)").fill("150")
    hub.get_by_label("Product min (GBP)").fill("5")
    hub.get_by_label("Product max (GBP)").fill("2")
    hub.get_by_label("Donation fixed (GBP)").fill("-0.30")
    hub.get_by_label("Donation max (GBP)").fill("99999999999")
    hub.get_by_role("button", name="Create Plan").click()

    # One round trip: step 1's errors first, each at its field; step 2 says it has some ...
    expect(hub.get_by_test_id("step-errors-2")).to_have_text("6 to fix")
    expect(field_of(hub, "Plan name")).to_contain_text(
        'A plan called "Gold" already exists — try "Gold (2)".'
    )
    expect(field_of(hub, "Revenue share")).to_contain_text("The revenue share can be at most 100.")
    expect(field_of(hub, "Monthly price (GBP)")).to_contain_text(
        "The highest price is GBP 10,000,000,000,000.00."
    )
    expect(field_of(hub, "Quarterly price (GBP)")).to_contain_text("Enter an amount such as")
    # ... and step 2's, still there when the person moves on.
    hub.get_by_role("button", name="Next: Plan benefits").click()
    expect(field_of(hub, "Messages")).to_contain_text(wording.LIMIT_NOT_NEGATIVE)
    expect(field_of(hub, "Team Members")).to_contain_text(wording.LIMIT_TOO_LARGE)
    expect(field_of(hub, "Ticket percent (GBP)")).to_contain_text("Percent can be at most 100.")
    expect(field_of(hub, "Product min (GBP)")).to_contain_text(wording.MIN_ABOVE_MAX)
    expect(field_of(hub, "Donation fixed (GBP)")).to_contain_text(wording.AMOUNT_NOT_NEGATIVE)
    expect(field_of(hub, "Donation max (GBP)")).to_contain_text(
        "The highest fee is GBP 10,000,000,000.00."
    )
    # No machine words anywhere on the page.
    body = hub.locator("main, body").first
    for machine in ("bps", "_minor", "4611686018427387904", "already taken"):
        expect(body).not_to_contain_text(machine)
    assert Plan.objects.filter(reseller=personas.reseller_a).count() == 1


def test_unlimited_clears_its_number_and_leaving_unsaved_changes_asks(
    hub: Any, personas: Any
) -> None:
    company = personas.company_a
    login(hub, "admin-a")
    hub.goto(f"/companies/{company.pk}/")
    number = hub.get_by_label("Messages override")
    number.fill("10")
    hub.get_by_label("Messages: Unlimited").check()
    expect(number).to_have_value("")
    expect(number).to_be_disabled()

    # A sidebar link with unsaved changes asks first; staying keeps the page as typed.
    hub.get_by_role("navigation").get_by_role("link", name="Plans").first.click()
    dialog = hub.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Leave without saving?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert hub.url.endswith(f"/companies/{company.pk}/")
    # Closing the tab asks too (the browser's own "Leave site?" prompt).
    prompts: list[str] = []

    def answer(dialog: Any) -> None:
        prompts.append(dialog.type)
        dialog.dismiss()  # stay on the page

    hub.once("dialog", answer)
    hub.close(run_before_unload=True)
    hub.wait_for_timeout(500)
    assert prompts == ["beforeunload"]
    assert not hub.is_closed()
    hub.get_by_role("button", name="Save changes").click()  # saving does not ask
    expect(hub.get_by_text(f'Saved "{company.name}".')).to_be_visible()
    company.refresh_from_db()
    assert company.limit_overrides["messages"] is None  # unlimited, as shown

    # The inherit message quotes the plan's display name as the seed writes it.
    expect(hub.get_by_test_id("inherit-message")).to_have_text(
        wording.inherit_fees(personas.plan_a.display_name, True)
    )


def test_api_key_picks_its_company_by_name_and_keeps_what_was_typed(
    hub: Any, personas: Any
) -> None:
    login(hub, "admin-a")
    hub.goto("/api-keys/")
    hub.get_by_label("Access").select_option("company")
    hub.get_by_label("Company", exact=True).fill("Nobody Ltd")
    hub.get_by_role("button", name="Create key").click()
    expect(field_of(hub, "Name")).to_contain_text(wording.ENTER_KEY_NAME)
    expect(field_of(hub, "Company")).to_contain_text(wording.COMPANY_NOT_FOUND)
    expect(hub.get_by_label("Company", exact=True)).to_have_value("Nobody Ltd")
    expect(hub.get_by_label("Access")).to_have_value("company")

    hub.get_by_label("Name", exact=True).fill("box office")
    hub.get_by_label("Company", exact=True).fill("Acme Events")  # offered by the datalist
    hub.get_by_role("button", name="Create key").click()
    expect(hub.get_by_test_id("raw-key")).to_be_visible()
    assert ApiKey.objects.get(name="box office").company_id == personas.company_a.pk


def test_catalog_errors_sit_at_their_own_field(hub: Any, personas: Any) -> None:
    login(hub, "operator")
    hub.goto("/catalog/")
    hub.get_by_label("EUR percent").fill("1.5")
    hub.get_by_label("EUR fixed").fill("-0.30")
    hub.get_by_label("GBP percent").fill("120")
    hub.get_by_role("button", name="Save gateway fees").click()
    eur_fixed = hub.locator("td", has=hub.get_by_label("EUR fixed"))
    expect(eur_fixed).to_contain_text(wording.AMOUNT_NOT_NEGATIVE)
    expect(hub.locator("td", has=hub.get_by_label("EUR percent"))).not_to_contain_text("negative")
    expect(hub.locator("td", has=hub.get_by_label("GBP percent"))).to_contain_text(
        "Percent can be at most 100."
    )
    hub.get_by_label("GST rate (%)").fill("250")
    hub.get_by_role("button", name="Save GST rate").click()
    expect(field_of(hub, "GST rate (%)")).to_contain_text("The GST rate can be at most 100.")
    expect(hub.locator("body")).not_to_contain_text("Gst rate bps")


def test_consequences_are_shown_before_they_happen(hub: Any, personas: Any) -> None:
    from partnerhub.resellers.models import Reseller

    reseller = personas.reseller_a
    Reseller.objects.filter(pk=reseller.pk).update(default_registration_plan=personas.plan_a)

    # Turning a feature off for a reseller: its plans and companies, before saving.
    login(hub, "operator")
    hub.goto(f"/resellers/{reseller.pk}/")
    hub.get_by_label("Seating", exact=True).uncheck()
    hub.get_by_role("button", name="Save", exact=True).click()
    dialog = hub.get_by_test_id("feature-loss-dialog")
    expect(dialog).to_contain_text("Seating")
    expect(dialog).to_contain_text("Plans: gold")
    expect(dialog).to_contain_text("Companies (1): Acme Events")
    assert "seating" in Reseller.objects.get(pk=reseller.pk).feature_keys()  # not yet
    dialog.get_by_role("button", name="Turn off and save").click()
    expect(hub.get_by_text(f'Saved reseller "{reseller.name}".')).to_be_visible()
    assert "seating" not in Reseller.objects.get(pk=reseller.pk).feature_keys()

    # Archiving the default registration plan warns that registrations become Custom.
    hub.goto("/plans/")
    card = hub.locator("[data-testid=plan-card]", has_text="gold")
    expect(card.get_by_test_id("enabled-help")).to_have_text(wording.STATUS_HELP)
    expect(card.get_by_test_id("visible-help")).to_have_text(wording.VISIBILITY_HELP)
    card.get_by_role("button", name="Archive").click()
    confirm = hub.locator("#confirm-dialog")
    expect(confirm).to_contain_text(wording.archive_default_plan_warning("gold", reseller.name))
    confirm.get_by_role("button", name="Cancel").click()
    assert not Plan.objects.get(pk=personas.plan_a.pk).archived

    # Setting a company to Custom says what it keeps.
    hub.goto(f"/companies/{personas.company_a.pk}/")
    note = hub.get_by_test_id("custom-note")
    expect(note).to_be_hidden()
    hub.get_by_label("Plan", exact=True).select_option("")
    expect(note).to_be_visible()
    expect(note).to_contain_text("keeps what it has now from “gold”")


def test_small_words_and_layout(hub: Any, personas: Any) -> None:
    from partnerhub.plans.services import plan_update
    from partnerhub.resellers.models import Reseller
    from partnerhub.testing.factories import PlanFactory

    reseller = personas.reseller_a
    Reseller.objects.filter(pk=reseller.pk).update(registration_plan_choice=True)
    PlanFactory(
        reseller=reseller,
        name="Professionalmembershipannual",
        display_name="Starter yearly",
        billing_cycles=["yearly"],
        features=["seating"],
        limits={"messages": 500, "team_members": None},
    )
    paid = {"currency": "GBP", "fee_type": "ticket", "percent_bps": 250, "fixed_minor": 30}
    job = plan_update(
        actor=personas.admin_a,
        plan_id=personas.plan_a.pk,
        changes={"fees": [paid], "blended": {"GBP": False}},
        version=personas.plan_a.version,
        fee_apply_mode="all",
    ).job
    assert job is not None

    # Registration cards: features and limits by name; a free plan reads "Free".
    hub.goto(f"/r/{reseller.slug}/register")
    card = hub.get_by_test_id("public-plan").filter(has_text="Starter yearly")
    expect(card.get_by_test_id("public-price")).to_have_text("Free")
    expect(card).not_to_contain_text("0.00")
    expect(card.get_by_test_id("public-features")).to_have_text("Features: Seating")
    expect(card.get_by_test_id("public-limits")).to_contain_text("Messages: 500")
    expect(card.get_by_test_id("public-limits")).to_contain_text("Team Members: unlimited")

    login(hub, "admin-a")
    # The job page says what it recalculated, in words.
    hub.goto(f"/jobs/{job.pk}/")
    expect(hub.get_by_test_id("job-summary")).to_contain_text(
        "Fees of plan gold, all items: 1 company with plan fees."
    )

    # The sale-item form remembers the last currency.
    hub.goto(f"/companies/{personas.company_a.pk}/sale-items/")
    hub.get_by_label("Name", exact=True).fill("Front row")
    expect(hub.get_by_label("Currency")).to_have_value("AED")  # nothing used yet: the first
    hub.get_by_label("Currency").select_option("GBP")
    hub.get_by_label("Price").fill("40")
    hub.get_by_role("button", name="Add sale item").click()
    expect(hub.get_by_text('Added "Front row".')).to_be_visible()
    hub.goto(f"/companies/{personas.company_a.pk}/sale-items/")
    expect(hub.get_by_label("Currency")).to_have_value("GBP")
    # Fee types read as the catalog names them, as in the fee inputs ("Ticket").
    expect(hub.get_by_test_id("sale-items")).to_contain_text("Ticket")
    hub.goto(f"/companies/{personas.company_a.pk}/")
    fee_row = hub.get_by_test_id("fee-table-read").locator("tbody tr").first
    expect(fee_row.locator("td").nth(1)).to_have_text("Ticket")

    # At 390 px: a long plan name stays whole beside its badges, the filter panel
    # collapses, and the fee table shows a scroll cue with every column reachable.
    hub.goto("/plans/")
    amounts = hub.locator("[data-testid=card-price] .nowrap")
    expect(amounts.first).to_be_visible()
    one_line = "e => new Set(Array.from(e.getClientRects()).map(r => Math.round(r.top))).size"
    assert all(n == 1 for n in amounts.evaluate_all(f"els => els.map({one_line})"))
    hub.set_viewport_size({"width": 390, "height": 844})
    hub.goto("/plans/")
    title = hub.locator("[data-testid=plan-card] h2", has_text="Professionalmembershipannual")
    lines = title.evaluate(
        "h => { const r = document.createRange(); r.selectNodeContents(h);"
        " return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; }"
    )
    assert lines == 1
    expect(hub.get_by_label("Type")).to_be_hidden()
    hub.get_by_role("button", name="Filters").click()
    expect(hub.get_by_label("Type")).to_be_visible()
    hub.goto("/plans/new/")
    hub.get_by_label("Plan name").fill("x")
    hub.get_by_label("Plan display name").fill("x")
    hub.locator("#add-price-currency").select_option("GBP")
    hub.get_by_label("Monthly price (GBP)").fill("1")
    hub.get_by_role("button", name="Next: Plan benefits").click()
    hub.locator("#add-fee-currency").select_option("GBP")
    block = hub.get_by_test_id("fees-GBP")
    expect(block.get_by_test_id("scroll-cue")).to_be_visible()
    maximum = hub.get_by_label("Donation max (GBP)")
    maximum.scroll_into_view_if_needed()
    expect(maximum).to_be_in_viewport()
    width = hub.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390
