"""Synthetic usage for `partnerhub seed --usage-events N` and the benchmark: events written
by one INSERT … SELECT per anchor day (generate_series on PostgreSQL, a recursive CTE on
SQLite), and their counters by one aggregate upsert, so 10,000,000 events take a minute."""

from __future__ import annotations

from datetime import date

from django.db import connection
from django.utils import timezone

from partnerhub.catalog.models import Limit
from partnerhub.usage.models import UsageCounter, UsageEvent
from partnerhub.usage.periods import usage_period


def _series(count: int) -> tuple[str, str]:
    """(WITH prefix, FROM item) producing the integers 1..count as g.n."""
    if connection.vendor == "postgresql":
        return "", f"generate_series(1, {int(count)}) AS g(n)"
    return (
        f"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {int(count)}) ",
        "g",
    )


def usage_seed(
    *, company_ids: list[int], events_per_company: int, limit_key: str = "messages"
) -> int:
    """Record `events_per_company` metered events (quantity 1-5, now) for each company, in
    its current usage period, and add them to the counters. Answers the events written."""
    if not company_ids or events_per_company < 1:
        return 0
    limit = Limit.objects.get(key=limit_key)
    ops = connection.ops
    now = timezone.now()
    events, counters = UsageEvent._meta.db_table, UsageCounter._meta.db_table
    with_prefix, series = _series(events_per_company)
    ids = ", ".join(str(int(i)) for i in company_ids)
    written = 0
    with connection.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT COALESCE(billing_anchor, " + _created_date() + ") "
            f"FROM companies_company WHERE id IN ({ids})"
        )
        anchors = [a if isinstance(a, date) else date.fromisoformat(str(a)) for (a,) in cur]
        for anchor in anchors:
            period = ops.adapt_datefield_value(usage_period(anchor, now.date()).start)
            ts = ops.adapt_datetimefield_value(now)
            of_anchor = (
                f"c.id IN ({ids}) AND COALESCE(c.billing_anchor, {_created_date('c.')}) = %s"
            )
            cur.execute(
                f"""{with_prefix}
                INSERT INTO {events} (reseller_id, event_id, company_id, limit_id, quantity,
                    timestamp, period_start, source, recorded_at)
                SELECT c.reseller_id, 'seed-' || c.id || '-' || g.n, c.id, %s, 1 + g.n %% 5,
                       %s, %s, 'event', %s
                FROM companies_company c CROSS JOIN {series}
                WHERE {of_anchor}
                ON CONFLICT (reseller_id, event_id) DO NOTHING""",
                [limit.pk, ts, period, ts, ops.adapt_datefield_value(anchor)],
            )
            written += cur.rowcount
            # Each company's events of this seed, summed: 1+2+3+4+5 per 5 events.
            cur.execute(
                f"""INSERT INTO {counters} AS u
                    (company_id, limit_id, period_start, used, updated_at)
                SELECT c.id, %s, %s, {_seeded_sum(events_per_company)}, %s
                FROM companies_company c WHERE {of_anchor}
                ON CONFLICT (company_id, limit_id, period_start) DO UPDATE
                SET used = u.used + excluded.used""",
                [limit.pk, period, ts, ops.adapt_datefield_value(anchor)],
            )
    return written


def _seeded_sum(count: int) -> int:
    """Sum of 1 + n % 5 for n in 1..count (the quantities the insert writes)."""
    return sum(1 + n % 5 for n in range(1, count + 1))


def _created_date(prefix: str = "") -> str:
    if connection.vendor == "postgresql":
        return f"({prefix}created_at AT TIME ZONE 'UTC')::date"
    return f"date({prefix}created_at)"
