"""The statement: one set-based UPDATE that reprices every item of a chunk's companies
from each company's current effective schedule (the rates: fees/terms.py).

An item whose (currency, fee type) has no entry in the effective schedule gets a
reseller fee of 0 and blended false: creating such an item is refused
(fees/services.py), but a later schedule edit may drop the entry, and a recalculation
must not fail a million-item job over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.utils import timezone

from partnerhub.fees.terms import gateway_fee_of, rates_sql, reseller_fee_of


def recalculation_sql(company_filter: str, item_filter: str = "") -> str:
    """One set-based UPDATE over the items of the companies matching `company_filter`
    (a predicate on `{col}`, applied to the rates and to `fees_saleitem.company_id`),
    narrowed by `item_filter` (SQL on `fees_saleitem.id`, for a piece of a company).

    Parameters: fees_updated_at, updated_at, filter params (twice), item filter params.

    Every item of the companies, including items created after the job started: an
    item created from old terms may commit (its id drawn before the job looked) just
    before the chunk takes the company lock, and only this statement can reprice it.

    On PostgreSQL the rates are fenced (`OFFSET 0`) so the planner computes them first
    and joins the items to them in one hash join. Flattened into the UPDATE, the rates'
    companies and the items' companies are filtered separately, the planner cannot tell
    they are the same set, and it estimated a 100-company chunk at 1 % of its rows;
    after each ANALYZE it then picked one of several plans, some of them taking twice
    as long (sorts and rescans of the chunk's items). With the fence every chunk gets
    the same plan, and the statement over a whole 1,000,000-item plan took 2.1 s instead
    of 2.7 s (docs/benchmarks.md, 2026-12-01).
    """
    price = "fees_saleitem.price_minor"
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    return f"""
        UPDATE fees_saleitem SET
            reseller_fee_minor = {reseller_fee_of(price)},
            gateway_fee_minor = {gateway_fee_of(price)},
            blended = r.blended,
            fee_revision = fees_saleitem.fee_revision + 1,
            fees_updated_at = %s,
            updated_at = %s
        FROM ({rates_sql(company_filter)}{fence}) AS r
        WHERE fees_saleitem.company_id = r.company_id
          AND fees_saleitem.currency = r.currency
          AND fees_saleitem.fee_type = r.fee_type
          AND {company_filter.format(col="fees_saleitem.company_id")}
          {item_filter}
    """


def company_id_filter(company_ids: Sequence[int]) -> tuple[str, list[Any]]:
    """`{col}` in the given ids, as SQL text and parameters for the current database."""
    if connection.vendor == "postgresql":
        return "{col} = ANY(%s)", [list(company_ids)]
    return "{col} IN (" + ", ".join(["%s"] * len(company_ids)) + ")", list(company_ids)


def item_range_filter(item_from: int | None, item_to: int | None) -> tuple[str, list[Any]]:
    """`item_from <= id < item_to` (either end open) as SQL text and parameters."""
    sql, params = "", list[Any]()
    if item_from is not None:
        sql += " AND fees_saleitem.id >= %s"
        params.append(item_from)
    if item_to is not None:
        sql += " AND fees_saleitem.id < %s"
        params.append(item_to)
    return sql, params


# How PostgreSQL plans a chunk's statement (transaction-local settings):
# - a plan for the chunk's own companies: with statements prepared (settings.py) it
#   switches to a generic plan after five runs, and the jobs were then 50 % slower
#   than the raw UPDATE (docs/benchmarks.md, 2026-11-29);
# - the items joined to the fenced rates (recalculation_sql) by a hash join, whatever
#   the chunk's size. The planner estimates that join at one row (it multiplies the
#   three join columns' selectivities as if independent), and for small chunks then
#   merge-joined on the company alone, comparing each item with its company's 36 rates:
#   a 25,000-item chunk took 0.11 s instead of 0.05 s (docs/benchmarks.md, 2026-12-01).
#   Nested loops are off too, for the same reason; the rates' own cross joins can only
#   be nested loops and still are, but their cost is then inflated past JIT's
#   threshold, hence no JIT (the statement gains nothing from it).
CHUNK_PLANNER = (
    ("plan_cache_mode", "force_custom_plan"),
    ("enable_mergejoin", "off"),
    ("enable_nestloop", "off"),
    ("jit", "off"),
)


def recalculate_items(
    company_ids: Sequence[int],
    *,
    item_from: int | None = None,
    item_to: int | None = None,
    asynchronous_commit: bool = False,
) -> int:
    """Rewrite the fees of every item of the companies (with an id in [item_from,
    item_to) when given); returns the row count.

    Call inside a transaction. On PostgreSQL the companies are locked first (in id
    order) so two jobs touching one company run their chunks one after the other:
    the later chunk's statement then sees every schedule edit committed before it, and
    every item written under the company's share lock (fees/terms.py::item_terms).
    """
    if not company_ids:
        return 0
    where, params = company_id_filter(company_ids)
    items_sql, items_params = item_range_filter(item_from, item_to)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # `asynchronous_commit`: see run.py::_run_claimed_chunk. One round trip for every
            # setting (each for this transaction only): under load every round trip
            # waits for the scheduler.
            cur.execute(
                "SELECT " + ", ".join(f"set_config('{k}', '{v}', true)" for k, v in CHUNK_PLANNER)
                + (", set_config('synchronous_commit', 'off', true)" if asynchronous_commit else "")
            )  # fmt: skip
            cur.execute(
                "SELECT id FROM companies_company WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                [list(company_ids)],
            )
        cur.execute(
            recalculation_sql(where, items_sql), [now, now, *params, *params, *items_params]
        )
        return int(cur.rowcount)
