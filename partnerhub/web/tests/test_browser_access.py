"""Who sees what, in Chromium: navigation per role, viewers, outsiders, login (SPEC §1)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from partnerhub.testing.factories import ResellerFactory, UserFactory
from partnerhub.web.tests.conftest import PASSWORD, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def nav_links(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("nav.nav a").all_inner_texts()]


def test_login_logout_and_a_bad_password(hub: Any, personas: Any) -> None:
    hub.goto("/plans/")
    expect(hub).to_have_url(re.compile(r"/login/\?next=/plans/$"))
    hub.get_by_label("Username").fill("admin-a")
    hub.get_by_label("Password").fill("wrong")
    hub.get_by_role("button", name="Log in").click()
    expect(hub.get_by_role("alert")).to_contain_text("didn't match")
    hub.get_by_label("Password").fill(PASSWORD)
    hub.get_by_role("button", name="Log in").click()
    expect(hub.get_by_role("heading", name="Plans")).to_be_visible()  # back to where it went
    hub.get_by_role("button", name="Log out").click()
    expect(hub.get_by_role("heading", name="Log in")).to_be_visible()


def test_navigation_per_role(hub: Any, personas: Any) -> None:
    login(hub, "operator")
    assert nav_links(hub) == [
        "Dashboard",
        "Plans",
        "Companies",
        "Statements",
        "Recalculation jobs",
        "Resellers",
        "Catalog",
        "Audit log",
        "API keys",
        "Webhooks",
    ]
    hub.get_by_role("button", name="Log out").click()
    login(hub, "viewer-a")
    assert nav_links(hub) == [
        "Dashboard",
        "Plans",
        "Companies",
        "Statements",
        "Recalculation jobs",
        "Reseller settings",
        "Audit log",
        "Webhooks",
    ]


def test_reseller_without_plans_feature_sees_why(hub: Any, personas: Any) -> None:
    from partnerhub.accounts.models import Membership

    reseller = ResellerFactory(name="Nofeature Ltd", features=["seating"])
    Membership.objects.create(
        user=UserFactory(username="admin-c"), reseller=reseller, role=Membership.Role.ADMIN
    )
    login(hub, "admin-c")
    disabled = hub.get_by_test_id("nav-plans")
    expect(disabled).to_contain_text("Plans are not enabled for this reseller")
    expect(hub.locator("nav.nav a", has_text="Plans")).to_have_count(0)
    hub.goto("/plans/")
    expect(hub.get_by_test_id("error-403")).to_contain_text("Plans are not enabled")


def test_viewer_sees_no_write_controls(hub: Any, personas: Any) -> None:
    login(hub, "viewer-a")
    hub.goto("/plans/")
    card = hub.locator("[data-testid=plan-card]", has_text="gold")
    expect(card).to_contain_text("2 feature(s)")
    expect(hub.get_by_role("link", name="Create Plan")).to_have_count(0)
    for name in ("Duplicate", "Archive", "Delete"):
        expect(card.get_by_role("button", name=name)).to_have_count(0)
    expect(card.get_by_label("Status of gold")).to_be_disabled()
    card.get_by_role("link", name="View").click()
    expect(hub.get_by_role("button", name="Save changes")).to_have_count(0)
    expect(hub.get_by_label("Plan name")).to_be_disabled()
    hub.goto(f"/companies/{personas.company_a.pk}/")
    expect(hub.get_by_role("button", name="Save changes")).to_have_count(0)
    expect(hub.get_by_label("Company name")).to_be_disabled()


def test_outsider_gets_the_404_page(hub: Any, personas: Any) -> None:
    login(hub, "admin-b")
    for path in (
        f"/plans/{personas.plan_a.pk}/",
        f"/companies/{personas.company_a.pk}/",
        f"/companies/{personas.company_a.pk}/sale-items/",
    ):
        response = hub.goto(path)
        assert response is not None and response.status == 404
        expect(hub.get_by_test_id("error-404")).to_contain_text("Page not found")
    hub.goto("/plans/")
    expect(hub.locator("[data-testid=plan-card]", has_text="gold")).to_have_count(0)
    hub.goto("/companies/")
    expect(hub.locator("body")).not_to_contain_text("Acme Events")
