"""Issue #13's last gaps in Chromium: "Next" on step 1 of Create plan checks all of step 1
in the server's words, every form that edits stored data asks before unsaved changes are
left, and a taken key or slug shows with the other errors in one submit."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from partnerhub.core import wording
from partnerhub.web.tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def field_of(page: Any, label: str) -> Any:
    return page.locator(".field, td, fieldset", has=page.get_by_label(label, exact=True)).last


def test_next_on_step_one_checks_all_of_step_one(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.goto("/plans/new/")
    hub.get_by_text("Revenue-Sharing Plan").click()
    for box in hub.locator('input[name="billing_cycles"]:checked').all():
        box.uncheck()  # no cycle at all
    hub.get_by_label("Plan name").fill("  ")
    hub.get_by_label("Plan display name").fill("\t")
    next_button = hub.get_by_role("button", name="Next: Plan benefits")
    next_button.click()
    expect(field_of(hub, "Plan name")).to_contain_text(wording.enter("plan name"))
    expect(field_of(hub, "Plan display name")).to_contain_text(wording.enter("plan display name"))
    expect(field_of(hub, "Revenue share")).to_contain_text(wording.ENTER_REVENUE_SHARE)
    expect(hub.locator("[data-cycles-field]")).to_contain_text(wording.CHOOSE_BILLING_CYCLE)
    expect(hub.locator("[data-step-indicator='1']")).to_have_attribute("aria-current", "step")

    # A cycle and a currency, but no price yet: that price is asked for.
    hub.get_by_label("Plan name").fill("Silver")
    hub.get_by_label("Plan display name").fill("Silver")
    hub.get_by_label("Revenue share").fill("5")
    hub.get_by_label("Yearly", exact=True).check()
    hub.locator("#add-price-currency").select_option("GBP")
    next_button.click()
    expect(field_of(hub, "Yearly price (GBP)")).to_contain_text(
        wording.enter_price("yearly", "GBP")
    )
    for fixed in ("Plan name", "Plan display name", "Revenue share"):
        expect(field_of(hub, fixed)).not_to_contain_text("Enter")  # fixed: no longer shown
    expect(hub.locator("[data-cycles-field]")).not_to_contain_text(wording.CHOOSE_BILLING_CYCLE)
    expect(hub.locator("[data-step-indicator='1']")).to_have_attribute("aria-current", "step")

    hub.get_by_label("Yearly price (GBP)").fill("120.00")
    next_button.click()  # step 1 complete: on to step 2
    expect(hub.locator("[data-step-indicator='2']")).to_have_attribute("aria-current", "step")


def _leaving_asks(hub: Any, path: str, fill: tuple[str, str]) -> None:
    hub.goto(path)
    hub.get_by_label(fill[0], exact=True).first.fill(fill[1])
    hub.get_by_role("navigation").get_by_role("link", name="Companies").first.click()
    dialog = hub.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Leave without saving?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert hub.url.endswith(path), path
    expect(hub.get_by_label(fill[0], exact=True).first).to_have_value(fill[1])


def test_every_form_that_edits_stored_data_asks_before_unsaved_changes_go(
    hub: Any, personas: Any
) -> None:
    login(hub, "operator")
    _leaving_asks(hub, "/catalog/", ("GST rate (%)", "12"))  # tax
    _leaving_asks(hub, "/catalog/", ("GBP percent", "2"))  # gateway fees
    _leaving_asks(hub, "/catalog/", ("Name", "Seat maps"))  # a new feature
    feature = personas.reseller_a.features.first()
    _leaving_asks(hub, f"/catalog/features/{feature.pk}/", ("Name", "Renamed"))
    _leaving_asks(hub, "/webhooks/", ("URL", "https://example.com/hook"))
    company = personas.company_a
    _leaving_asks(hub, f"/companies/{company.pk}/sale-items/", ("Name", "Front row"))
    _leaving_asks(hub, "/api-keys/", ("Name", "box office"))
    # Saving does not ask.
    hub.goto("/catalog/")
    hub.get_by_label("GST rate (%)").fill("12")
    hub.get_by_role("button", name="Save GST rate").click()
    expect(hub.locator("#confirm-dialog")).to_be_hidden()
    expect(hub.get_by_label("GST rate (%)")).to_have_value("12")


def test_a_taken_key_and_slug_show_with_the_other_errors(hub: Any, personas: Any) -> None:
    login(hub, "operator")
    hub.goto("/resellers/new/")
    hub.get_by_label("Name", exact=True).fill("   ")
    hub.get_by_label("Slug", exact=True).fill("southwind")
    hub.get_by_role("button", name="Save").click()
    expect(field_of(hub, "Name")).to_contain_text("This field is required.")
    expect(field_of(hub, "Slug")).to_contain_text(wording.taken("slug"))
    expect(hub.get_by_label("Slug", exact=True)).to_have_value("southwind")
