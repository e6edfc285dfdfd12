"""What a consume or a usage read needs of a company, in one narrow query.

Consume is the host's hot path ("may company 11 send 3 more messages?"): instead of the
ORM's company (with reseller and plan), then the limit, one raw SELECT reads the
company's scope ids, its limits and plan limits, its anchor, and the limit's row. The
tenancy rule stays the selectors' own (`company_visible_to`), so a foreign id is a 404
exactly like a missing one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection

from partnerhub.catalog.models import Limit
from partnerhub.companies.models import Company, PlanSnapshot
from partnerhub.companies.selectors import company_visible_to, limit_value_from
from partnerhub.core.actor import Actor
from partnerhub.core.errors import NotFound
from partnerhub.plans.models import Plan
from partnerhub.usage.models import UsageCounter


@dataclass(frozen=True, slots=True)
class UsageCompany:
    id: int
    reseller_id: int
    name: str
    anchor: date
    limit_overrides: dict[str, Any]
    own_limits: dict[str, Any]
    plan_limits: dict[str, Any] | None
    snapshot_limits: dict[str, Any] | None = None  # a deleted plan's, shared (copy-on-write)

    def limit_value(self, key: str) -> int | None:
        return limit_value_from(
            key,
            overrides=self.limit_overrides,
            plan_limits=self.plan_limits,
            own=self.own_limits,
            snapshot_limits=self.snapshot_limits,
        )[0]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


_COLUMNS = (
    "c.id AS u_company_id, c.reseller_id AS u_reseller_id, c.name AS u_name, "
    "c.billing_anchor AS u_anchor, c.created_at AS u_created_at, "
    "c.limit_overrides AS u_overrides, c.own_limits AS u_own, p.limits AS u_plan_limits, "
    "s.limits AS u_snapshot_limits"
)
COMPANY_COLUMNS = 9  # how many columns of a row `_COLUMNS` reads (the limit's follow)
_LIMIT_COLUMNS = (
    "l.id AS u_limit_id, l.key AS u_limit_key, l.name AS u_limit_name, l.kind AS u_kind"
)


def _company_joins() -> str:
    """The company with its plan and, for a company of a deleted plan, the frozen snapshot
    it shares (copy-on-write, docs/architecture.md "Plan delete")."""
    company, plan = Company._meta.db_table, Plan._meta.db_table
    snapshot = PlanSnapshot._meta.db_table
    return (
        f"{company} c LEFT JOIN {plan} p ON p.id = c.plan_id "
        f"LEFT JOIN {snapshot} s ON s.id = c.plan_snapshot_id"
    )


def company_sql() -> str:
    """Company %s as `usage_company_get` needs it, as one row (no scope: the caller checks
    the actor). Also read inside the API key lookup's statement (usage/api.py)."""
    return f"SELECT {_COLUMNS} FROM {_company_joins()} WHERE c.id = %s"


def company_limit_sql() -> str:
    """`company_sql` with the limit whose key is the first %s (NULLs when there is none):
    the one row a consume reads before its write."""
    limit = Limit._meta.db_table
    return (
        f"SELECT {_COLUMNS}, {_LIMIT_COLUMNS} FROM {_company_joins()} "
        f"LEFT JOIN {limit} l ON l.key = %s WHERE c.id = %s"
    )


def usage_company_get(
    actor: Actor, company_id: int, row: tuple[Any, ...] | None = None
) -> UsageCompany:
    """The company as the usage paths need it, tenant-checked (a foreign id is NotFound like
    a missing one). `row`: the columns of `company_sql` already read (by the key lookup)."""
    if row is None or row[0] != company_id:
        with connection.cursor() as cursor:
            cursor.execute(company_sql(), [company_id])
            row = cursor.fetchone()
    if row is None or not company_visible_to(actor, pk=row[0], reseller_id=row[1]):
        raise NotFound("Company not found.")
    pk, reseller_id, name, anchor, created_at, overrides, own, plan_limits, snapshot_limits = row[
        :COMPANY_COLUMNS
    ]
    return UsageCompany(
        id=int(pk),
        reseller_id=int(reseller_id),
        name=name,
        # created_at is stored in UTC: its date is the default anchor (companies/terms.py).
        anchor=_date(anchor) if anchor is not None else _date(created_at),
        limit_overrides=_json(overrides) or {},
        own_limits=_json(own) or {},
        plan_limits=_json(plan_limits) if plan_limits is not None else None,
        snapshot_limits=_json(snapshot_limits) if snapshot_limits is not None else None,
    )


