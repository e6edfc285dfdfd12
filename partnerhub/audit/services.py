"""Writing audit events. Called inside the service's own transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from partnerhub.audit.models import ACTOR_LABEL_MAX_LENGTH, OBJECT_REPR_MAX_LENGTH, AuditEvent
from partnerhub.core.actor import Actor


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Only the fields whose value changed, as {field: {"old", "new"}}."""
    keys = sorted(set(old) | set(new))
    return {k: {"old": old.get(k), "new": new.get(k)} for k in keys if old.get(k) != new.get(k)}


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int | None,
    object_repr: str = "",
    reseller_id: int | None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEvent:
    # An audit row outside a transaction could outlive a rolled-back write.
    assert transaction.get_connection().in_atomic_block, (
        "audit_record needs the write's transaction"
    )
    if changes is None:
        changes = diff(old or {}, new or {})
    return AuditEvent.objects.create(
        reseller_id=reseller_id,
        actor_role=str(actor.role),
        actor_label=actor.label[:ACTOR_LABEL_MAX_LENGTH],
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:OBJECT_REPR_MAX_LENGTH],
        changes=changes,
    )
