"""The hub's Webhooks page (SPEC §14): forms posted as a browser posts them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from partnerhub.audit.models import AuditEvent
from partnerhub.companies.services import company_update
from partnerhub.testing.formpost import form_data
from partnerhub.webhooks.models import Delivery, Endpoint
from partnerhub.webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

PAGE = "/webhooks/"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def browser_form(html: bytes, testid: str) -> dict[str, Any]:
    return form_data(html, ("data-testid", testid))


def test_add_endpoint_shows_the_secret_once(personas):
    client = client_for(personas.admin_a_user)
    response = client.post(
        PAGE,
        {"url": "https://hooks.example.com/a", "event_types": ["plan.updated", "plan.created"]},
    )
    assert response.status_code == 302

    endpoint = Endpoint.objects.get()
    assert endpoint.reseller_id == personas.reseller_a.pk
    assert endpoint.event_types == ["plan.created", "plan.updated"]
    first = client.get(PAGE)
    assert endpoint.secret.encode() in first.content
    second = client.get(PAGE)
    assert endpoint.secret.encode() not in second.content
    assert b"https://hooks.example.com/a" in second.content


def test_edit_form_round_trip_changes_nothing(personas):
    endpoint = endpoint_create(
        actor=personas.admin_a,
        reseller_id=personas.reseller_a.pk,
        url="https://hooks.example.com/a",
        description="Host app",
        event_types=["company.entitlements_changed", "plan.deleted"],
    ).endpoint
    client = client_for(personas.admin_a_user)
    url = reverse("webhooks:endpoint_edit", args=[endpoint.pk])
    audit_before = AuditEvent.objects.count()

    data = browser_form(client.get(url).content, "edit-endpoint")
    response = client.post(url, data)

    assert response.status_code == 302
    assert AuditEvent.objects.count() == audit_before
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["company.entitlements_changed", "plan.deleted"]
    assert endpoint.description == "Host app"


def test_edit_event_types(personas):
    endpoint = endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://h.example/a"
    ).endpoint
    client = client_for(personas.admin_a_user)
    url = reverse("webhooks:endpoint_edit", args=[endpoint.pk])
    data = browser_form(client.get(url).content, "edit-endpoint")
    data["event_types"] = ["plan.archived"]

    client.post(url, data)

    endpoint.refresh_from_db()
    assert endpoint.event_types == ["plan.archived"]


def test_disable_rotate_test_and_resend(personas):
    endpoint = endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://h.example/a"
    ).endpoint
    old_secret = endpoint.secret
    client = client_for(personas.admin_a_user)

    client.post(reverse("webhooks:endpoint_rotate", args=[endpoint.pk]))
    page = client.get(PAGE)
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret and endpoint.secret.encode() in page.content
    assert old_secret.encode() not in page.content

    client.post(reverse("webhooks:endpoint_test", args=[endpoint.pk]))
    delivery = Delivery.objects.get()
    assert delivery.event.type == "webhook.test"
    Delivery.objects.update(status="failed", next_attempt_at=None)
    client.post(reverse("webhooks:delivery_resend", args=[delivery.pk]))
    assert Delivery.objects.get().status == "pending"

    client.post(reverse("webhooks:endpoint_toggle", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert not endpoint.enabled


def test_resend_failed_since_from_the_page(personas):
    endpoint = endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://h.example/a"
    ).endpoint
    company_update(actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "Z"})
    Delivery.objects.update(status="failed", next_attempt_at=None)
    client = client_for(personas.admin_a_user)

    data = browser_form(client.get(PAGE).content, "resend-failed")
    assert data["endpoint_id"] == str(endpoint.pk)
    client.post(reverse("webhooks:resend_failed"), data)

    assert Delivery.objects.get().status == "pending"


def test_delivery_log_filters_and_payload(personas):
    endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://h.example/a"
    )
    company_update(
        actor=personas.admin_a,
        company_id=personas.company_a.pk,
        changes={"limit_overrides": {"team_members": 3}},
    )
    client = client_for(personas.admin_a_user)
    changed = Delivery.objects.get(event__type="company.entitlements_changed")
    updated = Delivery.objects.get(event__type="company.updated")

    page = client.get(PAGE, {"event_type": "company.entitlements_changed"})
    assert f'data-testid="delivery-{changed.pk}"'.encode() in page.content
    assert f'data-testid="delivery-{updated.pk}"'.encode() not in page.content
    detail = client.get(reverse("webhooks:delivery_detail", args=[changed.pk]))
    assert b"company.entitlements_changed" in detail.content and b"team_members" in detail.content


def test_outsider_gets_404_and_viewer_403(personas):
    endpoint = endpoint_create(
        actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url="https://h.example/a"
    ).endpoint
    company_update(actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "Y"})
    delivery = Delivery.objects.get()
    posts = [
        reverse("webhooks:endpoint_edit", args=[endpoint.pk]),
        reverse("webhooks:endpoint_toggle", args=[endpoint.pk]),
        reverse("webhooks:endpoint_rotate", args=[endpoint.pk]),
        reverse("webhooks:endpoint_test", args=[endpoint.pk]),
        reverse("webhooks:delivery_resend", args=[delivery.pk]),
    ]
    audit_before = AuditEvent.objects.count()

    outsider = client_for(personas.admin_b_user)
    assert outsider.get(reverse("webhooks:endpoint_edit", args=[endpoint.pk])).status_code == 404
    assert outsider.get(reverse("webhooks:delivery_detail", args=[delivery.pk])).status_code == 404
    assert b"h.example" not in outsider.get(PAGE).content
    for url in posts:
        assert outsider.post(url, {"url": "https://evil.example/"}).status_code == 404, url

    viewer = client_for(personas.viewer_a_user)
    assert b"h.example" in viewer.get(PAGE).content
    assert viewer.get(reverse("webhooks:delivery_detail", args=[delivery.pk])).status_code == 200
    for url in posts:
        assert viewer.post(url, {"url": "https://evil.example/"}).status_code == 403, url
    assert viewer.post(PAGE, {"url": "https://evil.example/"}).status_code == 403

    assert AuditEvent.objects.count() == audit_before
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.url == "https://h.example/a"


def test_nav_links_to_webhooks(personas):
    page = client_for(personas.viewer_a_user).get("/dashboard/")
    assert b'href="/webhooks/"' in page.content
