"""The SQL of sales ingestion, on SQLite and PostgreSQL alike: a batch's sale items in one
read, its sales in one INSERT … ON CONFLICT (the cutoffs' locks: sales/cutoffs.py).

The database, not Python, decides which ids are new (RETURNING the inserted keys): two
clients retrying the same batch at once never both record it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection

from partnerhub.companies.models import Company
from partnerhub.companies.selectors import company_visible_to
from partnerhub.core.actor import Actor
from partnerhub.fees.models import SaleItem
from partnerhub.sales.cutoffs import ids_in
from partnerhub.sales.models import Sale

SaleKey = tuple[int, str]  # (reseller_id, sale_id)


@dataclass(frozen=True, slots=True)
class SaleItemRow:
    """What a sale copies of its item, as the item is when the sale is recorded."""

    id: int
    company_id: int
    reseller_id: int
    currency: str
    fee_type: str
    price_minor: int  # minor units, per unit
    reseller_fee_minor: int  # minor units, per unit
    gateway_fee_minor: int  # minor units, per unit
    blended: bool


@dataclass(frozen=True, slots=True)
class SaleRow:
    reseller_id: int
    sale_id: str
    company_id: int
    sale_item_id: int
    currency: str
    fee_type: str
    quantity: int
    price_minor: int  # minor units, per unit
    reseller_fee_minor: int  # minor units, per unit
    gateway_fee_minor: int  # minor units, per unit
    blended: bool
    timestamp: datetime  # aware, UTC
    late_into: date | None

    @property
    def key(self) -> SaleKey:
        return (self.reseller_id, self.sale_id)


def sale_items_visible(actor: Actor, item_ids: Collection[int]) -> dict[int, SaleItemRow]:
    """The sale items among `item_ids` whose company the actor may see, in one query (a
    batch names up to 1,000). Another tenant's item is left out exactly like a missing
    one, so the caller reports both the same way."""
    if not item_ids:
        return {}
    items, companies = SaleItem._meta.db_table, Company._meta.db_table
    where, params = ids_in("i.id", item_ids)
    sql = (
        "SELECT i.id, i.company_id, c.reseller_id, i.currency, i.fee_type, i.price_minor, "
        f"i.reseller_fee_minor, i.gateway_fee_minor, i.blended FROM {items} i "
        f"JOIN {companies} c ON c.id = i.company_id WHERE {where}"
    )
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for pk, company_id, reseller_id, currency, fee_type, price, fee, gateway, blended in cursor:
            if company_visible_to(actor, pk=company_id, reseller_id=reseller_id):
                found[int(pk)] = SaleItemRow(
                    int(pk),
                    int(company_id),
                    int(reseller_id),
                    currency,
                    fee_type,
                    int(price),
                    int(fee),
                    int(gateway),
                    bool(blended),
                )
    return found


_COLUMNS = (
    "reseller_id, sale_id, company_id, sale_item_id, currency, fee_type, quantity, "
    "price_minor, reseller_fee_minor, gateway_fee_minor, blended, timestamp, late_into, "
    "recorded_at"
)
_ON_CONFLICT = " ON CONFLICT (reseller_id, sale_id) DO NOTHING RETURNING reseller_id, sale_id"


def sales_insert_new(rows: Sequence[SaleRow], now: datetime) -> set[SaleKey]:
    """Insert the sales whose (reseller, id) is not stored yet; answer the keys inserted.

    One statement for the whole batch. Under concurrent retries of one batch, PostgreSQL
    makes the second insert of a key wait for the first transaction and then skip it;
    SQLite serialises writers. Rows go in sorted by key so that two overlapping batches
    take the unique index's locks in the same order (no deadlock)."""
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda r: r.key)
    if connection.vendor == "postgresql":
        sql, params = _insert_arrays(ordered, now)
    else:
        sql, params = _insert_values(ordered, now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(int(reseller_id), str(sale_id)) for reseller_id, sale_id in cursor.fetchall()}


