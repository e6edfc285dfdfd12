"""Synthetic sales for `partnerhub seed --sales N` and the benchmarks: N sales spread over
every stored sale item, at times spread over the last 90 days, written by INSERT … SELECT
in chunks (generate_series on PostgreSQL, a recursive CTE on SQLite), so 1,000,000 sales
take seconds, not the hours a million API calls would.

The rows are what ingestion would store (sales/services.py): the item's price and fees
copied, the reseller and company the item's, a sale dated before its company's cutoff
marked late into it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from partnerhub.companies.models import Company
from partnerhub.fees.models import SaleItem
from partnerhub.sales.models import Sale, SaleCutoff

CHUNK = 200_000  # sales per statement: one short transaction each, progress between
SPREAD_SECONDS = 90 * 86_400  # the last ~3 months
# Sale n is `(n * STRIDE) mod SPREAD_SECONDS` seconds old: a stride near the golden ratio of
# the spread puts any run of consecutive sales far apart, so even a few hundred cover the
# three months (n * STRIDE stays within 64 bits up to 10^12 sales).
STRIDE = 4_805_843
_ITEMS = "seed_sale_items"  # a temporary table: the items, numbered for the round robin


def _numbered_items_sql() -> str:
    """Every sale item numbered k = 0..M-1 so that consecutive k go round the companies
    (each company's first item, then each company's second…): the first N sales of a
    seed touch as many companies as they can, however many items each company has."""
    items, companies = SaleItem._meta.db_table, Company._meta.db_table
    return f"""
        CREATE TEMPORARY TABLE {_ITEMS} AS
        SELECT row_number() OVER (ORDER BY r.rank_in_company, r.company_id, r.id) - 1 AS k,
               r.id, r.company_id, r.reseller_id, r.currency, r.fee_type, r.price_minor,
               r.reseller_fee_minor, r.gateway_fee_minor, r.blended
        FROM (
            SELECT i.id, i.company_id, c.reseller_id, i.currency, i.fee_type, i.price_minor,
                   i.reseller_fee_minor, i.gateway_fee_minor, i.blended,
                   row_number() OVER (PARTITION BY i.company_id ORDER BY i.id) AS rank_in_company
            FROM {items} i JOIN {companies} c ON c.id = i.company_id
        ) AS r
    """


def _series(low: int, high: int) -> tuple[str, str]:
    """(WITH prefix, FROM item) producing the integers low..high as g.n."""
    if connection.vendor == "postgresql":
        # bigint: n * STRIDE outgrows a 32-bit integer from n = 447 on.
        return "", f"generate_series({int(low)}::bigint, {int(high)}::bigint) AS g(n)"
    return (
        f"WITH RECURSIVE g(n) AS (SELECT {int(low)} UNION ALL "
        f"SELECT n + 1 FROM g WHERE n < {int(high)}) ",
        "g",
    )


def _time_sql(seconds: str) -> tuple[str, str]:
    """(the sale's time: the run's time %s minus `seconds`, its UTC day)."""
    if connection.vendor == "postgresql":
        moment = f"(%s::timestamptz - make_interval(secs => {seconds}))"
        return moment, f"({moment} AT TIME ZONE 'UTC')::date"
    moment = f"datetime(%s, '-' || ({seconds}) || ' seconds')"
    return moment, f"date({moment})"


def _insert_sql(low: int, high: int, items: int, spread_seconds: int = SPREAD_SECONDS) -> str:
    """Sales low..high of a run. Parameters: sale id prefix, now x3 (time, late day,
    recorded_at)."""
    with_prefix, series = _series(low, high)
    moment, day = _time_sql(f"(g.n * {STRIDE}) %% {int(spread_seconds)}")
    cutoffs = SaleCutoff._meta.db_table
    return f"""
        {with_prefix}
        INSERT INTO {Sale._meta.db_table} (reseller_id, sale_id, company_id, sale_item_id,
            currency, fee_type, quantity, price_minor, reseller_fee_minor, gateway_fee_minor,
            blended, timestamp, late_into, recorded_at)
        SELECT i.reseller_id, CAST(%s AS text) || g.n, i.company_id, i.id, i.currency, i.fee_type,
               1 + g.n %% 5, i.price_minor, i.reseller_fee_minor, i.gateway_fee_minor,
               i.blended, {moment},
               CASE WHEN {day} < x.closed_until THEN x.closed_until END, %s
        FROM {series}
        JOIN {_ITEMS} i ON i.k = g.n %% {int(items)}
        LEFT JOIN {cutoffs} x ON x.company_id = i.company_id
        ON CONFLICT (reseller_id, sale_id) DO NOTHING
    """


def _rows_written(cur: Any) -> int:
    """The rows the last INSERT wrote: the cursor's rowcount, except on SQLite, whose
    Python driver answers -1 for a statement that starts with WITH."""
    if connection.vendor == "postgresql":
        return int(cur.rowcount)
    cur.execute("SELECT changes()")
    return int(cur.fetchone()[0])


def sales_seed(*, count: int, now: datetime | None = None, days: int = 90) -> int:
    """Write `count` synthetic sales over every stored sale item (quantities 1-5, times
    over the last `days` days before `now`); answers the sales written (0 when there is
    no sale item). Each run's ids are its own (`seed-<run>-<n>`), so seeding twice adds."""
    if count < 1:
        return 0
    now = now or timezone.now()
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    prefix = f"seed-{now:%Y%m%d%H%M%S%f}-"
    written = 0
    with connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {_ITEMS}")
        cur.execute(_numbered_items_sql())
        cur.execute(f"CREATE INDEX {_ITEMS}_k ON {_ITEMS} (k)")
        cur.execute(f"SELECT count(*) FROM {_ITEMS}")
        items = int(cur.fetchone()[0])
        if connection.vendor == "postgresql":
            cur.execute(f"ANALYZE {_ITEMS}")
        for low in range(1, count + 1, CHUNK) if items else ():
            high = min(count, low + CHUNK - 1)
            with transaction.atomic():
                cur.execute(
                    _insert_sql(low, high, items, days * 86_400), [prefix, stamp, stamp, stamp]
                )
                written += _rows_written(cur)
        cur.execute(f"DROP TABLE {_ITEMS}")
        if written and connection.vendor == "postgresql":
            # Fresh statistics: the statements' aggregates plan on the new row count.
            cur.execute(f"ANALYZE {Sale._meta.db_table}")
    return written
