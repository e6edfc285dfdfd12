"""Reading usage (SPEC §13), tenant-scoped through the company selectors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from partnerhub.catalog.models import Limit
from partnerhub.companies.selectors import (
    company_get_for_actor,
    company_list_for_actor,
    resolve_limit_value,
)
from partnerhub.companies.terms import company_anchor
from partnerhub.core.actor import Actor
from partnerhub.usage.lookup import limits_with_used, usage_company_get
from partnerhub.usage.models import GAUGE_PERIOD_START, UsageCounter, UsageThresholdEvent
from partnerhub.usage.periods import usage_period
from partnerhub.usage.services import limit_usage_fields


def company_usage(
    actor: Actor,
    company_id: int,
    *,
    on: date | None = None,
    now: datetime | None = None,
    company_row: tuple[Any, ...] | None = None,
) -> dict[str, Any]:
    """`GET /companies/{id}/usage`: every limit's usage in the period containing `on`
    (default: today). Gauges show their current count whatever the period.

    Two queries: the company (none when the API key lookup already read `company_row`,
    usage/api.py), and the limits with their counters."""
    company = usage_company_get(actor, company_id, company_row)
    day = on or (now or timezone.now()).date()
    period = usage_period(company.anchor, day)
    limits = {}
    for limit, used in limits_with_used(company.id, period.start, GAUGE_PERIOD_START):
        limits[limit.key] = limit_usage_fields(
            limit.kind,
            company.limit_value(limit.key),
            None if limit.kind == Limit.Kind.CAP else used,
        )
    return {
        "company_id": company.id,
        "period_start": period.start,
        "period_end": period.end,
        "limits": limits,
    }


def usage_thresholds_for_company(actor: Actor, company_id: int) -> list[UsageThresholdEvent]:
    company = company_get_for_actor(actor, company_id)
    return list(UsageThresholdEvent.objects.filter(company_id=company.pk).select_related("limit"))


@dataclass(frozen=True, slots=True)
class NearLimit:
    company_id: int
    company_name: str
    limit_key: str
    limit_name: str
    used: int
    value: int
    percent: int
    level: str  # usage_level: "ok", "warn", "over"
    period_start: date


def companies_nearest_limits(
    actor: Actor,
    *,
    reseller_id: int | None = None,
    size: int = 10,
    now: datetime | None = None,
) -> list[NearLimit]:
    """The companies nearest to or over a limit in their current usage period (dashboard).

    Two queries whatever the number of companies: the counters that may be current (a
    usage period is at most 31 days, so any counter started in the last 31 days, and the
    gauges), with their companies and plans; the limits. Each company's own period is then
    picked in Python."""
    today = (now or timezone.now()).date()
    companies = company_list_for_actor(actor, reseller_id=reseller_id).prefetch_related(None)
    visible = companies.order_by().values("pk")
    counters = (
        UsageCounter.objects.filter(company_id__in=visible, used__gt=0)
        .filter(
            Q(period_start__gte=today - timedelta(days=31)) | Q(period_start=GAUGE_PERIOD_START)
        )
        .select_related("company__plan")
    )
    limits = {limit.pk: limit for limit in Limit.objects.exclude(kind=Limit.Kind.CAP)}
    found = []
    for counter in counters:
        limit = limits.get(counter.limit_id)
        if limit is None:
            continue
        company = counter.company
        current = usage_period(company_anchor(company), today).start
        if limit.kind == Limit.Kind.METERED and counter.period_start != current:
            continue
        value = resolve_limit_value(company, limit.key)[0]
        if value is None:
            continue
        percent = 100 * counter.used // value if value else 100 * 1000
        found.append(
            NearLimit(
                company_id=company.pk,
                company_name=company.name,
                limit_key=limit.key,
                limit_name=limit.name,
                used=counter.used,
                value=value,
                percent=min(percent, 100_000),
                level=usage_level(counter.used, value),
                period_start=counter.period_start,
            )
        )
    found.sort(key=lambda n: (-n.percent, n.company_name, n.limit_key))
    return found[:size]


@dataclass(frozen=True, slots=True)
class UsageBar:
    """One limit's bar on the company page: used of value, amber from 80 %, red over 100 %."""

    key: str
    name: str
    kind: str
    used: int | None
    value: int | None
    width: int  # percent of the bar filled, 0..100
    level: str  # "ok", "warn" (from 80 %) or "over" (over 100 %)


def usage_level(used: int, value: int) -> str:
    if used > value:
        return "over"
    return "warn" if used * 100 >= 80 * value and used > 0 else "ok"


def usage_bars(usage: dict[str, Any]) -> list[UsageBar]:
    names = dict(Limit.objects.values_list("key", "name"))
    bars = []
    for key, row in usage["limits"].items():
        used, value = row["used"], row["value"]
        measured = used is not None and value is not None
        bars.append(
            UsageBar(
                key=key,
                name=names.get(key, key),
                kind=row["kind"],
                used=used,
                value=value,
                width=(min(100, 100 * used // value) if value else 100) if measured else 0,
                level=usage_level(used, value) if measured else "ok",
            )
        )
    return bars