def _array_placeholder() -> str:
    """`%b` (binary, which psycopg dumps several times faster than text for a 1,000-element
    list) where the cursor binds on the server, else `%s` (usage/counters.py says more)."""
    binary = connection.settings_dict.get("OPTIONS", {}).get("server_side_binding", False)
    return "%b" if binary else "%s"


def _insert_arrays(rows: list[SaleRow], now: datetime) -> tuple[str, list[Any]]:
    """PostgreSQL: one array per column, unnested. Fourteen parameters whatever the batch
    size: psycopg converts the text once and PostgreSQL prepares it once per connection
    (14,000 placeholders would be re-parsed on every call)."""
    a = _array_placeholder()
    types = (
        "bigint", "varchar", "bigint", "bigint", "varchar", "varchar", "bigint", "bigint",
        "bigint", "bigint", "boolean", "timestamptz", "date",
    )  # fmt: skip
    arrays = ", ".join(f"{a}::{t}[]" for t in types)
    sql = (
        f"INSERT INTO {Sale._meta.db_table} ({_COLUMNS}) "
        "SELECT r, e, c, i, cur, ft, q, p, rf, gf, b, t, l, %s "
        f"FROM unnest({arrays}) AS u(r, e, c, i, cur, ft, q, p, rf, gf, b, t, l) "
        "ORDER BY r, e" + _ON_CONFLICT
    )
    return sql, [
        now,
        [r.reseller_id for r in rows],
        [r.sale_id for r in rows],
        [r.company_id for r in rows],
        [r.sale_item_id for r in rows],
        [r.currency for r in rows],
        [r.fee_type for r in rows],
        [r.quantity for r in rows],
        [r.price_minor for r in rows],
        [r.reseller_fee_minor for r in rows],
        [r.gateway_fee_minor for r in rows],
        [r.blended for r in rows],
        [r.timestamp for r in rows],
        [r.late_into for r in rows],
    ]


def _insert_values(rows: list[SaleRow], now: datetime) -> tuple[str, list[Any]]:
    """SQLite: one multi-row VALUES (14,000 parameters for 1,000 sales, within its limit)."""
    ops = connection.ops
    # A batch repeats a few timestamps and days: adapt each distinct one once.
    times = {t: ops.adapt_datetimefield_value(t) for t in {r.timestamp for r in rows}}
    days = {d: ops.adapt_datefield_value(d) for d in {r.late_into for r in rows}}
    recorded_at = ops.adapt_datetimefield_value(now)
    params: list[Any] = []
    for r in rows:
        params += (
            r.reseller_id,
            r.sale_id,
            r.company_id,
            r.sale_item_id,
            r.currency,
            r.fee_type,
            r.quantity,
            r.price_minor,
            r.reseller_fee_minor,
            r.gateway_fee_minor,
            r.blended,
            times[r.timestamp],
            days[r.late_into],
            recorded_at,
        )
    one = "(" + ", ".join(["%s"] * 14) + ")"
    sql = f"INSERT INTO {Sale._meta.db_table} ({_COLUMNS}) VALUES {', '.join([one] * len(rows))}"
    return sql + _ON_CONFLICT, params


def sales_stored(keys: Collection[SaleKey]) -> dict[SaleKey, tuple[int | None, int, datetime]]:
    """The client's content of stored sales, (sale_item_id, quantity, timestamp) by key:
    what a repeated id must match to be a duplicate rather than a conflict."""
    if not keys:
        return {}
    rows = Sale.objects.filter(
        reseller_id__in={k[0] for k in keys}, sale_id__in={k[1] for k in keys}
    ).values_list("reseller_id", "sale_id", "sale_item_id", "quantity", "timestamp")
    wanted = set(keys)
    return {
        (r, s): (item, quantity, timestamp)
        for r, s, item, quantity, timestamp in rows
        if (r, s) in wanted
    }
