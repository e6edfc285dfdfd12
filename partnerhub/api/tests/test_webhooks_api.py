"""REST API of SPEC §14: webhook endpoints, deliveries and events, with the tenancy of §1."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from partnerhub.api.tests.conftest import assert_error
from partnerhub.audit.models import AuditEvent
from partnerhub.companies.services import company_update
from partnerhub.webhooks.models import Delivery, Endpoint, Event

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhook-endpoints"


def create(api, key, **body):
    response = api.post(ENDPOINTS, key, {"url": "https://hooks.example.com/in", **body})
    assert response.status_code == 201, response.content
    return response.json()


def test_create_answers_the_secret_once_and_never_again(api, keys, personas):
    created = create(api, keys.admin_a, event_types=["plan.updated"], description="Host")

    assert created["secret"].startswith("whsec_")
    assert created["reseller_id"] == personas.reseller_a.pk
    assert created["event_types"] == ["plan.updated"]
    shown = api.get(f"{ENDPOINTS}/{created['id']}", keys.admin_a).json()
    listed = api.get(ENDPOINTS, keys.admin_a).json()["items"]
    assert "secret" not in shown and all("secret" not in e for e in listed)
    audit = AuditEvent.objects.get(action="webhook_endpoint.create")
    assert created["secret"] not in str(audit.changes)


def test_rotate_answers_a_new_secret_and_keeps_the_old_for_24_hours(api, keys):
    created = create(api, keys.admin_a)
    rotated = api.post(f"{ENDPOINTS}/{created['id']}/rotate-secret", keys.admin_a).json()

    endpoint = Endpoint.objects.get()
    assert rotated["secret"] != created["secret"] and rotated["secret"] == endpoint.secret
    assert endpoint.previous_secret == created["secret"]
    assert endpoint.previous_secret_expires_at is not None
    left = endpoint.previous_secret_expires_at - timezone.now()
    assert timedelta(hours=23, minutes=59) < left <= timedelta(hours=24)
    assert rotated["secret"] not in str(list(AuditEvent.objects.values_list("changes", flat=True)))


def test_patch_and_delete(api, keys):
    created = create(api, keys.admin_a)
    patched = api.patch(
        f"{ENDPOINTS}/{created['id']}", keys.admin_a, {"enabled": False, "event_types": []}
    )
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert patched.json()["disabled_reason"] == "disabled by a user"

    deleted = api.delete(f"{ENDPOINTS}/{created['id']}", keys.admin_a)
    assert deleted.status_code == 200 and deleted.json()["id"] == created["id"]
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "ftp://x.example/"}, "url"),
        ({"url": "http://[bad/"}, "url"),
        ({"url": "https://u:p@x.example/"}, "url"),
        ({"url": "https://x.example/", "event_types": ["nope"]}, "event_types"),
        ({"url": "https://x.example/", "secret": "whsec_x"}, "secret"),
    ],
)
def test_invalid_endpoint_input_is_a_422_naming_the_field(api, keys, body, field):
    error = assert_error(api.post(ENDPOINTS, keys.admin_a, body), 422)
    assert field in str(error)


def test_another_resellers_endpoint_delivery_and_event_are_404_like_missing_ones(
    api, keys, personas
):
    created = create(api, keys.admin_a)
    company_update(actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "Q"})
    delivery, event = Delivery.objects.get(), Event.objects.get()
    missing = 999_999

    for theirs_path, missing_path in (
        (f"{ENDPOINTS}/{created['id']}", f"{ENDPOINTS}/{missing}"),
        (f"/api/v1/webhook-deliveries/{delivery.pk}", f"/api/v1/webhook-deliveries/{missing}"),
        (f"/api/v1/events/{event.pk}", f"/api/v1/events/{missing}"),
        (
            f"/api/v1/webhook-deliveries?endpoint_id={created['id']}",
            f"/api/v1/webhook-deliveries?endpoint_id={missing}",
        ),
    ):
        theirs = api.get(theirs_path, keys.admin_b)
        assert_error(theirs, 404)
        assert theirs.json() == api.get(missing_path, keys.admin_b).json()
    for method, path in (
        ("patch", f"{ENDPOINTS}/{created['id']}"),
        ("delete", f"{ENDPOINTS}/{created['id']}"),
        ("post", f"{ENDPOINTS}/{created['id']}/rotate-secret"),
        ("post", f"{ENDPOINTS}/{created['id']}/test"),
        ("post", f"/api/v1/webhook-deliveries/{delivery.pk}/resend"),
    ):
        body: dict[str, object] | None = {} if method == "patch" else None
        assert_error(api.request(method, path, keys.admin_b, body), 404)
    assert api.get(ENDPOINTS, keys.admin_b).json() == {"items": [], "count": 0}
    assert api.get("/api/v1/webhook-deliveries", keys.admin_b).json()["count"] == 0
    assert api.get("/api/v1/events", keys.admin_b).json()["count"] == 0
    assert Endpoint.objects.get().url == "https://hooks.example.com/in"


def test_a_viewer_reads_but_cannot_write(api, keys, personas):
    created = create(api, keys.admin_a)
    company_update(actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "Q"})
    delivery = Delivery.objects.get()

    assert api.get(ENDPOINTS, keys.viewer_a).json()["count"] == 1
    assert api.get("/api/v1/webhook-deliveries", keys.viewer_a).json()["count"] == 1
    assert api.get("/api/v1/events", keys.viewer_a).json()["count"] == 1
    assert_error(api.post(ENDPOINTS, keys.viewer_a, {"url": "https://x.example/"}), 403)
    for method, path in (
        ("patch", f"{ENDPOINTS}/{created['id']}"),
        ("delete", f"{ENDPOINTS}/{created['id']}"),
        ("post", f"{ENDPOINTS}/{created['id']}/rotate-secret"),
        ("post", f"{ENDPOINTS}/{created['id']}/test"),
        ("post", f"/api/v1/webhook-deliveries/{delivery.pk}/resend"),
    ):
        assert_error(
            api.request(method, path, keys.viewer_a, {} if method == "patch" else None), 403
        )
    assert Endpoint.objects.get().enabled


def test_a_company_key_cannot_read_webhooks(api, keys):
    created = create(api, keys.admin_a)

    assert_error(api.get(ENDPOINTS, keys.company_a), 403)
    assert_error(api.get("/api/v1/events", keys.company_a), 403)
    assert_error(api.get("/api/v1/webhook-deliveries", keys.company_a), 403)
    assert_error(api.get(f"{ENDPOINTS}/{created['id']}", keys.company_a), 404)
    assert_error(api.post(ENDPOINTS, keys.company_a, {"url": "https://x.example/"}), 403)


def test_only_the_platform_creates_a_platform_endpoint_which_hears_every_reseller(
    api, keys, personas
):
    platform = create(api, keys.platform)
    assert platform["reseller_id"] is None
    company_update(actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "R"})

    assert Delivery.objects.get().endpoint_id == platform["id"]
    assert api.get(ENDPOINTS, keys.admin_a).json()["count"] == 0  # not the reseller's


def test_test_event_goes_to_that_endpoint_alone(api, keys):
    first = create(api, keys.admin_a)
    create(api, keys.admin_a)
    response = api.post(f"{ENDPOINTS}/{first['id']}/test", keys.admin_a)

    assert response.status_code == 202
    assert response.json()["event_type"] == "webhook.test"
    assert list(Delivery.objects.values_list("endpoint_id", flat=True)) == [first["id"]]


def test_deliveries_filter_and_resend(api, keys, personas):
    created = create(api, keys.admin_a)
    company_update(actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "S"})
    delivery = Delivery.objects.get()
    Delivery.objects.update(status="failed", attempts=8, next_attempt_at=None)

    failed = api.get(
        "/api/v1/webhook-deliveries",
        keys.admin_a,
        {"endpoint_id": created["id"], "status": "failed"},
    ).json()
    pending = api.get("/api/v1/webhook-deliveries", keys.admin_a, {"status": "pending"}).json()
    assert [d["id"] for d in failed["items"]] == [delivery.pk] and pending["count"] == 0

    resent = api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend", keys.admin_a)
    assert resent.status_code == 202 and resent.json()["status"] == "pending"
    assert resent.json()["attempts"] == 0
    assert resent.json()["webhook_id"] == f"evt_{delivery.event_id}"


def test_resend_failed_since(api, keys, personas):
    created = create(api, keys.admin_a)
    for name in ("T1", "T2"):
        company_update(
            actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": name}
        )
    old, new = Delivery.objects.order_by("id")
    Delivery.objects.update(status="failed", next_attempt_at=None)
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    response = api.post(
        f"{ENDPOINTS}/{created['id']}/resend-failed",
        keys.admin_a,
        {"since": (timezone.now() - timedelta(days=1)).isoformat()},
    )

    assert response.json() == {"resent": 1}
    assert Delivery.objects.get(pk=new.pk).status == "pending"
    assert Delivery.objects.get(pk=old.pk).status == "failed"


def test_events_can_be_polled_by_type_and_since(api, keys, personas):
    company_update(actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "U"})
    company_update(
        actor=personas.admin_a,
        company_id=personas.company_a.pk,
        changes={"limit_overrides": {"team_members": 9}},
    )
    everything = api.get("/api/v1/events", keys.admin_a).json()["items"]
    assert [e["type"] for e in everything] == [
        "company.updated",
        "company.updated",
        "company.entitlements_changed",
    ]
    changed = api.get("/api/v1/events", keys.admin_a, {"type": "company.entitlements_changed"})
    assert [e["data"]["company_id"] for e in changed.json()["items"]] == [personas.company_a.pk]
    Event.objects.filter(pk=everything[0]["id"]).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    since = api.get(
        "/api/v1/events",
        keys.admin_a,
        {"since": (timezone.now() - timedelta(minutes=1)).isoformat()},
    )
    assert [e["id"] for e in since.json()["items"]] == [e["id"] for e in everything[1:]]
