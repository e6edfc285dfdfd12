"""Writes on webhook endpoints and deliveries (SPEC §14). Each is atomic and audited.

Secrets are never in an audit row, a log line or a list answer: only the answer of
`endpoint_create` and `endpoint_rotate_secret` carries one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from partnerhub.audit.services import audit_record
from partnerhub.core.actor import Actor
from partnerhub.core.errors import NotFound, ValidationFailed
from partnerhub.core.validation import clean_bool, clean_str, reject_unknown
from partnerhub.resellers.models import Reseller

# The outbox writers live in events.py (below this module's imports); other apps call
# them as webhooks.services.event_emit / usage_threshold_reached_emit.
from partnerhub.webhooks.events import (  # noqa: F401
    EVENT_TYPES,
    TEST_EVENT_TYPE,
    event_emit,
    events_emit,
    usage_threshold_reached_emit,
)
from partnerhub.webhooks.models import (
    ENDPOINT_DESCRIPTION_MAX_LENGTH,
    ENDPOINT_URL_MAX_LENGTH,
    Delivery,
    Endpoint,
    Event,
)
from partnerhub.webhooks.selectors import delivery_get_for_actor, endpoint_get_for_actor
from partnerhub.webhooks.signing import secret_generate

ENDPOINT_FIELDS = ("url", "description", "event_types", "enabled")
# The previous secret keeps signing alongside the new one for this long after a rotation.
ROTATION_OVERLAP = timedelta(hours=24)


@dataclass
class EndpointWithSecret:
    endpoint: Endpoint
    secret: str  # shown once


def _clean_url(value: Any) -> str:
    url = clean_str(value, "url", max_length=ENDPOINT_URL_MAX_LENGTH)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a port that is not a number in range
    except ValueError:
        raise ValidationFailed.field("url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed.field("url", "must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValidationFailed.field("url", "must not carry a user name or password")
    return url


def _clean_event_types(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed.field("event_types", "must be a list of event types")
    unknown = sorted(set(value) - set(EVENT_TYPES))
    if unknown:
        raise ValidationFailed.field("event_types", f"unknown event types: {', '.join(unknown)}")
    return sorted(set(value))


def endpoint_state(endpoint: Endpoint) -> dict[str, Any]:
    """What the audit log records (never the secret)."""
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
    }


def _audit(
    actor: Actor, action: str, endpoint: Endpoint, old: dict[str, Any], new: dict[str, Any]
) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type="webhook_endpoint",
        object_id=endpoint.pk,
        object_repr=endpoint.url[:200],
        reseller_id=endpoint.reseller_id,
        old=old,
        new=new,
    )


def endpoint_create(
    *,
    actor: Actor,
    reseller_id: int | None,
    url: str,
    description: str = "",
    event_types: list[str] | None = None,
    enabled: bool = True,
) -> EndpointWithSecret:
    """A reseller's endpoint (its admin or the platform), or with `reseller_id=None` a
    platform endpoint hearing every reseller's events (the platform only)."""
    if reseller_id is None:
        actor.require_platform()
    else:
        actor.require_write(reseller_id)
        if not Reseller.objects.filter(pk=reseller_id).exists():
            raise NotFound("Not found.")
    endpoint = Endpoint(
        reseller_id=reseller_id,
        url=_clean_url(url),
        description=clean_str(
            description, "description", max_length=ENDPOINT_DESCRIPTION_MAX_LENGTH, required=False
        ),
        event_types=_clean_event_types(event_types or []),
        enabled=clean_bool(enabled, "enabled"),
        secret=secret_generate(),
    )
    with transaction.atomic():
        endpoint.save()
        _audit(actor, "webhook_endpoint.create", endpoint, {}, endpoint_state(endpoint))
    return EndpointWithSecret(endpoint=endpoint, secret=endpoint.secret)


def _locked(actor: Actor, endpoint_id: int) -> Endpoint:
    endpoint = endpoint_get_for_actor(actor, endpoint_id)
    if endpoint.reseller_id is None:
        actor.require_platform()
    else:
        actor.require_write(endpoint.reseller_id)
    return Endpoint.objects.select_for_update().get(pk=endpoint.pk)


