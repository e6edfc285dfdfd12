"""Writes on usage (SPEC §13): record events, consume, set a gauge, purge old events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from partnerhub.audit.services import audit_record
from partnerhub.catalog.models import Limit
from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.usage.counters import (
    CounterKey,
    EventRow,
    ThresholdRow,
    counter_try_add,
    counter_try_add_quiet,
    counter_used,
    counters_add,
    events_insert_new,
    thresholds_insert_new,
)
from partnerhub.usage.lookup import (
    COMPANY_COLUMNS,
    LimitRow,
    UsageCompany,
    limit_by_key,
    usage_companies_visible,
    usage_company_get,
)
from partnerhub.usage.models import (
    GAUGE_PERIOD_START,
    MAX_QUANTITY,
    UsageCounter,
    UsageEvent,
)
from partnerhub.usage.periods import previous_usage_period, usage_period
from partnerhub.webhooks.events import usage_threshold_reached_emit

MAX_BATCH = 1000
MAX_EVENT_ID_LENGTH = 200
FUTURE_TOLERANCE = timedelta(minutes=5)
THRESHOLDS = (80, 100)  # percent of the limit's value


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int


def limit_usage_fields(kind: str, value: int | None, used: int | None) -> dict[str, Any]:
    """The usage shape of one limit: kind, value, used, remaining, over (SPEC §13)."""
    if kind == Limit.Kind.CAP or used is None:
        return {"kind": kind, "value": value, "used": None, "remaining": None, "over": False}
    return {
        "kind": kind,
        "value": value,
        "used": used,
        "remaining": None if value is None else max(0, value - used),
        "over": value is not None and used > value,
    }


def current_period_start(anchor: date, limit: LimitRow, now: datetime) -> date:
    if limit.kind == Limit.Kind.GAUGE:
        return GAUGE_PERIOD_START
    return usage_period(anchor, now.date()).start


# --- thresholds ---------------------------------------------------------------------------


def _reached(used: int, value: int, threshold: int) -> bool:
    return used > 0 and used * 100 >= threshold * value


def thresholds_record(crossings: Sequence[tuple[CounterKey, int, int, int | None]]) -> None:
    """Record each 80 %/100 % threshold a counter went past: (key, before, after, value),
    and announce each one recorded as a `usage.threshold_reached` event (SPEC §14).

    The unique (company, limit, period, threshold) constraint keeps it once, however many
    writers cross at the same moment (the loser's insert is ignored, and announces nothing)."""
    rows = [
        (company_id, limit_id, period_start, threshold, after, value)
        for (company_id, limit_id, period_start), before, after, value in crossings
        if value is not None
        for threshold in THRESHOLDS
        if _reached(after, value, threshold) and not _reached(before, value, threshold)
    ]
    recorded = thresholds_insert_new(rows)
    if recorded:
        _thresholds_announce(recorded)


def _thresholds_announce(recorded: Sequence[ThresholdRow]) -> None:
    resellers = dict(
        Company.objects.filter(pk__in={r[0] for r in recorded}).values_list("pk", "reseller_id")
    )
    limit_keys = dict(
        Limit.objects.filter(pk__in={r[1] for r in recorded}).values_list("pk", "key")
    )
    for company_id, limit_id, period_start, threshold, used, value in recorded:
        usage_threshold_reached_emit(
            reseller_id=resellers[company_id],
            company_id=company_id,
            limit=limit_keys[limit_id],
            threshold=threshold,
            used=used,
            value=value,
            # A gauge has no usage period (its counter sits at GAUGE_PERIOD_START).
            period_start=None if period_start == GAUGE_PERIOD_START else period_start.isoformat(),
        )


# --- ingestion ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UsageEventInput:
    """One event of a batch, its types already checked (by the API's schema, or by
    `_parse_event` for a caller passing plain dicts): the service parses a batch once."""

    index: int
    event_id: str
    company_id: int
    limit_key: str
    quantity: int
    timestamp: datetime  # aware, UTC

    def content(self) -> tuple[Any, ...]:
        return (self.company_id, self.limit_key, self.quantity, self.timestamp)


def _field_error(index: int, field: str, message: str) -> ValidationFailed:
    return ValidationFailed.field(f"events[{index}].{field}", message)


def _parse_event(index: int, raw: Any) -> UsageEventInput:
    if not isinstance(raw, Mapping):
        raise ValidationFailed.field(f"events[{index}]", "must be an object")
    unknown = sorted(set(raw) - {"id", "company_id", "limit", "quantity", "timestamp"})
    if unknown:
        raise _field_error(index, unknown[0], "unknown field")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= MAX_EVENT_ID_LENGTH:
        raise _field_error(index, "id", f"must be a string of 1 to {MAX_EVENT_ID_LENGTH} chars")
    for field in ("company_id", "quantity"):
        if isinstance(raw.get(field), bool) or not isinstance(raw.get(field), int):
            raise _field_error(index, field, "must be an integer")
    if not isinstance(raw.get("limit"), str):
        raise _field_error(index, "limit", "must be a limit key")
    timestamp = raw.get("timestamp")
    if isinstance(timestamp, str):
        try:
            timestamp = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            raise _field_error(index, "timestamp", "must be an ISO 8601 time") from None
    if not isinstance(timestamp, datetime) or timestamp.tzinfo is None:
        raise _field_error(index, "timestamp", "must be an ISO 8601 time with a UTC offset")
    return UsageEventInput(
        index=index,
        event_id=event_id,
        company_id=raw["company_id"],
        limit_key=raw["limit"],
        quantity=raw["quantity"],
        timestamp=timestamp.astimezone(UTC),
    )


def _parse_batch(raw_events: Any) -> list[UsageEventInput]:
    if not isinstance(raw_events, list) or not 1 <= len(raw_events) <= MAX_BATCH:
        raise ValidationFailed.field("events", f"must hold 1 to {MAX_BATCH} events")
    return [_parse_event(index, raw) for index, raw in enumerate(raw_events)]


def _distinct(rows: list[tuple[UsageEventInput, EventRow]]) -> tuple[list[EventRow], int]:
    """The distinct events of a batch, and how many repeated an earlier one of the batch
    (ids are unique per reseller: the same id with other content is a 422)."""
    seen: dict[tuple[int, str], UsageEventInput] = {}
    distinct = []
    for event, row in rows:
        earlier = seen.setdefault((row.reseller_id, row.event_id), event)
        if earlier is event:
            distinct.append(row)
        elif earlier.content() != event.content():
            raise _field_error(
                event.index, "id", f"repeats events[{earlier.index}].id with other content"
            )
    return distinct, len(rows) - len(distinct)


def _check_quantity(index: int, kind: str, quantity: int) -> None:
    if kind == Limit.Kind.CAP:
        raise _field_error(index, "limit", "a cap limit takes no events")
    if kind == Limit.Kind.METERED and not 1 <= quantity <= MAX_QUANTITY:
        raise _field_error(index, "quantity", f"must be 1 to {MAX_QUANTITY}")
    if kind == Limit.Kind.GAUGE and (quantity == 0 or abs(quantity) > MAX_QUANTITY):
        raise _field_error(index, "quantity", f"must be non-zero, within ±{MAX_QUANTITY}")


class _Periods:
    """The usage period of each event's timestamp, worked out once per (anchor, day) of a
    batch: a batch of 1,000 events spans a handful of anchors and days, and the period
    arithmetic was the costliest Python of the ingestion path."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._oldest: dict[date, date] = {}  # anchor -> the oldest open period's start
        self._starts: dict[tuple[date, date], date] = {}

    def _oldest_open(self, anchor: date) -> date:
        found = self._oldest.get(anchor)
        if found is None:
            current = usage_period(anchor, self.now.date())
            found = self._oldest[anchor] = previous_usage_period(anchor, current).start
        return found

    def start(self, event: UsageEventInput, anchor: date, kind: str) -> date:
        """Metered events land in the usage period of their timestamp; only the current
        and the previous period are open."""
        if kind == Limit.Kind.GAUGE:
            return GAUGE_PERIOD_START
        if event.timestamp > self.now + FUTURE_TOLERANCE:
            raise _field_error(event.index, "timestamp", "is in the future")
        day = event.timestamp.date()
        start = self._starts.get((anchor, day))
        if start is None:
            start = usage_period(anchor, day).start
            if start < self._oldest_open(anchor):
                start = date.min  # remembered as "closed" for the other events of that day
            self._starts[(anchor, day)] = start
        if start == date.min:
            raise _field_error(
                event.index,
                "timestamp",
                f"is before the previous usage period ({self._oldest_open(anchor)})",
            )
        return start


def _event_rows(
    actor: Actor, events: Sequence[UsageEventInput], now: datetime
) -> tuple[list[tuple[UsageEventInput, EventRow]], dict[int, UsageCompany], dict[int, Limit]]:
    companies = usage_companies_visible(actor, {e.company_id for e in events})
    limits = {limit.key: limit for limit in Limit.objects.all()}
    periods = _Periods(now)
    rows = []
    for event in events:
        company = companies.get(event.company_id)
        if company is None:  # another reseller's company is reported exactly like a missing one
            raise _field_error(event.index, "company_id", "no such company")
        limit = limits.get(event.limit_key)
        if limit is None:
            raise _field_error(event.index, "limit", "no such limit")
        kind = limit.kind
        _check_quantity(event.index, kind, event.quantity)
        row = EventRow(
            company.reseller_id,
            event.event_id,
            event.company_id,
            limit.id,
            event.quantity,
            event.timestamp,
            periods.start(event, company.anchor, kind),
        )
        rows.append((event, row))
    return rows, companies, {limit.pk: limit for limit in limits.values()}


def _check_stored_duplicates(rows: list[EventRow], inserted: set[tuple[int, str]]) -> None:
    """An id already stored must carry the same content, else the batch is a conflict."""
    others = [r for r in rows if (r.reseller_id, r.event_id) not in inserted]
    if not others:
        return
    stored = {
        (e.reseller_id, e.event_id): e
        for e in UsageEvent.objects.filter(
            reseller_id__in={r.reseller_id for r in others},
            event_id__in={r.event_id for r in others},
        )
    }
    for row in others:
        old = stored[(row.reseller_id, row.event_id)]
        same = (old.company_id, old.limit_id, old.quantity, old.timestamp, old.source) == (
            row.company_id,
            row.limit_id,
            row.quantity,
            row.timestamp,
            row.source,
        )
        if not same:
            raise Conflict(
                f"Event id {row.event_id!r} was already recorded with other content.",
                details={"id": [row.event_id]},
            )


def _gauges_move(moves: dict[CounterKey, list[int]]) -> list[tuple[CounterKey, int, int]]:
    """Apply gauge events in order, never below 0: (key, before, after) per gauge."""
    if not moves:
        return []
    counters_add(dict.fromkeys(moves, 0))  # make sure every row exists
    locked = {
        (c.company_id, c.limit_id, c.period_start): c
        for c in UsageCounter.objects.select_for_update().filter(
            company_id__in={k[0] for k in moves},
            limit_id__in={k[1] for k in moves},
            period_start=GAUGE_PERIOD_START,
        )
    }
    changes = []
    for key, steps in sorted(moves.items()):
        counter = locked[key]
        before = counter.used
        for step in steps:
            counter.used = max(0, counter.used + step)
        changes.append((key, before, counter.used))
    UsageCounter.objects.bulk_update([locked[k] for k in moves], ["used", "updated_at"])
    return changes


def _apply_counters(
    new_rows: list[EventRow], companies: dict[int, UsageCompany], limits: dict[int, Limit]
) -> None:
    metered: dict[CounterKey, int] = defaultdict(int)
    gauges: dict[CounterKey, list[int]] = defaultdict(list)
    for row in new_rows:
        key = (row.company_id, row.limit_id, row.period_start)
        if limits[row.limit_id].kind == Limit.Kind.GAUGE:
            gauges[key].append(row.quantity)
        else:
            metered[key] += row.quantity
    totals = counters_add(dict(metered))
    crossings = [(key, totals[key] - delta, totals[key]) for key, delta in metered.items()]
    crossings += _gauges_move(dict(gauges))

    def value(key: CounterKey) -> int | None:
        return companies[key[0]].limit_value(limits[key[1]].key)

    thresholds_record([(key, before, after, value(key)) for key, before, after in crossings])


def usage_events_record(*, actor: Actor, events: Any, now: datetime | None = None) -> IngestResult:
    """Record what already happened: 1 to 1000 events given as plain dicts (the shape of
    `POST /usage/events`), all or nothing, each id counted once per reseller (SPEC §13)."""
    actor.require_write()
    return usage_events_record_parsed(actor=actor, events=_parse_batch(events), now=now)


def usage_events_record_parsed(
    *, actor: Actor, events: Sequence[UsageEventInput], now: datetime | None = None
) -> IngestResult:
    """`usage_events_record` for events whose types are already checked (the API's schema
    parsed them): what is left is what only the database can tell (companies, limits,
    stored ids) and the kind-dependent rules. Written set-based: one multi-row INSERT … ON
    CONFLICT for the ids, one counter upsert per batch grouped by (company, limit, period).
    Counters move in the same transaction as the events."""
    actor.require_write()
    if not 1 <= len(events) <= MAX_BATCH:
        raise ValidationFailed.field("events", f"must hold 1 to {MAX_BATCH} events")
    now = now or timezone.now()
    pairs, companies, limits = _event_rows(actor, events, now)
    rows, repeats = _distinct(pairs)
    with transaction.atomic():
        inserted = events_insert_new(rows)
        _check_stored_duplicates(rows, inserted)
        new_rows = [r for r in rows if (r.reseller_id, r.event_id) in inserted]
        _apply_counters(new_rows, companies, limits)
        result = IngestResult(
            accepted=len(new_rows), duplicates=len(rows) - len(new_rows) + repeats
        )
        for reseller_id in sorted({r.reseller_id for r in rows}):
            ids = [r.event_id for r in new_rows if r.reseller_id == reseller_id]
            audit_record(
                actor=actor,
                action="usage.events_record",
                object_type="usage_events",
                object_id=None,
                object_repr=f"{len(ids)} event(s)",
                reseller_id=reseller_id,
                changes={"accepted": len(ids), "first_id": ids[:1], "last_id": ids[-1:]},
            )
    return result


# --- consume and gauges ---------------------------------------------------------------------


class _Refused(Exception):
    """Raised inside the consume's transaction to roll back its idempotency record."""


def _consume_check_duplicate(row: EventRow) -> None:
    old = UsageEvent.objects.get(reseller_id=row.reseller_id, event_id=row.event_id)
    if (old.company_id, old.limit_id, old.quantity, old.source) != (
        row.company_id,
        row.limit_id,
        row.quantity,
        row.source,
    ):
        raise Conflict(
            f"Request id {row.event_id!r} was already used with other content.",
            details={"id": [row.event_id]},
        )


def _clean_quantity(quantity: Any, *, field: str = "quantity", minimum: int = 1) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValidationFailed.field(field, "must be an integer")
    if not minimum <= quantity <= MAX_QUANTITY:
        raise ValidationFailed.field(field, f"must be {minimum} to {MAX_QUANTITY}")
    return quantity


def usage_consume(
    *,
    actor: Actor,
    company_id: int,
    limit_key: str,
    quantity: int,
    request_id: str | None = None,
    now: datetime | None = None,
    company_row: tuple[Any, ...] | None = None,
) -> dict[str, Any]:
    """Ask before using: record `quantity` only if it fits the limit, atomically.

    A cap is checked with `quantity` as the wanted total and records nothing. A request id
    makes it idempotent: a retry answers as the first call did without counting again.
    `company_row`: the columns of `lookup.company_limit_sql`, when the API key lookup
    already read them (usage/api.py)."""
    company = usage_company_get(actor, company_id, company_row)
    actor.require_write(company.reseller_id)
    limit_row = company_row[COMPANY_COLUMNS:] if company_row is not None else None
    limit = limit_by_key(limit_key, limit_row)
    quantity = _clean_quantity(quantity)
    if request_id is not None and not 1 <= len(request_id) <= MAX_EVENT_ID_LENGTH:
        raise ValidationFailed.field("id", f"must be 1 to {MAX_EVENT_ID_LENGTH} characters")
    value = company.limit_value(limit.key)  # read now: a plan edit applies at once
    if limit.kind == Limit.Kind.CAP:
        allowed = value is None or quantity <= value
        return {**limit_usage_fields(limit.kind, value, None), "allowed": allowed}
    now = now or timezone.now()
    key = (company.id, limit.pk, current_period_start(company.anchor, limit, now))
    if request_id is None:
        # The common consume is one statement in autocommit: the counter row is locked
        # only while PostgreSQL runs it and commits, never across a round trip to Python
        # (what bounds a hot row). It declines what would cross a threshold or the
        # limit; those take the transaction below.
        new_used = counter_try_add_quiet(key, quantity, value, THRESHOLDS)
        if new_used is not None:
            return {**limit_usage_fields(limit.kind, value, new_used), "allowed": True}
    try:
        with transaction.atomic():
            if request_id is not None:
                row = EventRow(
                    reseller_id=company.reseller_id,
                    event_id=request_id,
                    company_id=company.id,
                    limit_id=limit.pk,
                    quantity=quantity,
                    timestamp=now,
                    period_start=key[2],
                    source=UsageEvent.Source.CONSUME,
                )
                if not events_insert_new([row]):
                    _consume_check_duplicate(row)
                    stored = counter_used(key)
                    return {**limit_usage_fields(limit.kind, value, stored), "allowed": True}
            new_used = counter_try_add(key, quantity, value)
            if new_used is None:
                raise _Refused
            thresholds_record([(key, new_used - quantity, new_used, value)])
    except _Refused:
        return {**limit_usage_fields(limit.kind, value, counter_used(key)), "allowed": False}
    return {**limit_usage_fields(limit.kind, value, new_used), "allowed": True}


def usage_gauge_set(*, actor: Actor, company_id: int, limit_key: str, value: Any) -> dict[str, Any]:
    """Set a gauge's current count (`PUT …/usage/{limit}`)."""
    company = usage_company_get(actor, company_id)
    actor.require_write(company.reseller_id)
    limit = limit_by_key(limit_key)
    if limit.kind != Limit.Kind.GAUGE:
        raise ValidationFailed.field("limit", f"{limit.key} is a {limit.kind} limit, not a gauge")
    count = _clean_quantity(value, field="value", minimum=0)
    key = (company.id, limit.pk, GAUGE_PERIOD_START)
    limit_value = company.limit_value(limit.key)
    with transaction.atomic():
        counters_add({key: 0})
        counter = UsageCounter.objects.select_for_update().get(
            company_id=company.id, limit_id=limit.pk, period_start=GAUGE_PERIOD_START
        )
        before = counter.used
        counter.used = count
        counter.save(update_fields=["used", "updated_at"])
        thresholds_record([(key, before, count, limit_value)])
        audit_record(
            actor=actor,
            action="usage.gauge_set",
            object_type="company",
            object_id=company.id,
            object_repr=company.name,
            reseller_id=company.reseller_id,
            old={limit.key: before},
            new={limit.key: count},
        )
    return limit_usage_fields(limit.kind, limit_value, count)


# --- retention ------------------------------------------------------------------------------

PURGE_CHUNK = 10_000


def usage_events_purge(
    *, actor: Actor, older_than_days: int | None = None, now: datetime | None = None
) -> int:
    """Delete raw events recorded more than the retention ago; counters stay. Deletes in
    chunks of ids, each its own short transaction, so ingestion is never blocked long."""
    actor.require_platform()
    days = older_than_days if older_than_days is not None else settings.USAGE_RETENTION_DAYS
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(
            UsageEvent.objects.filter(recorded_at__lt=cutoff)
            .order_by()
            .values_list("id", flat=True)[:PURGE_CHUNK]
        )
        if not ids:
            break
        with transaction.atomic():
            deleted += UsageEvent.objects.filter(id__in=ids).delete()[0]
    if deleted:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="usage.events_purge",
                object_type="usage_events",
                object_id=None,
                object_repr=f"{deleted} event(s)",
                reseller_id=None,
                changes={"deleted": deleted, "recorded_before": cutoff.isoformat()},
            )
    return deleted
