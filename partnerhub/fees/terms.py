"""Which fee terms price an item: the company's effective schedule entry and the gateway fee.

Resolved in SQL, once, for both paths: a single item or quote reads its terms
with `item_terms` (one query, tenancy fields included) and applies the Python
rule; a recalculation joins `rates_sql` into its set-based UPDATE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from partnerhub.fees.arithmetic import (
    Fees,
    gateway_fee,
    gateway_fee_sql,
    reseller_fee,
    reseller_fee_sql,
)


def _effective_schedule_sql() -> str:
    # Company.effective_fee_schedule_id() as SQL (tests/test_sale_items.py covers all
    # three sources): plan fees if on a plan and using them, else the company's own
    # schedule if it has one (a deleted plan's snapshot it shares, companies/models.py),
    # else the reseller's.
    return (
        "CASE WHEN c.plan_id IS NOT NULL AND c.use_plan_fees THEN p.fee_schedule_id"
        " WHEN c.snapshot_fee_schedule_id IS NOT NULL THEN c.snapshot_fee_schedule_id"
        " WHEN c.has_own_fees THEN c.fee_schedule_id ELSE rs.fee_schedule_id END"
    )


# The tables rates_sql reads.
RATES_TABLES = (
    "companies_company",
    "resellers_reseller",
    "plans_plan",
    "catalog_currency",
    "catalog_feetype",
    "fees_feescheduleentry",
    "catalog_gatewayfee",
)


def rates_statistics_ensure(tables: Sequence[str] = RATES_TABLES) -> list[str]:
    """ANALYZE those of the tables PostgreSQL has never counted (never analyzed nor
    vacuumed); answer their names. Nothing on SQLite.

    Autovacuum analyzes a table only once 50 rows and 10 % of it have changed, so the
    small catalogs the rates cross-join (12 currencies, 3 fee types) may never be. The
    planner then assumes ten pages of rows each (350 currencies, 180 fee types),
    estimated a 100-company chunk's rates at 22.9 million rows instead of 3,600, and
    hashed them in 2,048 batches spilled to disk: a 100,000-item chunk took 1.47 s
    instead of 0.37 s (docs/benchmarks.md, 2026-12-01). Once analyzed, autovacuum keeps
    them fresh as they grow. A role that does not own a table gets a warning, no error.
    """
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cur:
        # reltuples is -1 until the first ANALYZE or VACUUM (PostgreSQL 14+).
        cur.execute(
            "SELECT relname FROM pg_class WHERE oid = ANY(%s::regclass[]) AND reltuples < 0",
            [list(tables)],
        )
        found = {name for (name,) in cur.fetchall()}
        # In the given order: two jobs starting at once then wait for each other's
        # ANALYZE lock (held to their commits) instead of deadlocking.
        unknown = [name for name in tables if name in found]
        for name in unknown:
            cur.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    return unknown


def rates_sql(company_filter: str) -> str:
    """Per (company, currency, fee type) of the companies matching `company_filter` (a
    predicate on `{col}`): the effective schedule entry's terms and the gateway's.

    A missing entry yields 0 bps, 0 fixed, no clamp and itemised: a zero reseller fee.
    The table is tiny (companies x currencies x fee types), so joining it to the
    items is a hash join driven by the items of the chunk's companies, provided the
    planner computes it on its own first (see fees/recalc/statement.py::recalculation_sql).
    """
    return f"""
        SELECT c.id AS company_id, cur.code AS currency, ft.key AS fee_type,
               COALESCE(e.percent_bps, 0) AS percent_bps,
               COALESCE(e.fixed_minor, 0) AS fixed_minor,
               e.min_minor AS min_minor, e.max_minor AS max_minor,
               COALESCE(e.blended, FALSE) AS blended,
               COALESCE(g.percent_bps, 0) AS g_bps,
               COALESCE(g.fixed_minor, 0) AS g_fixed
        FROM companies_company c
        JOIN resellers_reseller rs ON rs.id = c.reseller_id
        LEFT JOIN plans_plan p ON p.id = c.plan_id
        CROSS JOIN catalog_currency cur
        CROSS JOIN catalog_feetype ft
        LEFT JOIN fees_feescheduleentry e
            ON e.schedule_id = ({_effective_schedule_sql()})
            AND e.currency = cur.code AND e.fee_type = ft.key
        LEFT JOIN catalog_gatewayfee g ON g.currency = cur.code
        WHERE {company_filter.format(col="c.id")}
    """


def reseller_fee_of(price: str) -> str:
    """The reseller fee of `price` against a `r` row of rates_sql."""
    return reseller_fee_sql(price, "r.percent_bps", "r.fixed_minor", "r.min_minor", "r.max_minor")


def gateway_fee_of(price: str) -> str:
    return gateway_fee_sql(price, "r.g_bps", "r.g_fixed")


@dataclass(frozen=True, slots=True)
class ItemTerms:
    """A company's tenancy and, for one (currency, fee type), its pricing terms."""

    company_id: int
    reseller_id: int
    has_entry: bool
    percent_bps: int
    fixed_minor: int  # minor units
    min_minor: int | None  # minor units
    max_minor: int | None  # minor units
    blended: bool
    gateway_bps: int
    gateway_fixed_minor: int  # minor units; no gateway fee row means 0

    def fees(self, price_minor: int) -> Fees:
        return Fees(
            reseller_fee_minor=reseller_fee(
                price_minor, self.percent_bps, self.fixed_minor, self.min_minor, self.max_minor
            ),
            gateway_fee_minor=gateway_fee(price_minor, self.gateway_bps, self.gateway_fixed_minor),
            blended=self.blended,
        )