def usage_companies_visible(actor: Actor, company_ids: set[int]) -> dict[int, UsageCompany]:
    """The companies among `company_ids` the actor may see, as `usage_company_get` builds
    them, in one query: an ingestion batch names up to 1,000. Raw rows, not ORM companies
    (building those, with their plans, cost more than the rest of a batch's checks), and
    each distinct JSON text parsed once (companies share their plan's limits, and most
    overrides are `{}`)."""
    if not company_ids:
        return {}
    ids = sorted(company_ids)
    params: list[Any]
    if connection.vendor == "postgresql":
        where, params = "c.id = ANY(%s)", [ids]
    else:
        where, params = f"c.id IN ({', '.join(['%s'] * len(ids))})", ids
    sql = f"SELECT {_COLUMNS} FROM {_company_joins()} WHERE {where}"
    parsed: dict[Any, Any] = {}

    def json_of(value: Any) -> Any:
        if not isinstance(value, str | bytes):
            return value
        if value not in parsed:
            parsed[value] = json.loads(value)
        return parsed[value]

    found = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor:
            pk, reseller_id, name, anchor, created_at, overrides, own, plan_limits, snapshot = row
            if not company_visible_to(actor, pk=pk, reseller_id=reseller_id):
                continue  # reported exactly like a missing one
            found[int(pk)] = UsageCompany(
                id=int(pk),
                reseller_id=int(reseller_id),
                name=name,
                anchor=_date(anchor) if anchor is not None else _date(created_at),
                limit_overrides=json_of(overrides) or {},
                own_limits=json_of(own) or {},
                plan_limits=json_of(plan_limits) if plan_limits is not None else None,
                snapshot_limits=json_of(snapshot) if snapshot is not None else None,
            )
    return found


@dataclass(frozen=True, slots=True)
class LimitRow:
    pk: int
    key: str
    name: str
    kind: str


def _limits(where: str = "", params: tuple[Any, ...] = ()) -> list[LimitRow]:
    table = Limit._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, key, name, kind FROM {table} {where} ORDER BY id", params)
        return [LimitRow(int(pk), key, name, kind) for pk, key, name, kind in cursor.fetchall()]


def limit_by_key(key: str, row: tuple[Any, ...] | None = None) -> LimitRow:
    """The catalog limit `key`. `row`: the limit columns of `company_limit_sql`, already read
    (a row of NULLs: there is no such limit)."""
    if row is not None:
        if row[0] is None:
            raise NotFound("Limit not found.")
        pk, found_key, name, kind = row
        if found_key == key:
            return LimitRow(int(pk), found_key, name, kind)
    found = _limits("WHERE key = %s", (key,))
    if not found:
        raise NotFound("Limit not found.")
    return found[0]


def limits_with_used(
    company_id: int, period_start: date, gauge_start: date
) -> list[tuple[LimitRow, int]]:
    """Every catalog limit (catalog order) with what the company used of it: its counter at
    `period_start`, or at `gauge_start` for a gauge (0 when there is none). One query."""
    limits, counters = Limit._meta.db_table, UsageCounter._meta.db_table
    ops = connection.ops
    sql = (
        f"SELECT l.id, l.key, l.name, l.kind, u.used FROM {limits} l "
        f"LEFT JOIN {counters} u ON u.limit_id = l.id AND u.company_id = %s "
        "AND u.period_start = CASE WHEN l.kind = %s THEN %s ELSE %s END ORDER BY l.id"
    )
    params: list[Any] = [
        company_id,
        Limit.Kind.GAUGE.value,
        ops.adapt_datefield_value(gauge_start),
        ops.adapt_datefield_value(period_start),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            (LimitRow(int(pk), key, name, kind), int(used or 0))
            for pk, key, name, kind, used in cursor.fetchall()
        ]
