"""The handshake between sales ingestion and the statements' close job (SPEC §15, "Late
sales"): both lock the companies' SaleCutoff rows in their transaction, ingestion FOR
SHARE, the close job FOR UPDATE, so that a sale is counted in a closed statement or
marked late into the next open period, never both and never neither.

A lock on a row that does not exist holds nothing back: a company's first close and a
sale of it recorded at the same moment would not see each other. So `cutoffs_lock` first
inserts the missing rows (closed_until NULL: nothing closed). On PostgreSQL an insert
waits for another transaction's uncommitted insert of the same row, so whichever of the
two inserts a company's row first makes the other wait for its commit. Every statement
here takes its rows in company order, so ingestion and closing never deadlock.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from django.db import connection

from partnerhub.companies.models import Company
from partnerhub.sales.models import SaleCutoff


def ids_in(column: str, values: Collection[int]) -> tuple[str, list[Any]]:
    """`column` in `values`: one array parameter on PostgreSQL (one statement text however
    many ids, prepared once), a list of placeholders on SQLite."""
    ids = sorted(values)
    if connection.vendor == "postgresql":
        # `%b`: sent in binary where the cursor binds on the server (usage/counters.py).
        binary = connection.settings_dict.get("OPTIONS", {}).get("server_side_binding", False)
        return f"{column} = ANY({'%b' if binary else '%s'}::bigint[])", [ids]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def cutoffs_lock(
    company_ids: Collection[int], *, for_update: bool = False
) -> dict[int, date | None]:
    """Lock the companies' cutoff rows for the rest of the caller's transaction and answer
    each company's `closed_until` (None: nothing closed). FOR SHARE by default (ingestion:
    batches share, a close waits for them); `for_update` for the close job, which then
    raises them with `cutoffs_raise`. An id that names no company is left out. SQLite
    has no row locks; its one writer at a time gives the same order."""
    if not company_ids:
        return {}
    table = SaleCutoff._meta.db_table
    where, params = ids_in("c.id", company_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (company_id, closed_until) "
            f"SELECT c.id, NULL FROM {Company._meta.db_table} c WHERE {where} "
            "ORDER BY c.id ON CONFLICT (company_id) DO NOTHING",
            params,
        )
        where, params = ids_in("company_id", company_ids)
        sql = f"SELECT company_id, closed_until FROM {table} WHERE {where} ORDER BY company_id"
        if connection.vendor == "postgresql":
            sql += " FOR UPDATE" if for_update else " FOR SHARE"
        cursor.execute(sql, params)
        return {int(company_id): _date(closed) for company_id, closed in cursor.fetchall()}


def cutoffs_raise(closed_until: Mapping[int, date]) -> int:
    """Move each company's `closed_until` forward to the given day (never back), for the
    close job, in the transaction that holds the rows from `cutoffs_lock(for_update=True)`
    and writes the closed statements. One statement; answers the rows moved."""
    if not closed_until:
        return 0
    items = sorted(closed_until.items())
    table = SaleCutoff._meta.db_table
    params: list[Any]
    if connection.vendor == "postgresql":
        given = "unnest(%s::bigint[], %s::date[]) AS u(company_id, day)"
        params = [[c for c, _ in items], [d for _, d in items]]
    else:
        rows = ", ".join(["(%s, %s)"] * len(items))
        given = f"(SELECT column1 AS company_id, column2 AS day FROM (VALUES {rows})) AS u"
        params = [v for c, d in items for v in (c, connection.ops.adapt_datefield_value(d))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET closed_until = u.day FROM {given} "
            f"WHERE {table}.company_id = u.company_id "
            f"AND ({table}.closed_until IS NULL OR {table}.closed_until < u.day)",
            params,
        )
        return int(cursor.rowcount)
