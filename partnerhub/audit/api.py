"""REST API: the audit log, per reseller, filterable by object and actor (SPEC §10)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router

from partnerhub.accounts.api_auth import actor_of
from partnerhub.audit.models import ACTOR_LABEL_MAX_LENGTH, OBJECT_TYPE_MAX_LENGTH
from partnerhub.audit.selectors import audit_event_list_for_actor, audit_event_serialize
from partnerhub.core.pagination import paginate
from partnerhub.core.schemas import (
    VALID_UNICODE,
    ObjectId,
    OutputSchema,
    PageParams,
    bounded,
    responses,
)

router = Router(tags=["audit"])


class AuditChange(OutputSchema):
    old: Any = None
    new: Any = None


class AuditEventOut(OutputSchema):
    id: int
    created_at: datetime
    reseller_id: int | None
    actor_role: str
    actor_label: str
    action: str
    object_type: str
    object_id: int | None
    object_repr: str
    changes: dict[str, AuditChange]  # field -> its old and new value


class AuditEventPage(OutputSchema):
    items: list[AuditEventOut]
    count: int


class AuditFilters(PageParams):
    reseller_id: ObjectId | None = None
    object_type: Annotated[str, bounded(OBJECT_TYPE_MAX_LENGTH), VALID_UNICODE] | None = None
    object_id: ObjectId | None = None
    actor_label: Annotated[str, bounded(ACTOR_LABEL_MAX_LENGTH), VALID_UNICODE] | None = None


@router.get("/audit-events", response=responses({200: AuditEventPage}))
def list_audit_events(request: HttpRequest, filters: Query[AuditFilters]) -> dict[str, Any]:
    """Who changed what and when, newest first, with old and new values."""
    events = audit_event_list_for_actor(
        actor_of(request),
        reseller_id=filters.reseller_id,
        object_type=filters.object_type,
        object_id=filters.object_id,
        actor_label=filters.actor_label,
    )
    return paginate(events, filters, audit_event_serialize)