def endpoint_update(*, actor: Actor, endpoint_id: int, changes: Mapping[str, Any]) -> Endpoint:
    """Any subset of url, description, event_types, enabled. Enabling again clears the
    reason it was disabled and its failure streak."""
    reject_unknown(changes, ENDPOINT_FIELDS)
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        old = endpoint_state(endpoint)
        if "url" in changes:
            endpoint.url = _clean_url(changes["url"])
        if "description" in changes:
            endpoint.description = clean_str(
                changes["description"],
                "description",
                max_length=ENDPOINT_DESCRIPTION_MAX_LENGTH,
                required=False,
            )
        if "event_types" in changes:
            endpoint.event_types = _clean_event_types(changes["event_types"])
        if "enabled" in changes:
            enabled = clean_bool(changes["enabled"], "enabled")
            if enabled and not endpoint.enabled:
                endpoint.disabled_reason = ""
                endpoint.failing_since = None
            elif not enabled and endpoint.enabled:
                endpoint.disabled_reason = "disabled by a user"
            endpoint.enabled = enabled
        new = endpoint_state(endpoint)
        if new != old:
            endpoint.save()
            _audit(actor, "webhook_endpoint.update", endpoint, old, new)
    return endpoint


def endpoint_delete(*, actor: Actor, endpoint_id: int) -> Endpoint:
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        _audit(actor, "webhook_endpoint.delete", endpoint, endpoint_state(endpoint), {})
        pk = endpoint.pk
        endpoint.delete()
        endpoint.pk = pk  # the answer names what was deleted
    return endpoint


def endpoint_rotate_secret(*, actor: Actor, endpoint_id: int) -> EndpointWithSecret:
    """A new secret; the old one keeps signing beside it for 24 h (SPEC §14)."""
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        now = timezone.now()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
        endpoint.secret = secret_generate()
        endpoint.save()
        audit_record(
            actor=actor,
            action="webhook_endpoint.rotate_secret",
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            object_repr=endpoint.url[:200],
            reseller_id=endpoint.reseller_id,
            changes={"previous_secret_expires_at": {"old": None, "new": now + ROTATION_OVERLAP}},
        )
    return EndpointWithSecret(endpoint=endpoint, secret=endpoint.secret)


def endpoint_send_test(*, actor: Actor, endpoint_id: int) -> Delivery:
    """A `webhook.test` event delivered to this endpoint alone (a disabled endpoint's
    test waits, like its other deliveries, until it is enabled again)."""
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        event = Event.objects.create(
            type=TEST_EVENT_TYPE,
            reseller_id=endpoint.reseller_id,
            data={"endpoint_id": endpoint.pk, "message": "A test event from Partnerhub."},
        )
        delivery = Delivery.objects.create(
            event=event, endpoint=endpoint, next_attempt_at=timezone.now()
        )
        audit_record(
            actor=actor,
            action="webhook_endpoint.test",
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            object_repr=endpoint.url[:200],
            reseller_id=endpoint.reseller_id,
            changes={"event_id": {"old": None, "new": event.pk}},
        )
    return delivery


def _requeue(delivery: Delivery) -> None:
    delivery.status = Delivery.Status.PENDING
    delivery.attempts = 0  # a resend starts the retry schedule over
    delivery.next_attempt_at = timezone.now()
    delivery.claimed_until = None


def delivery_resend(*, actor: Actor, delivery_id: int) -> Delivery:
    """Send one delivery again (same event, same `webhook-id`)."""
    with transaction.atomic():
        delivery = delivery_get_for_actor(actor, delivery_id)
        _locked(actor, delivery.endpoint_id)
        old_status = delivery.status
        _requeue(delivery)
        delivery.save()
        audit_record(
            actor=actor,
            action="webhook_delivery.resend",
            object_type="webhook_delivery",
            object_id=delivery.pk,
            object_repr=f"{delivery.event.type} #{delivery.event_id}",
            reseller_id=delivery.endpoint.reseller_id,
            changes={"status": {"old": old_status, "new": delivery.status}},
        )
    return delivery


def delivery_resend_failed(*, actor: Actor, endpoint_id: int, since: datetime) -> int:
    """Send again every failed delivery of the endpoint created since `since`."""
    if timezone.is_naive(since):
        since = timezone.make_aware(since, UTC)
    with transaction.atomic():
        endpoint = _locked(actor, endpoint_id)
        count = Delivery.objects.filter(
            endpoint=endpoint, status=Delivery.Status.FAILED, created_at__gte=since
        ).update(
            status=Delivery.Status.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            claimed_until=None,
        )
        audit_record(
            actor=actor,
            action="webhook_endpoint.resend_failed",
            object_type="webhook_endpoint",
            object_id=endpoint.pk,
            object_repr=endpoint.url[:200],
            reseller_id=endpoint.reseller_id,
            changes={"since": {"old": None, "new": since}, "resent": {"old": None, "new": count}},
        )
    return count
