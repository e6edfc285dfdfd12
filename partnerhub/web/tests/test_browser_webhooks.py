"""The Webhooks page in Chromium: add an endpoint (secret shown once), send a test event,
rotate, disable, and read the delivery log with its payload."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from partnerhub.web.tests.conftest import login
from partnerhub.webhooks.models import Delivery, Endpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_adds_an_endpoint_tests_rotates_and_disables_it(hub: Any, personas: Any) -> None:
    login(hub, "admin-a")
    hub.get_by_role("link", name="Webhooks").click()
    form = hub.get_by_test_id("add-endpoint")
    form.get_by_label("URL").fill("https://hooks.example.com/partnerhub")
    form.get_by_label("Description").fill("Host app")
    form.get_by_label("plan.updated").check()
    form.get_by_label("company.entitlements_changed").check()
    form.get_by_role("button", name="Add endpoint").click()

    endpoint = Endpoint.objects.get()
    expect(hub.get_by_test_id("secret")).to_have_text(endpoint.secret)
    row = hub.get_by_test_id(f"endpoint-{endpoint.pk}")
    expect(row).to_contain_text("company.entitlements_changed, plan.updated")
    hub.reload()
    expect(hub.get_by_test_id("new-secret")).to_have_count(0)

    row.get_by_role("button", name="Send test event").click()
    delivery = Delivery.objects.get()
    log_row = hub.get_by_test_id(f"delivery-{delivery.pk}")
    expect(log_row).to_contain_text("webhook.test")
    log_row.get_by_role("link", name=f"#{delivery.pk}").click()
    expect(hub.get_by_test_id("payload")).to_contain_text('"type": "webhook.test"')
    hub.go_back()

    old_secret = endpoint.secret
    hub.get_by_test_id(f"endpoint-{endpoint.pk}").get_by_role(
        "button", name="Rotate secret"
    ).click()
    hub.locator("#confirm-dialog").get_by_role("button", name="Rotate").click()
    endpoint.refresh_from_db()
    expect(hub.get_by_test_id("secret")).to_have_text(endpoint.secret)
    assert endpoint.secret != old_secret and endpoint.previous_secret == old_secret

    hub.get_by_test_id(f"endpoint-{endpoint.pk}").get_by_role("button", name="Disable").click()
    expect(hub.get_by_test_id(f"endpoint-{endpoint.pk}")).to_contain_text("Disabled")
    assert not Endpoint.objects.get().enabled


def test_viewer_sees_the_log_without_write_buttons(hub: Any, personas: Any) -> None:
    from partnerhub.webhooks.services import endpoint_create

    endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://h.example/x"
    )
    login(hub, "viewer-a")
    hub.goto("/webhooks/")
    expect(hub.get_by_test_id("endpoint-table")).to_contain_text("https://h.example/x")
    expect(hub.get_by_role("button", name="Rotate secret")).to_have_count(0)
    expect(hub.get_by_test_id("add-endpoint")).to_have_count(0)
