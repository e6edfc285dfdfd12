"""The catalogue of event types (SPEC §14) and the one way to write an event: the outbox."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
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
    "statement.closed": "A statement was closed: final, numbered, never changed again.",
}
# Sent by `POST /webhook-endpoints/{id}/test` to that endpoint alone; not subscribable.
TEST_EVENT_TYPE = "webhook.test"


@dataclass(frozen=True)
class NewEvent:
    type: str
    reseller_id: int | None
    data: dict[str, Any]


def _json_text(data: dict[str, Any]) -> str:
    """Dates and decimals as JSON text, exactly as the API renders them."""
    return json.dumps(data, cls=DjangoJSONEncoder)


def _listeners(reseller_ids: Iterable[int | None]) -> list[Endpoint]:
    ids = {r for r in reseller_ids if r is not None}
    return list(
        Endpoint.objects.filter(enabled=True).filter(
            Q(reseller__isnull=True) | Q(reseller_id__in=ids)
        )
    )


@dataclass(frozen=True)
class Written:
    """An event as written: what its deliveries are chosen by."""

    id: int
    type: str
    reseller_id: int | None


# Rows per INSERT statement (4 parameters each: far below every backend's limit).
INSERT_ROWS = 1000


def events_write(events: Sequence[NewEvent]) -> tuple[list[Written], list[str], datetime]:
    """Insert the events (one multi-row `INSERT … RETURNING id` per `INSERT_ROWS`) and
    their deliveries; answer what was written, each event's `data` as JSON text, and
    the `created_at` they share. Each `data` is serialized once, here."""
    for new in events:
        if new.type not in EVENT_TYPES and new.type != TEST_EVENT_TYPE:
            raise ValueError(f"unknown webhook event type {new.type!r}")
    now = timezone.now()
    texts = [_json_text(e.data) for e in events]
    qn = connection.ops.quote_name
    cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    at = connection.ops.adapt_datetimefield_value(now)
    written: list[Written] = []
    with connection.cursor() as cursor:
        for start in range(0, len(events), INSERT_ROWS):
            chunk = events[start : start + INSERT_ROWS]
            params: list[Any] = []
            for new, text in zip(chunk, texts[start : start + INSERT_ROWS], strict=True):
                params += [new.type, new.reseller_id, text, at]
            cursor.execute(
                f"INSERT INTO {qn(Event._meta.db_table)} (type, reseller_id, data, created_at) "
                f"VALUES {', '.join([f'(%s, %s, {cast}, %s)'] * len(chunk))} RETURNING id",
                params,
            )
            ids = [row[0] for row in cursor.fetchall()]
            written += [
                Written(pk, new.type, new.reseller_id) for pk, new in zip(ids, chunk, strict=True)
            ]
    deliveries_create(written)
    return written, texts, now


def events_emit(events: Sequence[NewEvent]) -> list[Event]:
    """Write events and their deliveries in the caller's transaction (the outbox).

    The caller's transaction decides: a rollback takes the events with it, a commit
    makes them deliverable. Nothing is sent here; the worker polls for due deliveries.
    The events are one multi-row INSERT, their deliveries one INSERT … SELECT per event
    type (a fan-out batch writes hundreds of both in two statements).
    """
    if not events:
        return []
    written, texts, now = events_write(events)
    rows = []
    for w, text in zip(written, texts, strict=True):
        row = Event(pk=w.id, type=w.type, reseller_id=w.reseller_id, data=json.loads(text))
        row.created_at = now
        row._state.adding, row._state.db = False, connection.alias  # as if loaded
        rows.append(row)
    return rows


def deliveries_create(events: Sequence[Written]) -> int:
    """A pending delivery per (event, enabled endpoint that hears it), due now: the
    reseller's endpoints and the platform's, if their event types take the event's.
    Answers how many were written."""
    endpoints = _listeners(e.reseller_id for e in events)
    if not endpoints:
        return 0
    by_type: dict[str, list[int]] = defaultdict(list)
    for event in events:
        by_type[event.type].append(event.id)
    qn = connection.ops.quote_name
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    written = 0
    with connection.cursor() as cursor:
        for event_type, all_ids in by_type.items():
            endpoint_ids = [e.pk for e in endpoints if e.wants(event_type)]
            for start in range(0, len(all_ids), INSERT_ROWS) if endpoint_ids else ():
                event_ids = all_ids[start : start + INSERT_ROWS]
                cursor.execute(
                    f"INSERT INTO {qn(Delivery._meta.db_table)} (event_id, endpoint_id, status, "
                    "attempts, next_attempt_at, last_error, created_at) "
                    "SELECT ev.id, ep.id, %s, 0, %s, '', %s "
                    f"FROM {qn(Event._meta.db_table)} ev, {qn(Endpoint._meta.db_table)} ep "
                    f"WHERE ev.id IN ({', '.join(['%s'] * len(event_ids))}) "
                    f"AND ep.id IN ({', '.join(['%s'] * len(endpoint_ids))}) "
                    "AND (ep.reseller_id IS NULL OR ep.reseller_id = ev.reseller_id) "
                    "ORDER BY ev.id, ep.id",
                    [Delivery.Status.PENDING.value, now, now, *event_ids, *endpoint_ids],
                )
                written += cursor.rowcount
    return written


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
    return body_bytes(event.type, event.created_at, event.data)


def body_bytes(event_type: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """`event_body` from the event's columns (the worker reads just those)."""
    payload = {
        "type": event_type,
        "timestamp": created_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
