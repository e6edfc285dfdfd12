"""Reading endpoints, deliveries and events, tenant-scoped (SPEC §1, §14).

A reseller member sees its reseller's endpoints, their deliveries, and its reseller's
events; the platform sees everything; a company key sees none of it (403 on a list,
404 on an id, like the audit log). Another reseller's id is a 404 like a missing one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from partnerhub.core.actor import Actor, reseller_scope
from partnerhub.core.errors import NotFound, PermissionDenied, ValidationFailed
from partnerhub.webhooks.events import event_body
from partnerhub.webhooks.models import Delivery, Endpoint, Event


def _require_reader(actor: Actor) -> None:
    if not (actor.is_platform or actor.is_reseller_member):
        raise PermissionDenied("This account cannot read webhooks.")


def endpoint_list_for_actor(actor: Actor, *, reseller_id: int | None = None) -> QuerySet[Endpoint]:
    _require_reader(actor)
    qs = Endpoint.objects.filter(reseller_scope(actor))
    if reseller_id is not None:
        actor.require_reseller(reseller_id)
        qs = qs.filter(reseller_id=reseller_id)
    return qs.order_by("id")


def endpoint_get_for_actor(actor: Actor, endpoint_id: int) -> Endpoint:
    endpoint = Endpoint.objects.filter(reseller_scope(actor), pk=endpoint_id)
    found = endpoint.first()
    if found is None:
        raise NotFound("Webhook endpoint not found.")
    return found


def endpoint_serialize(endpoint: Endpoint, *, secret: str | None = None) -> dict[str, Any]:
    """The endpoint; `secret` only in the answer that created or rotated it."""
    data: dict[str, Any] = {
        "id": endpoint.pk,
        "reseller_id": endpoint.reseller_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }
    if secret is not None:
        data["secret"] = secret
    return data


def delivery_list_for_actor(
    actor: Actor,
    *,
    endpoint_id: int | None = None,
    status: str | None = None,
    event_type: str | None = None,
    reseller_id: int | None = None,
) -> QuerySet[Delivery]:
    _require_reader(actor)
    qs = Delivery.objects.filter(reseller_scope(actor, "endpoint__reseller_id"))
    if endpoint_id is not None:
        endpoint_get_for_actor(actor, endpoint_id)  # 404 for another tenant's
        qs = qs.filter(endpoint_id=endpoint_id)
    if reseller_id is not None:
        actor.require_reseller(reseller_id)
        qs = qs.filter(endpoint__reseller_id=reseller_id)
    if status is not None:
        if status not in Delivery.Status.values:
            raise ValidationFailed.field("status", "must be pending, succeeded or failed")
        qs = qs.filter(status=status)
    if event_type:
        qs = qs.filter(event__type=event_type)
    return qs.select_related("event", "endpoint").order_by("-id")


def delivery_get_for_actor(actor: Actor, delivery_id: int) -> Delivery:
    found = (
        Delivery.objects.filter(reseller_scope(actor, "endpoint__reseller_id"), pk=delivery_id)
        .select_related("event", "endpoint")
        .first()
    )
    if found is None:
        raise NotFound("Webhook delivery not found.")
    return found


def delivery_serialize(delivery: Delivery) -> dict[str, Any]:
    event = delivery.event
    return {
        "id": delivery.pk,
        "endpoint_id": delivery.endpoint_id,
        "event_id": event.pk,
        "event_type": event.type,
        "webhook_id": event.webhook_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_attempt_at": delivery.last_attempt_at,
        "last_response_code": delivery.last_response_code,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
    }


def delivery_payload(delivery: Delivery) -> str:
    """The body as sent (the hub's payload view)."""
    return event_body(delivery.event).decode()


def event_list_for_actor(
    actor: Actor,
    *,
    type: str | None = None,
    since: datetime | None = None,
    reseller_id: int | None = None,
) -> QuerySet[Event]:
    """The event log, oldest first, so a client can catch up by polling (`since`)."""
    _require_reader(actor)
    qs = Event.objects.filter(reseller_scope(actor))
    if reseller_id is not None:
        actor.require_reseller(reseller_id)
        qs = qs.filter(reseller_id=reseller_id)
    if type:
        qs = qs.filter(type=type)
    if since is not None:
        if timezone.is_naive(since):
            since = timezone.make_aware(since, UTC)
        qs = qs.filter(created_at__gt=since)
    return qs.order_by("id")


def event_get_for_actor(actor: Actor, event_id: int) -> Event:
    found = Event.objects.filter(reseller_scope(actor), pk=event_id).first()
    if found is None:
        raise NotFound("Event not found.")
    return found


def event_serialize(event: Event) -> dict[str, Any]:
    return {
        "id": event.pk,
        "webhook_id": event.webhook_id,
        "type": event.type,
        "reseller_id": event.reseller_id,
        "created_at": event.created_at,
        "data": event.data,
    }
