"""Layout checks in Chromium: usable at 390 px, a label on every input."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from partnerhub.web.tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNLABELLED_INPUTS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => e.type !== 'hidden' && !e.hidden && !e.closest('[hidden]'))
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id)"""


def pages(p: Any) -> list[str]:
    return [
        "/",
        "/plans/",
        "/plans/new/",
        f"/plans/{p.plan_a.pk}/",
        "/companies/",
        "/companies/new/",
        f"/companies/{p.company_a.pk}/",
        f"/companies/{p.company_a.pk}/sale-items/",
        "/jobs/",
        "/audit/",
        "/api-keys/",
        f"/resellers/{p.reseller_a.pk}/",
    ]


def test_every_input_has_a_label(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    for path in pages(personas):
        hub.goto(path)
        assert hub.evaluate(UNLABELLED_INPUTS) == [], path
    hub.get_by_role("button", name="Log out").click()
    login(hub, "operator")
    for path in ("/resellers/", "/resellers/new/", "/catalog/"):
        hub.goto(path)
        assert hub.evaluate(UNLABELLED_INPUTS) == [], path


def test_usable_at_390_px_without_sideways_scrolling(hub: Any, personas: Any) -> None:
    hub.set_viewport_size({"width": 390, "height": 844})
    login(hub, "admin-a")
    expect(hub.locator(".sidebar")).not_to_be_in_viewport()
    hub.get_by_role("button", name="Open navigation").click()
    hub.locator(".sidebar").get_by_role("link", name="Plans").click()
    expect(hub.locator("[data-testid=plan-card]", has_text="gold")).to_be_visible()
    for path in pages(personas):
        hub.goto(path)
        width = hub.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
