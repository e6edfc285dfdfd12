"""A company's subscription terms (SPEC §13): billing cycle, billing currency, anchor.

The terms must fit the company's plan: a cycle the plan offers, a currency it has prices
in. Assigning a plan that lacks the company's cycle or currency resets that term to the
plan's default. Custom companies (no plan) may take any cycle and any catalog currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from partnerhub.catalog.models import Currency
from partnerhub.companies.models import Company
from partnerhub.core.errors import ValidationFailed
from partnerhub.plans.models import BILLING_CYCLE_ORDER, Plan

TERM_FIELDS = ("billing_cycle", "billing_currency", "billing_anchor")


def plan_cycles(plan: Plan | None) -> list[str]:
    if plan is None:
        return list(BILLING_CYCLE_ORDER)
    return [c for c in BILLING_CYCLE_ORDER if c in plan.billing_cycles]


def plan_currencies(plan: Plan | None) -> list[str]:
    if plan is None:
        return list(Currency.objects.order_by("code").values_list("code", flat=True))
    return sorted({str(code) for code in plan.prices.values_list("currency_id", flat=True)})


def default_cycle(plan: Plan | None) -> str:
    """The first of monthly, quarterly, yearly that the plan offers."""
    cycles = plan_cycles(plan)
    return cycles[0] if cycles else BILLING_CYCLE_ORDER[0]


def default_currency(plan: Plan | None) -> str:
    """The plan's first price currency by code; a Custom company has none until set."""
    if plan is None:
        return ""
    currencies = plan_currencies(plan)
    return currencies[0] if currencies else ""


def terms_fit_plan(company: Company, plan: Plan | None) -> None:
    """Reset each term the (new) plan lacks to the plan's default."""
    if company.billing_cycle not in plan_cycles(plan):
        company.billing_cycle = default_cycle(plan)
    if plan is not None and company.billing_currency not in plan_currencies(plan):
        company.billing_currency = default_currency(plan)


def _clean_anchor(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationFailed.field("billing_anchor", "must be a date (YYYY-MM-DD)")


def apply_terms(company: Company, changes: Mapping[str, Any]) -> None:
    """Set the terms the caller sent, checked against the company's (current) plan. A value
    equal to the stored one is kept as it is (a form posting back what it was given), even
    where the plan was edited since and no longer offers it."""
    plan = company.plan
    cycle = changes.get("billing_cycle", company.billing_cycle)
    if cycle != company.billing_cycle:
        cycles = plan_cycles(plan)
        if cycle not in cycles:
            raise ValidationFailed.field("billing_cycle", f"must be one of: {', '.join(cycles)}")
        company.billing_cycle = cycle
    currency = changes.get("billing_currency", company.billing_currency)
    if currency != company.billing_currency:
        currencies = plan_currencies(plan)
        if currency not in currencies and not (plan is None and currency == ""):
            allowed = ", ".join(currencies) or "none (the plan has no prices)"
            raise ValidationFailed.field("billing_currency", f"must be one of: {allowed}")
        company.billing_currency = currency
    if "billing_anchor" in changes:
        company.billing_anchor = _clean_anchor(changes["billing_anchor"])


def company_anchor(company: Company) -> date:
    return company.billing_anchor or company.created_at.date()
