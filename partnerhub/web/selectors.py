"""Reads for the dashboard: companies per plan and sale-item fee totals, tenant-scoped."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from partnerhub.companies.models import Company
from partnerhub.core.actor import Actor
from partnerhub.fees.models import SaleItem


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


def _company_scope(actor: Actor, reseller_id: int | None) -> Q:
    if actor.is_platform:
        return Q(reseller_id=reseller_id) if reseller_id is not None else Q()
    if actor.is_reseller_member:
        return Q(reseller_id=actor.reseller_id)
    return Q(pk__in=[])


def dashboard_for_actor(actor: Actor, reseller_id: int | None = None) -> Dashboard:
    scope = _company_scope(actor, reseller_id)
    rows = (
        Company.objects.filter(scope)
        .values("plan__name", "plan__deleted_at")
        .annotate(n=Count("id"))
        .order_by("-n", "plan__name")
    )
    per_plan = [
        PlanBucket(r["plan__name"] or "Custom (no plan)", r["n"], r["plan__name"] is not None)
        for r in rows
    ]
    items_scope = Q(company__in=Company.objects.filter(scope).values("id"))
    totals = (
        SaleItem.objects.filter(items_scope)
        .values("currency_id")
        .annotate(
            n=Count("id"), reseller=Sum("reseller_fee_minor"), gateway=Sum("gateway_fee_minor")
        )
        .order_by("currency_id")
    )
    fee_totals = [
        CurrencyTotals(str(t["currency_id"]), t["n"], t["reseller"] or 0, t["gateway"] or 0)
        for t in totals
    ]
    return Dashboard(sum(b.companies for b in per_plan), per_plan, fee_totals)