_TERMS_COLUMNS = """
    c.id, c.reseller_id, e.id IS NOT NULL,
    COALESCE(e.percent_bps, 0), COALESCE(e.fixed_minor, 0), e.min_minor, e.max_minor,
    COALESCE(e.blended, FALSE), COALESCE(g.percent_bps, 0), COALESCE(g.fixed_minor, 0)
"""


def _terms_joins(currency: str, fee_type: str) -> str:
    """Joins from `c` (a company) to its effective entry for `currency`/`fee_type` (SQL)."""
    return f"""
        JOIN resellers_reseller rs ON rs.id = c.reseller_id
        LEFT JOIN plans_plan p ON p.id = c.plan_id
        LEFT JOIN fees_feescheduleentry e
            ON e.schedule_id = ({_effective_schedule_sql()})
            AND e.currency = {currency} AND e.fee_type = {fee_type}
        LEFT JOIN catalog_gatewayfee g ON g.currency = {currency}
    """


def _share_lock(cur: Any, sql: str, param: int) -> bool:
    """Share-lock the company `sql` selects (one `id` column, `%s` = `param`) before its
    terms are read, in a statement of its own (PostgreSQL; SQLite serialises writes).

    Not `FOR SHARE OF c` on the terms query itself: when that lock waits for a
    concurrent fee change of the company (leaving plan fees, a reset) to commit,
    PostgreSQL re-checks only the locked company row (EvalPlanQual), while the joined
    fee entries stay those of the statement's snapshot, so the company's new own
    schedule would show no entries. A statement started after the lock is granted sees
    the change whole. False: no such row."""
    if connection.vendor != "postgresql":
        return True
    cur.execute(f"{sql} FOR SHARE", [param])
    return cur.fetchone() is not None


def _to_terms(row: Sequence[Any]) -> ItemTerms:
    cid, rid, has, bps, fixed, lo, hi, blended, gbps, gfixed = row
    return ItemTerms(cid, rid, bool(has), bps, fixed, lo, hi, bool(blended), gbps, gfixed)


def item_terms(
    company_id: int, currency: str, fee_type: str, *, lock: bool = False
) -> ItemTerms | None:
    """None when the company does not exist. One query (two with `lock` on PostgreSQL):
    this is the hot path of item writes and quotes.

    With `lock` (item writes, inside their transaction) PostgreSQL takes a share lock
    on the company: a recalculation chunk locks its companies before its UPDATE, so
    an item written from old terms commits before the chunk's statement starts and
    the chunk reprices it. (SQLite serialises write transactions anyway.)
    """
    sql = (
        f"SELECT {_TERMS_COLUMNS} FROM companies_company c {_terms_joins('%s', '%s')}"
        " WHERE c.id = %s"
    )
    with connection.cursor() as cur:
        if lock and not _share_lock(
            cur, "SELECT id FROM companies_company WHERE id = %s", company_id
        ):
            return None
        cur.execute(sql, [currency, fee_type, currency, company_id])
        row = cur.fetchone()
    return None if row is None else _to_terms(row)


def existing_item_terms(
    item_id: int, currency: str | None, fee_type: str | None, *, lock: bool = False
) -> tuple[ItemTerms, str, str] | None:
    """For an existing item: its company's terms for `currency`/`fee_type` (None: the
    item's own), with the item's current currency and fee type. One query, after the
    same company share lock as item_terms; None when the item does not exist."""
    cur_sql, type_sql = "COALESCE(%s, i.currency)", "COALESCE(%s, i.fee_type)"
    sql = (
        f"SELECT {_TERMS_COLUMNS}, i.currency, i.fee_type FROM fees_saleitem i"
        f" JOIN companies_company c ON c.id = i.company_id {_terms_joins(cur_sql, type_sql)}"
        " WHERE i.id = %s"
    )
    company_of_item = (
        "SELECT c.id FROM companies_company c WHERE c.id = "
        "(SELECT i.company_id FROM fees_saleitem i WHERE i.id = %s)"
    )
    with connection.cursor() as cur:
        if lock and not _share_lock(cur, company_of_item, item_id):
            return None
        cur.execute(sql, [currency, fee_type, currency, item_id])
        row = cur.fetchone()
    return None if row is None else (_to_terms(row[:10]), row[10], row[11])
