"""The SQL that keeps usage exact under concurrency, on SQLite and PostgreSQL alike.

Every statement here is one set-based INSERT … ON CONFLICT (both databases speak it, with
RETURNING): the database, not Python, decides whether a consume fits and which events
are new, so two clients racing never both win (no read-then-write in Python).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from partnerhub.usage.models import UsageCounter, UsageEvent, UsageThresholdEvent

CounterKey = tuple[int, int, date]  # (company_id, limit_id, period_start)


@dataclass(frozen=True, slots=True)
class EventRow:
    reseller_id: int
    event_id: str
    company_id: int
    limit_id: int
    quantity: int
    timestamp: datetime
    period_start: date
    source: str = UsageEvent.Source.EVENT


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _values(rows: int, columns: int) -> str:
    one = "(" + ", ".join(["%s"] * columns) + ")"
    return ", ".join([one] * rows)


_EVENT_COLUMNS = (
    "reseller_id, event_id, company_id, limit_id, quantity, timestamp, period_start, source, "
    "recorded_at"
)


def events_insert_new(rows: Sequence[EventRow]) -> set[tuple[int, str]]:
    """Insert the events whose (reseller, id) is not stored yet; answer the keys inserted.

    One statement for the whole batch. Under concurrent retries of one batch, PostgreSQL
    makes the second insert of a key wait for the first transaction and then skip it;
    SQLite serialises writers. Rows go in sorted by key so two overlapping batches take
    the index locks in the same order.
    """
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda r: (r.reseller_id, r.event_id))
    table = UsageEvent._meta.db_table
    if connection.vendor == "postgresql":
        sql, params = _events_insert_arrays(table, ordered)
    else:
        sql, params = _events_insert_values(table, ordered)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(int(reseller_id), str(event_id)) for reseller_id, event_id in cursor.fetchall()}


def _array_placeholder() -> str:
    """psycopg's placeholder for an array parameter: `%b` (sent in binary, which psycopg
    dumps about four times faster than text for a 1,000-element list) where the cursor
    binds on the server (settings: DATABASE_PREPARE_THRESHOLD > 0); psycopg's client-side
    binding cursor takes only `%s`."""
    binary = connection.settings_dict.get("OPTIONS", {}).get("server_side_binding", False)
    return "%b" if binary else "%s"


_ON_EVENT_CONFLICT = (
    " ON CONFLICT (reseller_id, event_id) DO NOTHING RETURNING reseller_id, event_id"
)


def _events_insert_arrays(table: str, rows: list[EventRow]) -> tuple[str, list[Any]]:
    """PostgreSQL: one array per column, unnested. The statement has nine parameters
    whatever the batch size, so psycopg converts its text once (it re-parses any query
    too long for its cache, as 9,000 placeholders are: a third of a batch's time) and
    PostgreSQL prepares it once per connection."""
    a = _array_placeholder()
    sql = (
        f"INSERT INTO {table} ({_EVENT_COLUMNS}) "
        f"SELECT r, e, c, l, q, t, p, s, %s FROM unnest({a}::bigint[], {a}::varchar[], "
        f"{a}::bigint[], {a}::bigint[], {a}::bigint[], {a}::timestamptz[], {a}::date[], "
        f"{a}::varchar[]) AS u(r, e, c, l, q, t, p, s) ORDER BY r, e" + _ON_EVENT_CONFLICT
    )
    return sql, [
        timezone.now(),
        [r.reseller_id for r in rows],
        [r.event_id for r in rows],
        [r.company_id for r in rows],
        [r.limit_id for r in rows],
        [r.quantity for r in rows],
        [r.timestamp for r in rows],
        [r.period_start for r in rows],
        [str(r.source) for r in rows],
    ]


def _events_insert_values(table: str, rows: list[EventRow]) -> tuple[str, list[Any]]:
    """SQLite: one multi-row VALUES (9,000 parameters for 1,000 events, within its limit)."""
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    # A batch repeats a few timestamps and periods: adapt each distinct one once.
    times = {t: ops.adapt_datetimefield_value(t) for t in {r.timestamp for r in rows}}
    periods = {p: ops.adapt_datefield_value(p) for p in {r.period_start for r in rows}}
    params: list[Any] = []
    for r in rows:
        params += (
            r.reseller_id,
            r.event_id,
            r.company_id,
            r.limit_id,
            r.quantity,
            times[r.timestamp],
            periods[r.period_start],
            r.source,
            now,
        )
    sql = f"INSERT INTO {table} ({_EVENT_COLUMNS}) VALUES {_values(len(rows), 9)}"
    return sql + _ON_EVENT_CONFLICT, params


ThresholdRow = tuple[int, int, date, int, int, int]
"""(company_id, limit_id, period_start, threshold, used, value)"""


def thresholds_insert_new(rows: Sequence[ThresholdRow]) -> list[ThresholdRow]:
    """Insert the threshold crossings not recorded yet; answer the rows this call inserted.

    The unique (company, limit, period, threshold) constraint keeps each once however many
    writers cross together; RETURNING tells the one that won, so exactly one webhook event
    is written per crossing (SPEC §14), in the same transaction as the crossing."""
    if not rows:
        return []
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    params: list[Any] = []
    for company_id, limit_id, period_start, threshold, used, value in sorted(rows):
        params += [
            company_id,
            limit_id,
            ops.adapt_datefield_value(period_start),
            threshold,
            used,
            value,
            now,
        ]
    table = UsageThresholdEvent._meta.db_table
    sql = (
        f"INSERT INTO {table} (company_id, limit_id, period_start, threshold, used, value, "
        f"created_at) VALUES {_values(len(rows), 7)} "
        "ON CONFLICT (company_id, limit_id, period_start, threshold) DO NOTHING "
        "RETURNING company_id, limit_id, period_start, threshold, used, value"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            (int(c), int(lim), _date(p), int(t), int(u), int(v))
            for c, lim, p, t, u, v in cursor.fetchall()
        ]


def counters_add(deltas: dict[CounterKey, int]) -> dict[CounterKey, int]:
    """Add each delta to its counter (creating it at the delta); answer the new values.

    One statement whatever the number of counters (arrays unnested on PostgreSQL, as for
    the events), in key order (a fixed lock order, so two batches touching the same
    counters cannot deadlock)."""
    if not deltas:
        return {}
    items = sorted(deltas.items())
    table = UsageCounter._meta.db_table
    upsert = (
        " ON CONFLICT (company_id, limit_id, period_start) DO UPDATE "
        "SET used = c.used + excluded.used, updated_at = excluded.updated_at "
        "RETURNING company_id, limit_id, period_start, used"
    )
    columns = "company_id, limit_id, period_start, used, updated_at"
    params: list[Any]
    if connection.vendor == "postgresql":
        a = _array_placeholder()
        sql = (
            f"INSERT INTO {table} AS c ({columns}) SELECT k, l, p, d, %s FROM "
            f"unnest({a}::bigint[], {a}::bigint[], {a}::date[], {a}::bigint[]) "
            "AS u(k, l, p, d) ORDER BY k, l, p" + upsert
        )
        params = [
            timezone.now(),
            [k[0] for k, _ in items],
            [k[1] for k, _ in items],
            [k[2] for k, _ in items],
            [d for _, d in items],
        ]
    else:
        ops = connection.ops
        now = ops.adapt_datetimefield_value(timezone.now())
        params = []
        for (company_id, limit_id, period_start), delta in items:
            params += [company_id, limit_id, ops.adapt_datefield_value(period_start), delta, now]
        sql = f"INSERT INTO {table} AS c ({columns}) VALUES {_values(len(items), 5)}" + upsert
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(int(c), int(lim), _date(p)): int(used) for c, lim, p, used in cursor.fetchall()}


def _add_upsert(key: CounterKey, quantity: int) -> tuple[str, list[Any]]:
    """The upsert adding `quantity` to the counter `key` (a new row starts at it), for the
    callers to guard with a `WHERE` on the row it would update."""
    company_id, limit_id, period_start = key
    ops = connection.ops
    table = UsageCounter._meta.db_table
    sql = (
        f"INSERT INTO {table} AS c (company_id, limit_id, period_start, used, updated_at) "
        "VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (company_id, limit_id, period_start) DO UPDATE "
        "SET used = c.used + excluded.used, updated_at = excluded.updated_at"
    )
    params: list[Any] = [
        company_id,
        limit_id,
        ops.adapt_datefield_value(period_start),
        quantity,
        ops.adapt_datetimefield_value(timezone.now()),
    ]
    return sql, params


def counter_try_add(key: CounterKey, quantity: int, value: int | None) -> int | None:
    """The consume: add `quantity` only if the total stays within `value` (None: no
    limit). One conditional upsert, atomic on both databases: concurrent consumes queue
    on the counter row and each sees the total the previous one left. Answers the new
    total, or None when the quantity does not fit (nothing changed)."""
    if value is not None and quantity > value:
        return None
    sql, params = _add_upsert(key, quantity)
    if value is not None:
        sql += " WHERE c.used + excluded.used <= %s"
        params.append(value)
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING used", params)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def counter_try_add_quiet(
    key: CounterKey, quantity: int, value: int | None, thresholds: Sequence[int]
) -> int | None:
    """`counter_try_add` for a caller outside any transaction, when the addition crosses
    none of the `thresholds` (percent of `value`): one statement, so atomic and committed
    on its own. Answers the new total, or None when the quantity does not fit or would
    cross a threshold (nothing changed): the caller then takes the transactional path,
    which records the crossing with it. A new counter row starts at `quantity`, so one that
    would itself reach a threshold is declined before the statement."""
    if value is not None and (
        quantity > value or any(quantity * 100 >= t * value for t in thresholds)
    ):
        return None
    sql, params = _add_upsert(key, quantity)
    if value is not None:
        # Within the limit, and for each threshold: already reached before, or still not
        # reached after (services._reached: used > 0 and used * 100 >= t * value).
        sql += " WHERE c.used + excluded.used <= %s"
        params.append(value)
        for threshold in thresholds:
            sql += (
                " AND ((c.used > 0 AND c.used * 100 >= %s) OR (c.used + excluded.used) * 100 < %s)"
            )
            params += [threshold * value, threshold * value]
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING used", params)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def counter_used(key: CounterKey) -> int:
    company_id, limit_id, period_start = key
    used = (
        UsageCounter.objects.filter(
            company_id=company_id, limit_id=limit_id, period_start=period_start
        )
        .values_list("used", flat=True)
        .first()
    )
    return int(used or 0)


def counters_used(keys: Iterable[CounterKey]) -> dict[CounterKey, int]:
    keys = list(keys)
    if not keys:
        return {}
    rows = UsageCounter.objects.filter(
        company_id__in={k[0] for k in keys},
        limit_id__in={k[1] for k in keys},
        period_start__in={k[2] for k in keys},
    ).values_list("company_id", "limit_id", "period_start", "used")
    found = {(c, lim, p): used for c, lim, p, used in rows}
    return {k: int(found.get(k, 0)) for k in keys}
