"""Delivery: Standard Webhooks signatures checked by the `standardwebhooks` package (the
receiver's side, written by others), retries, 410, the 5-day rule and the SSRF guard,
against a real HTTP receiver on loopback."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from partnerhub.companies.services import company_update
from partnerhub.webhooks.delivery import deliveries_send_round, http_client
from partnerhub.webhooks.guard import TargetRefused, resolve_target
from partnerhub.webhooks.models import Delivery, Endpoint
from partnerhub.webhooks.services import endpoint_create, endpoint_rotate_secret
from partnerhub.webhooks.tests.helpers import loopback_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 300, 1800]


def send_due() -> int:
    with http_client(4) as client, ThreadPoolExecutor(4) as pool:
        return deliveries_send_round(client, pool, limit=100)


def make_due() -> None:
    Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def announce_something(personas) -> None:
    company_update(actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "N"})


def test_every_delivery_verifies_with_the_standardwebhooks_package(personas, allow_private):
    with loopback_receiver() as receiver:
        created = endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=receiver.url
        )
        announce_something(personas)
        assert send_due() == 1

    (request,) = receiver.requests
    payload = Webhook(created.secret).verify(request.body, request.headers)
    delivery = Delivery.objects.get()
    assert payload["type"] == "company.updated"
    assert payload["data"]["name"] == "N"
    assert request.headers["webhook-id"] == f"evt_{delivery.event_id}"
    assert delivery.status == "succeeded" and delivery.last_response_code == 200
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY").verify(request.body, request.headers)


def test_during_a_rotation_both_secrets_sign(personas, allow_private):
    with loopback_receiver() as receiver:
        old = endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=receiver.url
        ).secret
        new = endpoint_rotate_secret(
            actor=personas.admin_a, endpoint_id=Endpoint.objects.get().pk
        ).secret
        announce_something(personas)
        send_due()
        # 24 h later only the new secret signs.
        Endpoint.objects.update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
        company_update(
            actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "M"}
        )
        send_due()

    during, after = receiver.requests
    assert old != new
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(during.body, during.headers)["data"]["name"] == "N"
    assert Webhook(new).verify(during.body, during.headers)["data"]["name"] == "N"
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(after.body, after.headers)["data"]["name"] == "M"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)


def test_a_failure_is_retried_on_the_schedule_with_the_same_webhook_id(personas, allow_private):
    with loopback_receiver() as receiver:
        receiver.answer = lambda headers, body: 500
        endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=receiver.url
        )
        announce_something(personas)
        before = timezone.now()
        send_due()
        delivery = Delivery.objects.get()
        assert delivery.status == "pending" and delivery.attempts == 1
        assert delivery.last_response_code == 500
        assert delivery.next_attempt_at and delivery.last_attempt_at
        wait = (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds()
        assert 4.5 <= wait <= 5.5  # 5 s ± 10 %
        assert delivery.last_attempt_at >= before
        assert send_due() == 0  # not due yet

        for _ in range(3):
            make_due()
            send_due()

    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 4  # 1 + 3 retries
    assert delivery.next_attempt_at is None
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1


def test_410_gone_disables_the_endpoint(personas, allow_private):
    with loopback_receiver() as receiver:
        receiver.answer = lambda headers, body: 410
        endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=receiver.url
        )
        announce_something(personas)
        send_due()
        announce_something_else = company_update  # another event: not sent any more
        announce_something_else(
            actor=personas.admin_a, company_id=personas.company_a.pk, changes={"name": "Z"}
        )
        assert send_due() == 0

    endpoint = Endpoint.objects.get()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert Delivery.objects.filter(status="failed").count() == 1
    assert len(receiver.requests) == 1


def test_five_days_of_only_failures_disable_the_endpoint(personas, allow_private):
    with loopback_receiver() as receiver:
        receiver.answer = lambda headers, body: 503
        endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=receiver.url
        )
        announce_something(personas)
        send_due()
        assert Endpoint.objects.get().enabled  # one failure is not five days
        Endpoint.objects.update(failing_since=timezone.now() - timedelta(days=5, minutes=1))
        make_due()
        send_due()

    endpoint = Endpoint.objects.get()
    assert not endpoint.enabled and "5 days" in endpoint.disabled_reason


def test_a_success_ends_the_failure_streak(personas, allow_private):
    with loopback_receiver() as receiver:
        endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=receiver.url
        )
        Endpoint.objects.update(failing_since=timezone.now() - timedelta(days=4))
        announce_something(personas)
        send_due()

    assert Endpoint.objects.get().failing_since is None


def test_ssrf_guard_refuses_loopback_when_the_setting_is_off(personas, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with loopback_receiver() as receiver:
        endpoint_create(
            actor=personas.admin_a, reseller_id=personas.reseller_a.pk, url=receiver.url
        )
        announce_something(personas)
        send_due()

    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_error.startswith("refused:")
    assert "loopback, private or link-local" in delivery.last_error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/h",
        "http://localhost:8080/h",
        "http://10.1.2.3/h",
        "http://192.168.0.10/h",
        "http://172.16.5.4/h",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/h",
        "http://[fe80::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://0.0.0.0/h",
    ],
)
def test_ssrf_guard_refuses_non_public_addresses(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(TargetRefused):
        resolve_target(url)


def test_ssrf_guard_pins_the_checked_address(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    target = resolve_target("https://93.184.215.14:8443/x?y=1")

    assert target.url == "https://93.184.215.14:8443/x?y=1"
    assert target.host_header == "93.184.215.14:8443"
    assert target.sni_hostname == "93.184.215.14"
