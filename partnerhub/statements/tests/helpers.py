"""Building blocks for the statements' tests: companies with a known history and sales
written as ingestion writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from itertools import count

from partnerhub.companies.models import Company, SubscriptionChange
from partnerhub.fees.models import SaleItem
from partnerhub.plans.models import Plan
from partnerhub.resellers.models import Reseller
from partnerhub.sales.models import Sale
from partnerhub.testing.factories import CompanyFactory, PlanFactory, SaleItemFactory

_ids = count(1)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def plan_with_price(
    reseller: Reseller,
    *,
    monthly_minor: int = 10_000,
    yearly_minor: int | None = None,
    gst: bool = False,
    revenue_share_bps: int | None = None,
    currency: str = "GBP",
    name: str | None = None,
) -> Plan:
    cycles = ["monthly"] + (["yearly"] if yearly_minor is not None else [])
    prices = [(currency, "monthly", monthly_minor)]
    if yearly_minor is not None:
        prices.append((currency, "yearly", yearly_minor))
    plan = PlanFactory.create(
        reseller=reseller,
        name=name or f"plan-{next(_ids)}",
        plan_type="revenue_sharing" if revenue_share_bps is not None else "usage_based",
        revenue_share_bps=revenue_share_bps,
        gst_enabled=gst,
        billing_cycles=cycles,
        prices=prices,
    )
    return plan


def company_on(
    plan: Plan | None,
    *,
    reseller: Reseller | None = None,
    anchor: date = date(2026, 9, 1),
    cycle: str = "monthly",
    currency: str = "GBP",
    name: str | None = None,
) -> Company:
    """A company created on its anchor day, with that first subscription change."""
    assert reseller is not None or plan is not None
    owner = reseller if reseller is not None else plan.reseller
    company = CompanyFactory.create(
        reseller=owner,
        plan=plan,
        name=name or f"Company {next(_ids)}",
        billing_cycle=cycle,
        billing_currency=currency,
        billing_anchor=anchor,
    )
    Company.objects.filter(pk=company.pk).update(created_at=at(anchor, 0))
    company.refresh_from_db()
    SubscriptionChange.objects.create(
        company=company,
        effective_at=at(anchor, 0),
        plan=plan,
        billing_cycle=cycle,
        billing_currency=currency,
    )
    return company


def change_plan(company: Company, plan: Plan | None, on: date, cycle: str | None = None) -> None:
    Company.objects.filter(pk=company.pk).update(
        plan=plan, billing_cycle=cycle or company.billing_cycle
    )
    SubscriptionChange.objects.create(
        company=company,
        effective_at=at(on, 9),
        plan=plan,
        billing_cycle=cycle or company.billing_cycle,
        billing_currency=company.billing_currency,
    )
    company.refresh_from_db()


def item_of(
    company: Company,
    *,
    reseller_fee: int = 100,
    gateway_fee: int = 30,
    blended: bool = False,
    currency: str = "GBP",
    fee_type: str = "ticket",
) -> SaleItem:
    item = SaleItemFactory.create(
        company=company,
        currency_id=currency,
        fee_type_id=fee_type,
        reseller_fee_minor=reseller_fee,
        gateway_fee_minor=gateway_fee,
        blended=blended,
    )
    return item


def sell(item: SaleItem, quantity: int, when: datetime, *, late_into: date | None = None) -> Sale:
    return Sale.objects.create(
        reseller_id=item.company.reseller_id,
        sale_id=f"sale-{next(_ids)}",
        company_id=item.company_id,
        sale_item=item,
        currency=item.currency_id,
        fee_type=item.fee_type_id,
        quantity=quantity,
        price_minor=item.price_minor,
        reseller_fee_minor=item.reseller_fee_minor,
        gateway_fee_minor=item.gateway_fee_minor,
        blended=item.blended,
        timestamp=when,
        late_into=late_into,
        recorded_at=when,
    )
