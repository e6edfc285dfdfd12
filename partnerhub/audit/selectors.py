"""Reading the audit log: the platform sees every event, a reseller member its reseller's."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from partnerhub.audit.models import AuditEvent
from partnerhub.core.actor import Actor, reseller_scope
from partnerhub.core.errors import PermissionDenied


def audit_event_list_for_actor(
    actor: Actor,
    *,
    reseller_id: int | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    actor_label: str | None = None,
    actor_labels: list[str] | None = None,
) -> QuerySet[AuditEvent]:
    """Newest first. A reseller filter naming another tenant answers 404, like its objects."""
    if not (actor.is_platform or (actor.is_reseller_member and actor.reseller_id is not None)):
        raise PermissionDenied("This account cannot read the audit log.")
    events = AuditEvent.objects.filter(reseller_scope(actor))
    if reseller_id is not None:
        actor.require_reseller(reseller_id)
        events = events.filter(reseller_id=reseller_id)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id is not None:
        events = events.filter(object_id=object_id)
    if actor_label:
        events = events.filter(actor_label=actor_label)
    if actor_labels:  # any of these (the hub: a username as typed, or the stored label)
        events = events.filter(actor_label__in=actor_labels)
    return events.order_by("-id")


def audit_event_serialize(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "created_at": event.created_at.isoformat(),
        "reseller_id": event.reseller_id,
        "actor_role": event.actor_role,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "changes": event.changes,
    }
