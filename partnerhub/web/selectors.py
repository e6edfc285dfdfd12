"""The dashboard: companies per plan and sale-item fee totals, read through the
companies and fees selectors (their tenant scope)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from partnerhub.companies.selectors import companies_for_actor
from partnerhub.core.actor import Actor
from partnerhub.fees.selectors import sale_item_fee_totals


@dataclass(frozen=True)
class PlanBucket:
    label: str
    companies: int
    on_plan: bool = True  # False for the Custom (no plan) bucket


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    items: int
    reseller_fee_minor: int  # minor units
    gateway_fee_minor: int  # minor units


@dataclass(frozen=True)
class Dashboard:
    companies_total: int
    per_plan: list[PlanBucket]
    fee_totals: list[CurrencyTotals]

    @property
    def plans_in_use(self) -> int:
        return sum(1 for bucket in self.per_plan if bucket.on_plan)


def dashboard_for_actor(actor: Actor, reseller_id: int | None = None) -> Dashboard:
    companies = companies_for_actor(actor, reseller_id)
    rows = (
        companies.values("plan__name", "plan__deleted_at")
        .annotate(n=Count("id"))
        .order_by("-n", "plan__name")
    )
    per_plan = [
        PlanBucket(r["plan__name"] or "Custom (no plan)", r["n"], r["plan__name"] is not None)
        for r in rows
    ]
    totals = sale_item_fee_totals(companies)
    fee_totals = [
        CurrencyTotals(str(t["currency_id"]), t["n"], t["reseller"] or 0, t["gateway"] or 0)
        for t in totals
    ]
    return Dashboard(sum(b.companies for b in per_plan), per_plan, fee_totals)
