"""Issue 11, item 6 in Chromium: under the Content-Security-Policy the hub's scripts (htmx,
hub.js) and Swagger UI still work, nothing is refused, and nothing loads from elsewhere."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from partnerhub.web.tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch(page: Any, live_server: Any) -> tuple[list[str], list[str]]:
    refused: list[str] = []
    foreign: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    own = urlparse(live_server.url).netloc

    def on_request(request: Any) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https") and url.netloc != own:
            foreign.append(request.url)

    page.on("request", on_request)
    return refused, foreign


def test_swagger_ui_renders_from_our_origin_under_the_policy(hub: Any, live_server: Any) -> None:
    refused, foreign = _watch(hub, live_server)

    hub.goto("/api/docs")

    # Generous: a 1.5 MB bundle and the whole OpenAPI document, on a loaded CI machine.
    expect(hub.locator(".swagger-ui .info .title")).to_contain_text(
        "Partnerhub API", timeout=30_000
    )
    expect(hub.locator(".opblock").first).to_be_visible()
    assert refused == []
    assert foreign == []


def test_hub_scripts_work_under_the_policy(hub: Any, live_server: Any, personas: Any) -> None:
    refused, foreign = _watch(hub, live_server)
    login(hub, "admin-a")

    # htmx: the Status toggle on a plan card posts and swaps without a page load.
    hub.goto("/plans/")
    card = hub.locator("[data-testid=plan-card]", has_text="gold")
    card.get_by_label("Status of gold").uncheck()
    expect(card.get_by_test_id("toggle-enabled")).to_contain_text("Disabled")
    personas.plan_a.refresh_from_db()
    assert personas.plan_a.enabled is False
    # hub.js: a filter select submits its form when it changes (no inline handler).
    hub.goto("/companies/")
    hub.locator("select[data-autosubmit]").select_option("custom")
    hub.wait_for_url(lambda url: "plan=custom" in url)

    assert refused == []
    assert foreign == []
