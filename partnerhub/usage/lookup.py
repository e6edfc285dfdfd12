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


_SQL = (
    "SELECT c.id, c.reseller_id, c.name, c.billing_anchor, c.created_at, c.limit_overrides, "
    "c.own_limits, p.limits, s.limits FROM {company} c LEFT JOIN {plan} p ON p.id = c.plan_id "
    "LEFT JOIN {snapshot} s ON s.id = c.plan_snapshot_id WHERE c.id = %s"
)


def usage_company_get(actor: Actor, company_id: int) -> UsageCompany:
    sql = _SQL.format(
        company=Company._meta.db_table,
        plan=Plan._meta.db_table,
        snapshot=PlanSnapshot._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [company_id])
        row = cursor.fetchone()
    if row is None or not company_visible_to(actor, pk=row[0], reseller_id=row[1]):
        raise NotFound("Company not found.")
    pk, reseller_id, name, anchor, created_at, overrides, own, plan_limits, snapshot_limits = row
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


def limit_by_key(key: str) -> LimitRow:
    found = _limits("WHERE key = %s", (key,))
    if not found:
        raise NotFound("Limit not found.")
    return found[0]


def limit_rows() -> list[LimitRow]:
    """Every catalog limit, in catalog order."""
    return _limits()


def counters_of_company(company_id: int, period_starts: list[date]) -> dict[int, int]:
    """{limit id: used} of one company's counters at the given period starts."""
    table = UsageCounter._meta.db_table
    marks = ", ".join(["%s"] * len(period_starts))
    params = [company_id, *(connection.ops.adapt_datefield_value(p) for p in period_starts)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT limit_id, used FROM {table} "
            f"WHERE company_id = %s AND period_start IN ({marks})",
            params,
        )
        return {int(limit_id): int(used) for limit_id, used in cursor.fetchall()}
