"""The catalogue of event types (SPEC §14) and the one way to write an event: the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from partnerhub.webhooks.models import Delivery, Endpoint, Event

EVENT_TYPES: dict[str, str] = {
    "company.created": "A company was created (the company).",
    "company.updated": "A company was changed (the company).",
    "company.entitlements_changed": "A company's resolved entitlements changed.",
    "plan.created": "A plan was created or duplicated (the plan).",
    "plan.updated": "A plan was edited, enabled, disabled, shown or hidden (the plan).",
    "plan.archived": "A plan was archived (the plan).",
    "plan.unarchived": "A plan was unarchived (the plan).",
    "plan.deleted": "A plan was deleted (the plan).",
    "plan.restored": "A plan was restored (the plan).",
    "usage.threshold_reached": "A company reached 80 % or 100 % of a limit.",
    "recalculation.succeeded": "A fee recalculation job finished (the job).",
    "recalculation.failed": "A fee recalculation job failed (the job).",
}
# Sent by `POST /webhook-endpoints/{id}/test` to that endpoint alone; not subscribable.
TEST_EVENT_TYPE = "webhook.test"


@dataclass(frozen=True)
class NewEvent:
    type: str
    reseller_id: int | None
    data: dict[str, Any]


def _json_ready(data: dict[str, Any]) -> dict[str, Any]:
    """Dates and decimals as JSON text, exactly as the API renders them."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _listeners(reseller_ids: Iterable[int | None]) -> list[Endpoint]:
    ids = {r for r in reseller_ids if r is not None}
    return list(
        Endpoint.objects.filter(enabled=True).filter(
            Q(reseller__isnull=True) | Q(reseller_id__in=ids)
        )
    )


def events_emit(events: Sequence[NewEvent]) -> list[Event]:
    """Write events and their deliveries in the caller's transaction (the outbox).

    The caller's transaction decides: a rollback takes the events with it, a commit
    makes them deliverable. Nothing is sent here; the worker polls for due deliveries.
    """
    if not events:
        return []
    for new in events:
        if new.type not in EVENT_TYPES and new.type != TEST_EVENT_TYPE:
            raise ValueError(f"unknown webhook event type {new.type!r}")
    rows = Event.objects.bulk_create(
        [Event(type=e.type, reseller_id=e.reseller_id, data=_json_ready(e.data)) for e in events]
    )
    endpoints = _listeners(e.reseller_id for e in rows)
    now = timezone.now()
    Delivery.objects.bulk_create(
        [
            Delivery(event=event, endpoint=endpoint, next_attempt_at=now)
            for event in rows
            for endpoint in endpoints
            if (endpoint.reseller_id is None or endpoint.reseller_id == event.reseller_id)
            and endpoint.wants(event.type)
        ]
    )
    return rows


def event_emit(*, type: str, reseller_id: int | None, data: dict[str, Any]) -> Event:
    """Announce one change, inside the transaction that makes it (SPEC §14's outbox)."""
    return events_emit([NewEvent(type=type, reseller_id=reseller_id, data=data)])[0]


def usage_threshold_reached_emit(
    *,
    reseller_id: int,
    company_id: int,
    limit: str,
    threshold: int,
    used: int,
    value: int | None,
    period_start: str | None,
) -> Event:
    """For the usage app: call inside the transaction that records the crossing, once per
    (company, limit, threshold, period). `threshold` is 80 or 100; `period_start` an ISO
    8601 date/time or None for a limit without a period."""
    if threshold not in (80, 100):
        raise ValueError("threshold must be 80 or 100")
    return event_emit(
        type="usage.threshold_reached",
        reseller_id=reseller_id,
        data={
            "company_id": company_id,
            "limit": limit,
            "threshold": threshold,
            "used": used,
            "value": value,
            "period_start": period_start,
        },
    )


def event_body(event: Event) -> bytes:
    """`{"type", "timestamp", "data"}`; the same bytes on every attempt."""
    payload = {
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
